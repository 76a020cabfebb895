/**
 * The scheduler for the stand-in's one node: resource requests against what is left of the
 * node's allocatable, nodeSelector and required node affinity against its labels, taints
 * against tolerations, and referenced claims that must exist. A pod that does not fit stays
 * Pending with PodScheduled=False and a FailedScheduling event, and is tried again whenever a
 * pod goes away.
 */
import type { V1PodSpec, V1Toleration } from "@kubernetes/client-node";
import type { Api } from "./api.js";
import type { EventRecorder } from "./events.js";
import { parseQuantity } from "./quantity.js";
import { resource } from "./resources.js";
import { matchesRequirements, selectorRequirements } from "./selectors.js";
import type { Pod } from "./types.js";
import { now } from "./types.js";

export interface NodeConfig {
  name: string;
  /** cpu, memory, pods, nvidia.com/gpu, ... as quantities. */
  capacity: Record<string, string>;
  labels: Record<string, string>;
  taints: {
    key: string;
    value?: string;
    effect: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
  }[];
}

export function nodeObject(node: NodeConfig) {
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: {
      name: node.name,
      labels: {
        "kubernetes.io/hostname": node.name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        ...node.labels,
      },
    },
    spec: { ...(node.taints.length ? { taints: node.taints } : {}) },
    status: {
      capacity: node.capacity,
      allocatable: node.capacity,
      conditions: [
        {
          type: "Ready",
          status: "True",
          reason: "KubeletReady",
          message: "kubelet is posting ready status",
          lastHeartbeatTime: now(),
          lastTransitionTime: now(),
        },
      ],
      addresses: [
        { type: "InternalIP", address: "127.0.0.1" },
        { type: "Hostname", address: node.name },
      ],
      nodeInfo: {
        kubeletVersion: "v1.33.0-slipway-standin",
        containerRuntimeVersion: "docker://standin",
        operatingSystem: "linux",
        architecture: "amd64",
      },
    },
  };
}

/** What a pod asks for: the larger of its containers' sum and its largest init container. */
export function podRequests(spec: V1PodSpec): Record<string, number> {
  const sum: Record<string, number> = {};
  for (const c of spec.containers ?? [])
    for (const [k, v] of Object.entries(c.resources?.requests ?? c.resources?.limits ?? {}))
      sum[k] = (sum[k] ?? 0) + parseQuantity(v);
  for (const c of spec.initContainers ?? [])
    for (const [k, v] of Object.entries(c.resources?.requests ?? c.resources?.limits ?? {}))
      sum[k] = Math.max(sum[k] ?? 0, parseQuantity(v));
  return sum;
}

function tolerates(tolerations: V1Toleration[], taint: NodeConfig["taints"][number]): boolean {
  return tolerations.some(
    (t) =>
      (!t.effect || t.effect === taint.effect) &&
      (t.operator === "Exists"
        ? !t.key || t.key === taint.key
        : t.key === taint.key && (t.value ?? "") === (taint.value ?? "")),
  );
}

