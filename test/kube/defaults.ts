/**
 * Defaulting, as the API server applies it before storing: the fields a client reads back
 * although it never set them (restartPolicy, terminationMessagePath, a Job's selector...).
 */
import type { V1Container, V1PodSpec } from "@kubernetes/client-node";
import type { KubeObject } from "./types.js";

export function applyDefaults(object: KubeObject): void {
  switch (object.kind) {
    case "Pod":
      defaultPodSpec(object.spec as V1PodSpec);
      object.status ??= { phase: "Pending", qosClass: qosClass(object.spec as V1PodSpec) };
      break;
    case "Job":
      defaultJob(object);
      break;
    case "Deployment":
    case "ReplicaSet":
    case "DaemonSet": {
      const spec = object.spec as {
        replicas?: number;
        template?: { spec?: V1PodSpec };
        revisionHistoryLimit?: number;
      };
      if (object.kind !== "DaemonSet") spec.replicas ??= 1;
      spec.revisionHistoryLimit ??= 10;
      if (spec.template?.spec) defaultPodSpec(spec.template.spec);
      break;
    }
    case "Service":
      defaultService(object);
      break;
    case "Secret": {
      object.type ??= "Opaque";
      // The API server folds stringData into data and never stores it.
      const text = object.stringData as Record<string, string> | undefined;
      if (text) {
        object.data ??= {};
        const data = object.data as Record<string, string>;
        for (const [k, v] of Object.entries(text))
          data[k] = Buffer.from(v, "utf8").toString("base64");
        delete object.stringData;
      }
      break;
    }
    case "Namespace":
      object.spec ??= { finalizers: ["kubernetes"] };
      object.status ??= { phase: "Active" };
      break;
    case "PersistentVolumeClaim": {
      object.spec ??= {};
      const spec = object.spec as { volumeMode?: string };
      spec.volumeMode ??= "Filesystem";
      object.status ??= { phase: "Pending" };
      break;
    }
  }
  const meta = object.metadata;
  if (object.kind === "Namespace")
    meta.labels = { ...meta.labels, "kubernetes.io/metadata.name": meta.name! };
}

export function defaultPodSpec(spec: V1PodSpec): void {
  spec.restartPolicy ??= "Always";
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= "ClusterFirst";
  spec.schedulerName ??= "default-scheduler";
  spec.securityContext ??= {};
  spec.enableServiceLinks ??= true;
  spec.serviceAccountName ??= spec.serviceAccount ?? "default";
  spec.serviceAccount ??= spec.serviceAccountName;
  spec.priority ??= 0;
  spec.preemptionPolicy ??= "PreemptLowerPriority";
  spec.tolerations ??= [];
  spec.tolerations.push(
    ...["not-ready", "unreachable"]
      .map((t) => `node.kubernetes.io/${t}`)
      .filter((key) => !spec.tolerations!.some((t) => t.key === key))
      .map((key) => ({ key, operator: "Exists", effect: "NoExecute", tolerationSeconds: 300 })),
  );
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) defaultContainer(c);
  for (const v of spec.volumes ?? []) {
    if (v.configMap) v.configMap.defaultMode ??= 0o644;
    if (v.secret) v.secret.defaultMode ??= 0o644;
  }
}

function defaultContainer(c: V1Container): void {
  c.terminationMessagePath ??= "/dev/termination-log";
  c.terminationMessagePolicy ??= "File";
  c.imagePullPolicy ??= defaultPullPolicy(c.image ?? "");
  c.resources ??= {};
  if (c.resources.limits && !c.resources.requests) c.resources.requests = { ...c.resources.limits };
  for (const p of c.ports ?? []) p.protocol ??= "TCP";
  for (const probe of [c.readinessProbe, c.livenessProbe, c.startupProbe]) {
    if (!probe) continue;
    probe.timeoutSeconds ??= 1;
    probe.periodSeconds ??= 10;
    probe.successThreshold ??= 1;
    probe.failureThreshold ??= 3;
    if (probe.httpGet) {
      probe.httpGet.path ??= "/";
      probe.httpGet.scheme ??= "HTTP";
    }
  }
}

/** `Always` for `:latest` or an untagged image, `IfNotPresent` otherwise. */
export function defaultPullPolicy(image: string): string {
  if (image.includes("@")) return "IfNotPresent";
  const last = image.split("/").pop() ?? "";
  const tag = last.includes(":") ? last.split(":").pop() : undefined;
  return !tag || tag === "latest" ? "Always" : "IfNotPresent";
}

function defaultJob(job: KubeObject): void {
  const spec = job.spec as {
    parallelism?: number;
    completions?: number;
    backoffLimit?: number;
    completionMode?: string;
    suspend?: boolean;
    manualSelector?: boolean;
    podReplacementPolicy?: string;
    selector?: { matchLabels?: Record<string, string> };
    template: { metadata?: { labels?: Record<string, string> }; spec: V1PodSpec };
  };
  spec.parallelism ??= 1;
  spec.completions ??= 1;
  spec.backoffLimit ??= 6;
  spec.completionMode ??= "NonIndexed";
  spec.suspend ??= false;
  spec.manualSelector ??= false;
  spec.podReplacementPolicy ??= "TerminatingOrFailed";
  if (spec.template?.spec) defaultPodSpec(spec.template.spec);
}

/** Called once the Job has its uid: the generated selector and template labels. */
export function jobSelectorLabels(job: KubeObject): Record<string, string> {
  return {
    "batch.kubernetes.io/controller-uid": job.metadata.uid!,
    "batch.kubernetes.io/job-name": job.metadata.name!,
    "controller-uid": job.metadata.uid!,
    "job-name": job.metadata.name!,
  };
}

function defaultService(service: KubeObject): void {
  service.spec ??= {};
  const spec = service.spec as {
    type?: string;
    sessionAffinity?: string;
    ports?: { port: number; targetPort?: number | string; protocol?: string }[];
    ipFamilies?: string[];
    ipFamilyPolicy?: string;
    internalTrafficPolicy?: string;
  };
  spec.type ??= "ClusterIP";
  spec.sessionAffinity ??= "None";
  spec.ipFamilies ??= ["IPv4"];
  spec.ipFamilyPolicy ??= "SingleStack";
  spec.internalTrafficPolicy ??= "Cluster";
  for (const p of spec.ports ?? []) {
    p.protocol ??= "TCP";
    p.targetPort ??= p.port;
  }
  service.status ??= { loadBalancer: {} };
}

function qosClass(spec: V1PodSpec): string {
  const containers = spec.containers ?? [];
  const any = containers.some((c) => c.resources?.requests || c.resources?.limits);
  if (!any) return "BestEffort";
  const guaranteed = containers.every(
    (c) =>
      c.resources?.limits?.cpu &&
      c.resources?.limits?.memory &&
      (!c.resources.requests ||
        (c.resources.requests.cpu === c.resources.limits.cpu &&
          c.resources.requests.memory === c.resources.limits.memory)),
  );
  return guaranteed ? "Guaranteed" : "Burstable";
}
