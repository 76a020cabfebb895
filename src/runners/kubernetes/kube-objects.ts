/**
 * Turns a job into the Kubernetes objects that run it: a batch/v1 Job (its pod: the content
 * container and, when the job needs Slipway's runtime components, the content-init container
 * filling an emptyDir first; data sub-paths of the shared claim) and, for a job with ports, a
 * ClusterIP Service the server proxies to. Both start from the configured bases; Slipway sets
 * only what it must control. Pure: the objects are compared as data in tests.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import type {
  V1Container,
  V1EnvVar,
  V1Job,
  V1OwnerReference,
  V1PodSpec,
  V1Secret,
  V1Service,
  V1Volume,
  V1VolumeMount,
} from "@kubernetes/client-node";
import { type Job, portVariable, type Resources, UnsupportedByBackend } from "../runner.js";
import {
  CONTENT_CONTAINER,
  DATA_VOLUME,
  INIT_CONTAINER,
  INIT_TARGET,
  KUBE_PATHS,
  LABEL,
  RUNTIME_VOLUME,
} from "./kube-config.js";

export interface KubeSpawn {
  namespace: string;
  instance: string;
  dataClaim: string;
  dataClaimSubPath: string;
  initImage: string;
  initPullPolicy: "Always" | "IfNotPresent" | "Never";
  user: { uid: number; gid: number };
  pullPolicy: Job["pullPolicy"];
  ttlSecondsAfterFinished: number | null;
  jobBase: V1Job | null;
  serviceBase: V1Service | null;
}

/**
 * The claim's folder behind a data sub-path: the one function both the server (which reads and
 * writes it under its data folder, itself the claim's `dataClaimSubPath`) and every pod use, so
 * they cannot disagree about the layout.
 */
export function claimSubPath(dataClaimSubPath: string, subPath: string): string {
  const joined = path.posix.normalize(path.posix.join(dataClaimSubPath || ".", subPath));
  if (path.posix.isAbsolute(joined) || joined === ".." || joined.startsWith("../")) {
    throw new UnsupportedByBackend("kubernetes", `mount the data sub-path ${subPath}`);
  }
  return joined;
}

const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/**
 * The name of a job's Job and Service: its own when Kubernetes allows it (a DNS label of at most
 * 63 characters, starting with a letter, as Services need), otherwise made to fit, with a digest
 * of the original so two names never fold into one.
 */
export function objectName(name: string): string {
  if (name.length <= 63 && DNS_LABEL.test(name)) return name;
  const digest = createHash("sha256").update(name).digest("hex").slice(0, 8);
  const folded = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^[^a-z]+/, "")
    .slice(0, 63 - digest.length - 1)
    .replace(/-+$/, "");
  return `${folded || "job"}-${digest}`;
}

/** The annotation holding the job's own name, when its objects had to be named otherwise. */
export const JOB_NAME = `${LABEL}/job-name`;

const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** A label value as Kubernetes allows it: as it is when valid, otherwise a stable digest of it. */
export function labelValue(value: string): string {
  if (value.length <= 63 && LABEL_VALUE.test(value)) return value;
  return `h-${createHash("sha256").update(value).digest("hex").slice(0, 40)}`;
}

export function labelKey(key: string): string {
  return `${LABEL}/${key.replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 63)}`;
}

/** The labels of everything made for the job: its own, the installation's, and its name. */
export function labelsOf(job: Job, instance: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...job.labels, instance, job: job.name })) {
    labels[labelKey(key)] = labelValue(value);
  }
  return labels;
}

/** The selector of the installation's objects. */
export function instanceSelector(instance: string): string {
  return `${labelKey("instance")}=${labelValue(instance)}`;
}

const PULL = { always: "Always", "if-not-present": "IfNotPresent", never: "Never" } as const;

function quantities(resources: Resources): NonNullable<V1Container["resources"]> {
  const limits: Record<string, string> = {};
  const requests: Record<string, string> = {};
  const cpu = (cores: number) => `${Math.max(1, Math.round(cores * 1000))}m`;
  if (resources.memoryLimitBytes) limits.memory = String(resources.memoryLimitBytes);
  if (resources.memoryRequestBytes) requests.memory = String(resources.memoryRequestBytes);
  if (resources.cpuLimit) limits.cpu = cpu(resources.cpuLimit);
  if (resources.cpuRequest) requests.cpu = cpu(resources.cpuRequest);
  // Extended resources are requested by their limit only, as the device plugins expect.
  if (resources.nvidiaGpus) limits["nvidia.com/gpu"] = String(resources.nvidiaGpus);
  if (resources.amdGpus) limits["amd.com/gpu"] = String(resources.amdGpus);
  return {
    ...(Object.keys(limits).length ? { limits } : {}),
    ...(Object.keys(requests).length ? { requests } : {}),
  };
}

function clone<T>(value: T): T {
  return value === null || value === undefined ? value : structuredClone(value);
}

