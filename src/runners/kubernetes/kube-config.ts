/** Options of the Kubernetes runner, which runs every job as a Kubernetes Job in a namespace. */
import type { V1Job, V1Service } from "@kubernetes/client-node";
import type { PullPolicy } from "../runner.js";

export interface KubernetesConfig {
  /** A kubeconfig file; null uses the pod's in-cluster service account. */
  kubeconfig: string | null;
  /** Namespace of every Job and Service; null takes the kubeconfig context's (or the pod's). */
  namespace: string | null;
  /** Names this installation of Slipway in the cluster: everything it makes is labelled with it. */
  instance: string;
  /** The ReadWriteMany claim holding the server's data folder. */
  dataClaim: string;
  /** The folder of the claim that the server mounts as its data folder ("" for its root). */
  dataClaimSubPath: string;
  /** The server's own data folder, where the job output Slipway keeps is written. */
  dataDir: string;
  /** The content-init image that copies the runtime components into a job's runtime volume. */
  initImage: string;
  initPullPolicy?: "Always" | "IfNotPresent" | "Never";
  /** The Job and Service every content Job and Service starts from (parsed, checked). */
  jobBase?: V1Job | null;
  serviceBase?: V1Service | null;
  /** The account content runs as: never root. */
  user?: { uid: number; gid: number };
  /** When to pull images whose environment does not say; null leaves it to the kubelet. */
  pullPolicy?: PullPolicy | null;
  /** Seconds a finished Job stays before the cluster deletes it; null keeps it until removed. */
  ttlSecondsAfterFinished?: number | null;
  /** How long `stop` waits after SIGTERM before the kubelet kills the pod. */
  stopGraceMs?: number;
  /**
   * Seconds each watch is held open. client-node 1.4 neither asks the server to end a watch nor
   * restarts its informers when one fails, so the runner asks for short watches and renews them.
   */
  watchSeconds?: number;
  /** Keeps the catalog's images and the init image pulled on every node (a DaemonSet). */
  prePullImages?: boolean;
}

export const KUBERNETES_DEFAULTS = {
  initPullPolicy: "IfNotPresent",
  jobBase: null,
  serviceBase: null,
  user: { uid: 10001, gid: 10001 },
  pullPolicy: null,
  ttlSecondsAfterFinished: null,
  stopGraceMs: 5000,
  watchSeconds: 20,
  prePullImages: false,
} as const satisfies Partial<KubernetesConfig>;

/** Where jobs see their volumes inside pods: the same as in the Docker runner's containers. */
export const KUBE_PATHS = { data: "/slipway/data", runtime: "/opt/slipway-runtime" } as const;

/** Where the content-init container copies the runtime components to. */
export const INIT_TARGET = "/mnt/slipway-runtime";

/** Paths no base may mount over: Slipway's data and runtime folders. */
export const RESERVED_PATHS = [KUBE_PATHS.data, KUBE_PATHS.runtime, INIT_TARGET] as const;

/** The label (and annotation) prefix of everything the runner makes. */
export const LABEL = "slipway.io";

/** Names of what Slipway adds to a pod: no base may use them. */
export const CONTENT_CONTAINER = "content";
export const INIT_CONTAINER = "slipway-content-init";
export const DATA_VOLUME = "slipway-data";
export const RUNTIME_VOLUME = "slipway-runtime";
