/**
 * What a starting pod is doing, read from its status and its Events as a real cluster reports
 * them: progress lines (scheduled, pulling, pulled, initializing, started) and the failures that
 * will not fix themselves (an image that cannot be pulled, a pod no node can take, a container
 * the kubelet cannot configure, an init step that failed, an exhausted deadline), each with the
 * cluster's own words. Pure.
 */
import type { CoreV1Event, V1ContainerStatus, V1Job, V1Pod } from "@kubernetes/client-node";
import { CONTENT_CONTAINER, INIT_CONTAINER } from "./kube-config.js";

/** Waiting reasons that mean the container will not start without someone changing something. */
const FATAL_WAITING = new Set([
  "ErrImagePull",
  "ImagePullBackOff",
  "ErrImageNeverPull",
  "InvalidImageName",
  "CreateContainerConfigError",
  "CreateContainerError",
]);

export type StartPhase =
  | { readonly phase: "waiting" }
  /** The content container runs, or has already ended. */
  | { readonly phase: "started" }
  | { readonly phase: "failed"; readonly message: string };

export function mainStatus(pod: V1Pod): V1ContainerStatus | undefined {
  const statuses = pod.status?.containerStatuses ?? [];
  return statuses.find((s) => s.name === CONTENT_CONTAINER) ?? statuses[0];
}

/** Whether the pod's content container has started (or ended), or why it never will. */
export function startPhase(job: V1Job, pod: V1Pod | undefined): StartPhase {
  const failedJob = job.status?.conditions?.find((c) => c.type === "Failed" && c.status === "True");
  if (!pod) {
    return failedJob
      ? {
          phase: "failed",
          message: `The Job failed before its pod ran (${failedJob.reason}): ${failedJob.message}`,
        }
      : { phase: "waiting" };
  }
  const main = mainStatus(pod);
  if (main?.state?.running || main?.state?.terminated) return { phase: "started" };
  const unschedulable = pod.status?.conditions?.find(
    (c) => c.type === "PodScheduled" && c.status === "False" && c.reason === "Unschedulable",
  );
  if (unschedulable) {
    return {
      phase: "failed",
      message: `No node can run the pod (FailedScheduling): ${unschedulable.message}`,
    };
  }
  for (const status of [...(pod.status?.initContainerStatuses ?? []), ...(main ? [main] : [])]) {
    const waiting = status.state?.waiting;
    if (waiting?.reason && FATAL_WAITING.has(waiting.reason)) {
      const what = waiting.reason.includes("Image")
        ? `The image ${status.image} cannot be pulled`
        : `The container ${status.name} cannot be started`;
      return { phase: "failed", message: `${what} (${waiting.reason}): ${waiting.message ?? ""}` };
    }
    const ended = status.state?.terminated;
    if (ended && ended.exitCode !== 0 && status !== main) {
      const what =
        status.name === INIT_CONTAINER
          ? `The content-init image ${status.image}`
          : `The init container ${status.name}`;
      return {
        phase: "failed",
        message: `${what} exited with code ${ended.exitCode}: ${(ended.message ?? ended.reason ?? "").trim()}`,
      };
    }
  }
  if (pod.status?.phase === "Failed" || pod.status?.phase === "Succeeded") {
    return { phase: "started" };
  }
  if (failedJob) {
    return {
      phase: "failed",
      message: `The Job failed (${failedJob.reason}): ${failedJob.message}`,
    };
  }
  return { phase: "waiting" };
}

/**
 * Why the Job's pod will never be made, from an Event of the Job: the cluster refused the pod
 * itself (a service account that does not exist, a quota, an admission policy). Kubernetes
 * retries such a create for ever; the user is better told at once, in the cluster's words.
 */
export function refusedPod(event: CoreV1Event): string | undefined {
  if (event.reason !== "FailedCreate" || event.involvedObject?.kind !== "Job") return undefined;
  return `The cluster refuses to create the Job's pod (FailedCreate): ${(event.message ?? "").trim()}`;
}

/** The progress line an Event of the pod gives, if it is one the task log shows. */
export function eventLine(event: CoreV1Event): string | undefined {
  const message = (event.message ?? "").trim();
  const container = containerOf(event.involvedObject?.fieldPath);
  switch (event.reason) {
    case "Scheduled":
      return `Scheduled: ${message}`;
    case "Pulling":
      return `Pulling: ${message}`;
    case "Pulled":
      return `Pulled: ${message}`;
    case "Started":
      return container === INIT_CONTAINER
        ? "Initializing: copying the runtime components"
        : `Started container ${container ?? ""}`.trim();
    case "FailedScheduling":
    case "FailedMount":
    case "BackOff":
    case "Failed":
      return `${event.reason}: ${message}`;
    default:
      return undefined;
  }
}

/** `spec.containers{name}` or `spec.initContainers{name}` → name. */
function containerOf(fieldPath: string | undefined): string | undefined {
  return fieldPath ? /\{(.+)\}$/.exec(fieldPath)?.[1] : undefined;
}

/** The exit of the pod's content container, when it has ended. */
export function exitOf(pod: V1Pod): { exitCode: number | null; reason: string | null } | undefined {
  const ended = mainStatus(pod)?.state?.terminated;
  if (ended) {
    let reason: string | null = null;
    if (ended.reason === "OOMKilled") {
      reason = "OOMKilled: the process used more memory than its limit (memory_limit)";
    } else if (pod.status?.reason === "Evicted") {
      reason = `Evicted: ${pod.status.message ?? ""}`.trim();
    } else if (ended.reason === "StartError" || ended.reason === "ContainerCannotRun") {
      reason = `${ended.reason}: ${ended.message ?? ""}`.trim();
    }
    return { exitCode: ended.exitCode, reason };
  }
  if (pod.status?.phase === "Failed") {
    return {
      exitCode: null,
      reason: `${pod.status.reason ?? "Failed"}: ${pod.status.message ?? ""}`,
    };
  }
  return undefined;
}