export function jobObject(job: Job, spawn: KubeSpawn): V1Job {
  if (job.image === null) {
    throw new UnsupportedByBackend(
      "kubernetes",
      "run content on the server's own host (an environment of the Local cluster); give the environment an image",
    );
  }
  const argv = job.supervisor ? [job.supervisor, ...job.argv] : [...job.argv];
  if (argv.length === 0) throw new UnsupportedByBackend("kubernetes", "run a job with no command");
  const base = clone(spawn.jobBase) ?? { apiVersion: "batch/v1", kind: "Job" };
  const baseSpec = base.spec?.template?.spec;
  const baseMain: V1Container = clone(
    baseSpec?.containers?.find((c) => c.name === CONTENT_CONTAINER) ?? baseSpec?.containers?.[0],
  ) ?? { name: CONTENT_CONTAINER };
  const sidecars = (baseSpec?.containers ?? []).filter((c) => c.name !== baseMain.name);
  const labels = labelsOf(job, spawn.instance);

  const volumes: V1Volume[] = [...(baseSpec?.volumes ?? [])];
  const mounts: V1VolumeMount[] = [...(baseMain.volumeMounts ?? [])];
  let claims = 0;
  for (const volume of job.volumes) {
    if (volume.kind === "data") {
      mounts.push({
        name: DATA_VOLUME,
        mountPath: path.posix.join(KUBE_PATHS.data, volume.subPath),
        subPath: claimSubPath(spawn.dataClaimSubPath, volume.subPath),
        readOnly: volume.readOnly,
      });
    } else if (volume.kind === "host") {
      throw new UnsupportedByBackend(
        "kubernetes",
        `mount the server's own folder ${volume.path}: pods run on other machines; put it on the shared volume or a claim`,
      );
    } else {
      const name = `slipway-mount-${++claims}`;
      volumes.push(
        volume.kind === "nfs"
          ? { name, nfs: { server: volume.server, path: volume.path, readOnly: volume.readOnly } }
          : {
              name,
              persistentVolumeClaim: { claimName: volume.claim, readOnly: volume.readOnly },
            },
      );
      mounts.push({ name, mountPath: volume.target, readOnly: volume.readOnly });
    }
  }
  if (job.volumes.some((v) => v.kind === "data")) {
    volumes.push({ name: DATA_VOLUME, persistentVolumeClaim: { claimName: spawn.dataClaim } });
  }
  const initContainers: V1Container[] = [...(baseSpec?.initContainers ?? [])];
  if (job.runtime) {
    volumes.push({ name: RUNTIME_VOLUME, emptyDir: {} });
    mounts.push({ name: RUNTIME_VOLUME, mountPath: KUBE_PATHS.runtime, readOnly: true });
    initContainers.push({
      name: INIT_CONTAINER,
      image: spawn.initImage,
      imagePullPolicy: spawn.initPullPolicy,
      args: [INIT_TARGET],
      volumeMounts: [{ name: RUNTIME_VOLUME, mountPath: INIT_TARGET }],
      securityContext: containerSecurity(spawn.user),
      resources: {
        limits: { cpu: "500m", memory: "64Mi" },
        requests: { cpu: "50m", memory: "16Mi" },
      },
      terminationMessagePolicy: "FallbackToLogsOnError",
    });
  }

  const secret = objectName(job.name);
  const env: V1EnvVar[] = [
    ...(baseMain.env ?? []).filter((e) => !(e.name in job.env)),
    // The values live in the job's Secret: whoever may read Jobs and pods does not see them.
    ...Object.keys(job.env).map((name) => ({
      name,
      valueFrom: { secretKeyRef: { name: secret, key: secretKey(name) } },
    })),
  ];
  if (!("HOME" in job.env) && !baseMain.env?.some((e) => e.name === "HOME")) {
    env.push({ name: "HOME", value: "/tmp" });
  }
  if (job.ports.length > 0) {
    // The pod's own address: in a cluster the pod has a network of its own either way.
    env.push({ name: "SLIPWAY_HOST", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } });
  }
  for (const port of job.ports) env.push({ name: portVariable(port), value: String(port.port) });
  const pullPolicy = job.pullPolicy ?? spawn.pullPolicy;
  const first = job.ports[0];
  const main: V1Container = {
    ...baseMain,
    name: baseMain.name,
    image: job.image,
    command: argv,
    args: [],
    env,
    workingDir: job.workingDir,
    volumeMounts: mounts,
    resources: { ...baseMain.resources, ...quantities(job.resources) },
    ports: job.ports.map((p) => ({ name: p.name, containerPort: p.port, protocol: "TCP" })),
    securityContext: { ...baseMain.securityContext, ...containerSecurity(spawn.user) },
    terminationMessagePolicy: "FallbackToLogsOnError",
    ...(pullPolicy ? { imagePullPolicy: PULL[pullPolicy] } : {}),
    ...(first
      ? {
          readinessProbe: {
            tcpSocket: { port: first.port },
            periodSeconds: 1,
            failureThreshold: 1,
            successThreshold: 1,
            timeoutSeconds: 1,
          },
        }
      : {}),
  };
  const placement = job.placement ?? {};
  const pullSecrets = [
    ...(baseSpec?.imagePullSecrets ?? []),
    ...(placement.imagePullSecrets ?? []).map((name) => ({ name })),
  ];
  const podSpec: V1PodSpec = {
    ...baseSpec,
    restartPolicy: "Never",
    enableServiceLinks: false,
    // An environment names its account for the identity it carries: its token comes with it.
    automountServiceAccountToken:
      baseSpec?.automountServiceAccountToken ?? Boolean(placement.serviceAccount),
    ...(placement.serviceAccount ? { serviceAccountName: placement.serviceAccount } : {}),
    ...(placement.nodeSelector
      ? { nodeSelector: { ...baseSpec?.nodeSelector, ...placement.nodeSelector } }
      : {}),
    ...(placement.tolerations
      ? {
          tolerations: [
            ...(baseSpec?.tolerations ?? []),
            ...placement.tolerations.map((t) => ({ ...t })),
          ],
        }
      : {}),
    ...(pullSecrets.length ? { imagePullSecrets: pullSecrets } : {}),
    securityContext: {
      ...baseSpec?.securityContext,
      runAsNonRoot: true,
      runAsUser: spawn.user.uid,
      runAsGroup: spawn.user.gid,
      fsGroup: spawn.user.gid,
      fsGroupChangePolicy: "OnRootMismatch",
    },
    ...(initContainers.length ? { initContainers } : {}),
    containers: [main, ...sidecars],
    ...(volumes.length ? { volumes } : {}),
  };
  return {
    ...base,
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: {
      ...base.metadata,
      name: objectName(job.name),
      namespace: spawn.namespace,
      labels: { ...base.metadata?.labels, ...labels },
      annotations: { ...base.metadata?.annotations, [JOB_NAME]: job.name },
    },
    spec: {
      ...base.spec,
      backoffLimit: 0,
      completions: 1,
      parallelism: 1,
      ...(job.deadlineSeconds ? { activeDeadlineSeconds: job.deadlineSeconds } : {}),
      ...(spawn.ttlSecondsAfterFinished !== null
        ? { ttlSecondsAfterFinished: spawn.ttlSecondsAfterFinished }
        : {}),
      template: {
        metadata: {
          ...base.spec?.template?.metadata,
          labels: { ...base.spec?.template?.metadata?.labels, ...labels },
        },
        spec: podSpec,
      },
    },
  };
}