/** Why the pod does not fit the node, in the scheduler's words; empty when it fits. */
export function unfit(
  pod: Pod,
  node: NodeConfig,
  others: Pod[],
  claimExists: (name: string) => boolean,
): { reasons: string[] } {
  const spec = pod.spec;
  for (const v of spec.volumes ?? [])
    if (v.persistentVolumeClaim && !claimExists(v.persistentVolumeClaim.claimName))
      return {
        reasons: [`persistentvolumeclaim "${v.persistentVolumeClaim.claimName}" not found`],
      };
  const labels = nodeObject(node).metadata.labels as Record<string, string>;
  const reasons: string[] = [];
  const selectorOk = Object.entries(spec.nodeSelector ?? {}).every(([k, v]) => labels[k] === v);
  const terms =
    spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  const affinityOk =
    !terms?.length ||
    terms.some((t) =>
      matchesRequirements(selectorRequirements({ matchExpressions: t.matchExpressions }), labels),
    );
  if (!selectorOk || !affinityOk)
    reasons.push("1 node(s) didn't match Pod's node affinity/selector");
  for (const taint of node.taints)
    if (taint.effect !== "PreferNoSchedule" && !tolerates(spec.tolerations ?? [], taint))
      reasons.push(`1 node(s) had untolerated taint {${taint.key}: ${taint.value ?? ""}}`);
  if (reasons.length) return { reasons };
  const used: Record<string, number> = {};
  for (const other of others)
    for (const [k, v] of Object.entries(podRequests(other.spec))) used[k] = (used[k] ?? 0) + v;
  const wanted = podRequests(spec);
  for (const [k, v] of Object.entries(wanted)) {
    if (v === 0) continue;
    const capacity = node.capacity[k] === undefined ? 0 : parseQuantity(node.capacity[k]);
    if ((used[k] ?? 0) + v > capacity) reasons.push(`1 Insufficient ${k}`);
  }
  const podsCapacity = parseQuantity(node.capacity.pods ?? "110");
  if (others.length + 1 > podsCapacity) reasons.push("1 Too many pods");
  return { reasons };
}

export class Scheduler {
  constructor(
    readonly api: Api,
    readonly events: EventRecorder,
    readonly node: NodeConfig,
  ) {}

  /** Binds every pending unscheduled pod that fits, oldest first. */
  async schedulePending(): Promise<void> {
    const pods = this.api.store.list(resource("pods")) as Pod[];
    const pending = pods
      .filter(
        (p) => !p.spec.nodeName && !p.metadata.deletionTimestamp && p.status?.phase === "Pending",
      )
      .sort((a, b) => (a.metadata.creationTimestamp! < b.metadata.creationTimestamp! ? -1 : 1));
    for (const pod of pending) this.#schedule(pod);
  }

  #schedule(pod: Pod): void {
    const bound = (this.api.store.list(resource("pods")) as Pod[]).filter(
      (p) =>
        p.spec.nodeName === this.node.name &&
        p.status?.phase !== "Succeeded" &&
        p.status?.phase !== "Failed",
    );
    const claims = (name: string) =>
      this.api.store.get(resource("persistentvolumeclaims"), pod.metadata.namespace, name) !==
      undefined;
    const { reasons } = unfit(pod, this.node, bound, claims);
    const ns = pod.metadata.namespace!;
    const name = pod.metadata.name!;
    if (reasons.length) {
      const claimProblem = reasons[0]!.startsWith("persistentvolumeclaim");
      const message = claimProblem
        ? `0/1 nodes are available: ${reasons[0]}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.`
        : `0/1 nodes are available: ${reasons.join(", ")}. preemption: 0/1 nodes are available: 1 ${reasons.some((r) => r.startsWith("1 Insufficient")) ? "No preemption victims found for incoming pod" : "Preemption is not helpful for scheduling"}.`;
      const updated = this.api.store.mutate(resource("pods"), ns, name, (p) => {
        const status = (p as Pod).status!;
        const previous = status.conditions?.find((c) => c.type === "PodScheduled");
        if (previous?.message === message) return false;
        status.conditions = [
          {
            type: "PodScheduled",
            status: "False",
            reason: "Unschedulable",
            message,
            lastProbeTime: null,
            lastTransitionTime: now(),
          },
        ];
        return true;
      });
      if (updated)
        this.events.record(updated, "Warning", "FailedScheduling", message, "default-scheduler");
      return;
    }
    const updated = this.api.store.mutate(resource("pods"), ns, name, (p) => {
      const pod = p as Pod;
      pod.spec.nodeName = this.node.name;
      pod.status!.conditions = [
        { type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: now() },
      ];
      return true;
    });
    if (updated)
      this.events.record(
        updated,
        "Normal",
        "Scheduled",
        `Successfully assigned ${ns}/${name} to ${this.node.name}`,
        "default-scheduler",
      );
  }
}
