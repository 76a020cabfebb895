/**
 * The pod status the kubelet reports, computed from what happened to each container: phase,
 * conditions and the per-container states. Pure, so the rules can be read in one place.
 */
import type { Condition, ContainerStatus, Pod, PodStatus } from "../types.js";
import { now } from "../types.js";

export interface ObservedPod {
  pod: Pod;
  podIP?: string;
  startTime: string;
  init: ContainerStatus[];
  main: ContainerStatus[];
  volumesReady: boolean;
  initDone: boolean;
  /** A container that will not run again (restartPolicy), by name. */
  finished: Set<string>;
  initFailed: boolean;
  evicted?: string;
}

export function computeStatus(o: ObservedPod, previous: PodStatus | undefined): PodStatus {
  const policy = o.pod.spec.restartPolicy ?? "Always";
  const exitOf = (c: ContainerStatus) =>
    "terminated" in c.state ? c.state.terminated.exitCode : undefined;
  let phase: PodStatus["phase"] = "Pending";
  if (o.evicted || o.initFailed) phase = "Failed";
  else if (o.initDone) {
    const allFinished = o.main.length > 0 && o.main.every((c) => o.finished.has(c.name));
    if (allFinished) phase = o.main.every((c) => exitOf(c) === 0) ? "Succeeded" : "Failed";
    else if (
      o.main.some(
        (c) =>
          "running" in c.state ||
          (policy !== "Never" && "terminated" in c.state) ||
          c.restartCount > 0,
      )
    )
      phase = "Running";
    else if (o.main.some((c) => "terminated" in c.state)) phase = "Running";
  }
  const terminal = phase === "Succeeded" || phase === "Failed";
  const ready = phase === "Running" && o.main.every((c) => c.ready);
  const notReady = o.main.filter((c) => !c.ready).map((c) => c.name);
  const scheduled = previous?.conditions?.find((c) => c.type === "PodScheduled");
  const conditions: Condition[] = [
    cond(previous, "PodReadyToStartContainers", o.volumesReady && !terminal),
    cond(
      previous,
      "Initialized",
      o.initDone,
      o.initDone ? undefined : "ContainersNotInitialized",
      `containers with incomplete status: [${o.init
        .filter((c) => !("terminated" in c.state && c.state.terminated.exitCode === 0))
        .map((c) => c.name)
        .join(" ")}]`,
    ),
    cond(
      previous,
      "Ready",
      ready,
      ready ? undefined : terminal ? "PodCompleted" : "ContainersNotReady",
      terminal ? undefined : `containers with unready status: [${notReady.join(" ")}]`,
    ),
    cond(
      previous,
      "ContainersReady",
      ready,
      ready ? undefined : terminal ? "PodCompleted" : "ContainersNotReady",
      terminal ? undefined : `containers with unready status: [${notReady.join(" ")}]`,
    ),
    ...(scheduled ? [scheduled] : []),
  ];
  if (o.evicted)
    conditions.unshift({
      type: "DisruptionTarget",
      status: "True",
      reason: "TerminationByKubelet",
      message: o.evicted,
      lastProbeTime: null,
      lastTransitionTime: now(),
    });
  return {
    phase,
    conditions,
    ...(o.evicted ? { reason: "Evicted", message: o.evicted } : {}),
    hostIP: "127.0.0.1",
    hostIPs: [{ ip: "127.0.0.1" }],
    ...(o.podIP ? { podIP: o.podIP, podIPs: [{ ip: o.podIP }] } : {}),
    startTime: o.startTime,
    ...(o.init.length ? { initContainerStatuses: o.init } : {}),
    containerStatuses: o.main,
    qosClass: previous?.qosClass ?? "BestEffort",
  };
}

function cond(
  previous: PodStatus | undefined,
  type: string,
  ok: boolean,
  reason?: string,
  message?: string,
): Condition {
  const status = ok ? "True" : "False";
  const before = previous?.conditions?.find((c) => c.type === type);
  return {
    type,
    status,
    ...(ok || !reason ? {} : { reason }),
    ...(ok || !message ? {} : { message }),
    lastProbeTime: null,
    lastTransitionTime: before?.status === status ? before.lastTransitionTime : now(),
  };
}