function containerSecurity(user: { uid: number; gid: number }): V1Container["securityContext"] {
  return {
    runAsNonRoot: true,
    runAsUser: user.uid,
    runAsGroup: user.gid,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
  };
}

const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/** The key of a variable in the job's Secret: its name where Secrets allow it, else a digest. */
export function secretKey(name: string): string {
  if (name.length <= 253 && SECRET_KEY.test(name)) return name;
  return `v-${createHash("sha256").update(name).digest("hex").slice(0, 32)}`;
}

/**
 * The Secret holding the job's environment variables, named as its Job; null when it has
 * none. Made before the Job (its pod reads it at once) and then owned by it.
 */
export function secretObject(job: Job, spawn: KubeSpawn): V1Secret | null {
  const names = Object.keys(job.env);
  if (names.length === 0) return null;
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: {
      name: objectName(job.name),
      namespace: spawn.namespace,
      labels: labelsOf(job, spawn.instance),
      // A Secret whose start was cut short names its job, for the sweep that removes it.
      annotations: { [JOB_NAME]: job.name },
    },
    data: secretData(job),
  };
}

/** The variables as a Secret's `data`: base64 of each value, under its key. */
export function secretData(job: Job): Record<string, string> {
  return Object.fromEntries(
    Object.entries(job.env).map(([name, value]) => [
      secretKey(name),
      Buffer.from(value, "utf8").toString("base64"),
    ]),
  );
}

/** The Service of a job with ports, owned by its Job so the cluster collects the two together. */
export function serviceObject(job: Job, spawn: KubeSpawn, owner: V1OwnerReference): V1Service {
  const base = clone(spawn.serviceBase) ?? { apiVersion: "v1", kind: "Service" };
  const labels = labelsOf(job, spawn.instance);
  return {
    ...base,
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      ...base.metadata,
      name: objectName(job.name),
      namespace: spawn.namespace,
      labels: { ...base.metadata?.labels, ...labels },
      ownerReferences: [owner],
    },
    spec: {
      ...base.spec,
      type: "ClusterIP",
      selector: {
        [labelKey("job")]: labelValue(job.name),
        [labelKey("instance")]: labels[labelKey("instance")]!,
      },
      ports: job.ports.map((p) => ({
        name: p.name,
        port: p.port,
        targetPort: p.name,
        protocol: "TCP",
      })),
    },
  };
}
