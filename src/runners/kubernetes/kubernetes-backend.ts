/**
 * Runs jobs as Kubernetes Jobs: one batch/v1 Job per job, named after it and labelled with the
 * installation, the content, the bundle and the spec hash, plus a ClusterIP Service for a job
 * with ports. What the cluster does is learned by watching (Jobs, pods, Services,
 * EndpointSlices and Events, one cache each), never by asking per job, so an idle server sends
 * no requests. Output is copied into Slipway's own folder while a pod runs, so it survives the
 * pod; the exit of a stopped pod is kept on its Job.
 */
import { randomBytes } from "node:crypto";
import { chown, mkdir, open, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { PassThrough } from "node:stream";
import {
  ApiException,
  AppsV1Api,
  BatchV1Api,
  CoreV1Api,
  type CoreV1Event,
  DiscoveryV1Api,
  KubeConfig,
  Log,
  type V1EndpointSlice,
  type V1Job,
  type V1OwnerReference,
  type V1Pod,
  type V1Secret,
  type V1Service,
  Watch,
} from "@kubernetes/client-node";
import {
  type Job,
  type JobPaths,
  type PrePull,
  type ResourceName,
  type RunHandle,
  type Runner,
  type RunState,
  StartFailed,
  type StartOptions,
  UnsupportedByBackend,
} from "../runner.js";
import {
  CONTENT_CONTAINER,
  KUBE_PATHS,
  KUBERNETES_DEFAULTS,
  type KubernetesConfig,
  LABEL,
} from "./kube-config.js";
import {
  instanceSelector,
  JOB_NAME,
  jobObject,
  type KubeSpawn,
  labelKey,
  objectName,
  secretData,
  secretObject,
  serviceObject,
} from "./kube-objects.js";
import { prePullerName, prePullerObject } from "./kube-prepuller.js";
import { eventLine, exitOf, mainStatus, refusedPod, startPhase } from "./kube-progress.js";
import { Reflector } from "./kube-reflector.js";

export interface KubeHandle extends RunHandle {
  readonly backend: "kubernetes";
  readonly namespace: string;
  /** The Job's uid: a later Job of the same name is other work. */
  readonly uid: string;
}

const EXIT_CODE = `${LABEL}/exit-code`;
const EXIT_REASON = `${LABEL}/exit-reason`;
const STOPPED = `${LABEL}/stopped`;

interface Caches {
  jobs: Reflector<V1Job>;
  pods: Reflector<V1Pod>;
  services: Reflector<V1Service>;
  slices: Reflector<V1EndpointSlice>;
  events: Reflector<CoreV1Event>;
}

export class KubernetesRunner implements Runner {
  readonly backend = "kubernetes";
  readonly paths: JobPaths = KUBE_PATHS;
  readonly enforces: ReadonlySet<ResourceName> = new Set<ResourceName>([
    "memoryLimitBytes",
    "memoryRequestBytes",
    "cpuLimit",
    "cpuRequest",
    "nvidiaGpus",
    "amdGpus",
  ]);
  readonly user: { readonly uid: number; readonly gid: number };
  readonly namespace: string;
  readonly #config: Required<KubernetesConfig>;
  readonly #kc: KubeConfig;
  readonly #core: CoreV1Api;
  readonly #batch: BatchV1Api;
  readonly #caches: Caches;
  readonly #logDir: string;
  /** Output copies in progress, by pod uid. */
  readonly #captures = new Map<string, Promise<void>>();
  /** The last state seen of each pod, by its Job's uid, so a deleted pod's exit is known. */
  readonly #lastPods = new Map<string, V1Pod>();
  readonly #unsubscribe: () => void;
  /** A pre-puller left by an earlier configuration has been removed. */
  #prePullerGone = false;

  private constructor(
    config: Required<KubernetesConfig>,
    kc: KubeConfig,
    namespace: string,
    caches: Caches,
  ) {
    this.#config = config;
    this.#kc = kc;
    this.namespace = namespace;
    this.user = config.user;
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#batch = kc.makeApiClient(BatchV1Api);
    this.#caches = caches;
    this.#logDir = path.join(config.dataDir, "logs", "kubernetes");
    this.#unsubscribe = caches.pods.subscribe((_type, pod) => {
      const owner = ownerUid(pod);
      if (owner) this.#lastPods.set(owner, pod);
    });
  }

  /** Reaches the cluster, checks the namespace, and fills the caches; a clear error otherwise. */
  static async connect(
    config: KubernetesConfig,
    options: { onWatchError?: (error: Error) => void } = {},
  ): Promise<KubernetesRunner> {
    const full = { ...KUBERNETES_DEFAULTS, ...config } as Required<KubernetesConfig>;
    const kc = new KubeConfig();
    try {
      if (full.kubeconfig) kc.loadFromFile(full.kubeconfig);
      else kc.loadFromCluster();
    } catch (error) {
      throw new Error(
        `Cannot read the cluster's address and credentials (${full.kubeconfig ? `[Kubernetes] Kubeconfig ${full.kubeconfig}` : "the pod's service account"}): ${(error as Error).message}`,
      );
    }
    const namespace =
      full.namespace || kc.getContextObject(kc.getCurrentContext())?.namespace || "default";
    const server = kc.getCurrentCluster()?.server ?? "(no server)";
    const core = kc.makeApiClient(CoreV1Api);
    const batch = kc.makeApiClient(BatchV1Api);
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    try {
      await core.readNamespace({ name: namespace });
    } catch (error) {
      const code = (error as ApiException<unknown>).code;
      if (code === 404) {
        throw new Error(
          `The namespace ${namespace} ([Kubernetes] Namespace) does not exist on ${server}.`,
        );
      }
      // A Role in the namespace may not let the server read namespaces; listing is enough then.
      if (code !== 403) throw reachError(server, error);
    }
    const watch = new Watch(kc);
    const selector = instanceSelector(full.instance);
    const base = `/api/v1/namespaces/${namespace}`;
    const common = { watch, watchSeconds: full.watchSeconds, onError: options.onWatchError };
    const caches: Caches = {
      jobs: new Reflector<V1Job>({
        ...common,
        path: `/apis/batch/v1/namespaces/${namespace}/jobs`,
        labelSelector: selector,
        list: () => batch.listNamespacedJob({ namespace, labelSelector: selector }),
      }),
      pods: new Reflector<V1Pod>({
        ...common,
        path: `${base}/pods`,
        labelSelector: selector,
        list: () => core.listNamespacedPod({ namespace, labelSelector: selector }),
      }),
      services: new Reflector<V1Service>({
        ...common,
        path: `${base}/services`,
        labelSelector: selector,
        list: () => core.listNamespacedService({ namespace, labelSelector: selector }),
      }),
      slices: new Reflector<V1EndpointSlice>({
        ...common,
        path: `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
        list: () => discovery.listNamespacedEndpointSlice({ namespace }),
      }),
      events: new Reflector<CoreV1Event>({
        ...common,
        path: `${base}/events`,
        list: () => core.listNamespacedEvent({ namespace }),
      }),
    };
    try {
      await Promise.all(Object.values(caches).map((cache: Reflector<never>) => cache.start()));
    } catch (error) {
      for (const cache of Object.values(caches)) (cache as Reflector<never>).stop();
      const code = (error as ApiException<unknown>).code;
      if (code === 403) {
        throw new Error(
          `The server's account may not watch its work in the namespace ${namespace}: ${apiMessage(error)}`,
        );
      }
      throw reachError(server, error);
    }
    return new KubernetesRunner(full, kc, namespace, caches);
  }

  get description(): string {
    return `Kubernetes at ${this.#kc.getCurrentCluster()?.server}, namespace ${this.namespace}`;
  }

  /** Stops watching; the cluster's work goes on for the next server. */
  async close(): Promise<void> {
    this.#unsubscribe();
    for (const cache of Object.values(this.#caches)) (cache as Reflector<never>).stop();
  }

  /**
   * Keeps the images and the content-init image pulled on every node with the pre-puller
   * DaemonSet, made or replaced to match; with [Kubernetes] PrePullImages off, removes one an
   * earlier configuration left.
   */
  async prePull(images: readonly PrePull[]): Promise<void> {
    const apps = this.#kc.makeApiClient(AppsV1Api);
    const name = prePullerName(this.#config.instance);
    const namespace = this.namespace;
    if (!this.#config.prePullImages) {
      if (this.#prePullerGone) return;
      this.#prePullerGone = true;
      await apps.deleteNamespacedDaemonSet({ name, namespace }).catch((error) => {
        // Off and never allowed (the chart grants DaemonSets only with the option): nothing to remove.
        if ((error as ApiException<unknown>).code !== 403) ignoreGone(error);
      });
      return;
    }
    const body = prePullerObject(images, {
      namespace,
      instance: this.#config.instance,
      initImage: this.#config.initImage,
      user: this.#config.user,
    });
    try {
      await apps.replaceNamespacedDaemonSet({ name, namespace, body });
    } catch (error) {
      if ((error as ApiException<unknown>).code !== 404) {
        throw new Error(`The cluster refused the image pre-puller: ${apiMessage(error)}`);
      }
      await apps.createNamespacedDaemonSet({ namespace, body }).catch((failure) => {
        throw new Error(`The cluster refused the image pre-puller: ${apiMessage(failure)}`);
      });
    }
  }

  #spawn(): KubeSpawn {
    const c = this.#config;
    return {
      namespace: this.namespace,
      instance: c.instance,
      dataClaim: c.dataClaim,
      dataClaimSubPath: c.dataClaimSubPath,
      initImage: c.initImage,
      initPullPolicy: c.initPullPolicy,
      user: c.user,
      pullPolicy: c.pullPolicy,
      ttlSecondsAfterFinished: c.ttlSecondsAfterFinished,
      jobBase: c.jobBase,
      serviceBase: c.serviceBase,
    };
  }

  async start(job: Job, options: StartOptions = {}): Promise<RunHandle> {
    const progress = options.onProgress ?? (() => {});
    const body = jobObject(job, this.#spawn());
    const existing = this.#caches.jobs.get(objectName(job.name));
    if (existing) {
      const same =
        existing.metadata?.labels?.[labelKey("spec-hash")] ===
        body.metadata?.labels?.[labelKey("spec-hash")];
      if (same && !this.#ended(existing)) return this.#handleOf(existing);
      await this.remove(this.#handleOf(existing));
    }
    // The server mounts the same claim as its data folder: it makes each sub-path (as a kubelet
    // would, but owned by the job's account where the job writes), so the pod can write there.
    for (const volume of job.volumes) {
      if (volume.kind !== "data") continue;
      const folder = path.join(this.#config.dataDir, volume.subPath);
      const made = await mkdir(folder, { recursive: true });
      if (made && !volume.readOnly) await chown(folder, this.user.uid, this.user.gid);
    }
    const secret = secretObject(job, this.#spawn());
    if (secret) await this.#putSecret(job, secret);
    let created: V1Job;
    try {
      created = await this.#batch.createNamespacedJob({ namespace: this.namespace, body });
    } catch (error) {
      const code = (error as ApiException<unknown>).code;
      if (code === 409) {
        // Another server made it a moment ago: the same spec is adopted, as a restart would.
        const theirs = await this.#caches.jobs.until(() =>
          this.#caches.jobs.get(objectName(job.name)),
        );
        return this.#handleOf(theirs);
      }
      if (secret) {
        await this.#core
          .deleteNamespacedSecret({ name: secret.metadata!.name!, namespace: this.namespace })
          .catch(() => undefined);
      }
      throw new StartFailed(`The cluster refused the Job ${job.name}: ${apiMessage(error)}`);
    }
    const handle = this.#handleOf(created);
    const began = Date.now();
    progress(`Created Job ${job.name} in namespace ${this.namespace} from ${job.image}`);
    const owner = ownerOf(created);
    if (secret) {
      await this.#giveSecret(secret.metadata!.name!, created).catch(async (error) => {
        await this.remove(handle);
        throw new StartFailed(
          `The cluster refused to give the Secret ${job.name} to its Job: ${apiMessage(error)}`,
        );
      });
    }
    if (job.ports.length > 0) {
      try {
        await this.#core.createNamespacedService({
          namespace: this.namespace,
          body: serviceObject(job, this.#spawn(), owner),
        });
      } catch (error) {
        await this.remove(handle);
        throw new StartFailed(`The cluster refused the Service ${job.name}: ${apiMessage(error)}`);
      }
    }
    try {
      await this.#untilStarted(handle, (line) =>
        progress(`${line} (${((Date.now() - began) / 1000).toFixed(1)} s)`),
      );
    } catch (error) {
      await this.remove(handle);
      throw error;
    }
    const pod = this.#podOf(handle);
    if (pod) this.#capture(handle, pod);
    return handle;
  }

  /**
   * Writes the job's variables into its Secret before the Job exists, as its pod reads them at
   * once. A Secret of that name already there (a start cut short, another server's start of
   * the same job) gets these values; whoever owns it keeps it.
   */
  async #putSecret(job: Job, secret: V1Secret): Promise<void> {
    const name = secret.metadata!.name!;
    try {
      await this.#core.createNamespacedSecret({ namespace: this.namespace, body: secret });
    } catch (error) {
      if ((error as ApiException<unknown>).code !== 409) {
        throw new StartFailed(
          `The cluster refused the Secret holding the variables of ${job.name}: ${apiMessage(error)}`,
        );
      }
      await this.#core
        .patchNamespacedSecret({
          name,
          namespace: this.namespace,
          body: [{ op: "replace", path: "/data", value: secretData(job) }],
        })
        .catch((failure) => {
          throw new StartFailed(
            `The cluster refused the Secret holding the variables of ${job.name}: ${apiMessage(failure)}`,
          );
        });
    }
  }

  /** Resolves once the content container runs (or has ended); fails at once when it never will. */
  async #untilStarted(handle: KubeHandle, progress: (line: string) => void): Promise<void> {
    const { jobs, pods, events } = this.#caches;
    const told = new Set<string>();
    let refused: string | undefined;
    const tell = () => {
      const pod = this.#podOf(handle);
      const involved = new Set([handle.uid, pod?.metadata?.uid]);
      for (const event of events.list()) {
        if (!involved.has(event.involvedObject?.uid)) continue;
        const key = `${event.metadata?.uid}:${event.count ?? 1}`;
        if (told.has(key)) continue;
        told.add(key);
        refused ??= refusedPod(event);
        const line = eventLine(event);
        if (line) progress(line);
      }
    };
    const unsubscribe = events.subscribe(() => tell());
    let seen = false;
    const settled = new AbortController();
    try {
      const probe = () => {
        tell();
        const job = jobs.get(objectName(handle.name));
        if (!job || job.metadata?.uid !== handle.uid) {
          // The cache may not have the new Job yet; once it had it, its going is a deletion.
          if (!seen) return undefined;
          throw new StartFailed(`The Job ${handle.name} was deleted before it started.`);
        }
        seen = true;
        if (refused) throw new StartFailed(refused);
        const phase = startPhase(job, this.#podOf(handle));
        if (phase.phase === "failed") throw new StartFailed(phase.message);
        return phase.phase === "started" ? true : undefined;
      };
      // A refusal arrives as an Event alone: the Job and its (missing) pod do not change.
      await Promise.race([jobs, pods, events].map((cache) => cache.until(probe, settled.signal)));
    } finally {
      settled.abort();
      unsubscribe();
    }
  }

  async poll(handle: RunHandle): Promise<RunState> {
    const h = own(handle);
    const job = this.#jobOf(h);
    if (!job) return { state: "exited", exitCode: null, reason: null };
    const recorded = job.metadata?.annotations?.[EXIT_CODE];
    if (recorded !== undefined) {
      return {
        state: "exited",
        exitCode: recorded === "" ? null : Number(recorded),
        reason: job.metadata?.annotations?.[EXIT_REASON] || null,
      };
    }
    const pod = this.#podOf(h);
    if (pod) {
      const exit = exitOf(pod);
      if (exit) return { state: "exited", ...exit };
      const running = Boolean(mainStatus(pod)?.state?.running);
      if (running && !this.#captures.has(pod.metadata!.uid!)) this.#capture(h, pod);
      const endpoints = this.#endpoints(h);
      const ports = Object.keys(endpoints).length > 0;
      const ready = running && (!ports || this.#serviceReady(h));
      return { state: "running", ready, endpoints };
    }
    const failed = job.status?.conditions?.find(
      (c) => (c.type === "Failed" || c.type === "Complete") && c.status === "True",
    );
    if (failed) {
      return {
        state: "exited",
        exitCode: failed.type === "Complete" ? 0 : null,
        reason: failed.type === "Complete" ? null : `${failed.reason}: ${failed.message}`,
      };
    }
    if (job.metadata?.annotations?.[STOPPED]) {
      return { state: "exited", exitCode: null, reason: "stopped before it started" };
    }
    return { state: "running", ready: false, endpoints: {} };
  }

  async stop(handle: RunHandle, options: { graceMs?: number } = {}): Promise<void> {
    const h = own(handle);
    const job = this.#jobOf(h);
    if (!job || job.metadata?.annotations?.[EXIT_CODE] !== undefined) return;
    const pod = this.#podOf(h);
    if (pod && exitOf(pod)) return;
    // No replacement pod once this one goes; the Job itself stays, with the exit, until removed.
    await this.#patchJob(h, [
      { op: "replace", path: "/spec/parallelism", value: 0 },
      { op: "add", path: `/metadata/annotations/${escapePointer(STOPPED)}`, value: "true" },
    ]);
    if (!pod) return;
    if (mainStatus(pod)?.state?.running) this.#capture(h, pod);
    const grace = Math.ceil((options.graceMs ?? this.#config.stopGraceMs) / 1000);
    await this.#deletePod(pod, grace);
    const uid = pod.metadata!.uid!;
    await this.#caches.pods.until(() =>
      this.#caches.pods.list().some((p) => p.metadata?.uid === uid) ? undefined : true,
    );
    await this.#captures.get(uid);
    const last = this.#lastPods.get(h.uid) ?? pod;
    const exit = exitOf(last) ?? { exitCode: null, reason: "stopped" };
    await this.#patchJob(h, [
      {
        op: "add",
        path: `/metadata/annotations/${escapePointer(EXIT_CODE)}`,
        value: exit.exitCode === null ? "" : String(exit.exitCode),
      },
      {
        op: "add",
        path: `/metadata/annotations/${escapePointer(EXIT_REASON)}`,
        value: exit.reason ?? "",
      },
    ]);
  }

  async *logs(handle: RunHandle, options: { follow?: boolean } = {}): AsyncIterable<string> {
    const h = own(handle);
    const { jobs, pods } = this.#caches;
    const follow = Boolean(options.follow);
    if (!this.#jobOf(h)) {
      yield* this.#stored(h);
      return;
    }
    // Until the content container has started there is nothing to read; with follow, wait.
    const waitable = () => {
      const job = this.#jobOf(h);
      if (!job) return "gone" as const;
      const pod = this.#podOf(h);
      const status = pod && mainStatus(pod);
      if (status?.state?.running || status?.state?.terminated) return pod;
      if (job.metadata?.annotations?.[EXIT_CODE] !== undefined) return "gone" as const;
      const state = pod ? exitOf(pod) : undefined;
      if (state || (!pod && this.#ended(job))) return "gone" as const;
      return follow ? undefined : ("gone" as const);
    };
    const found = await Promise.race([jobs.until(waitable), pods.until(waitable)]);
    if (found === "gone") {
      yield* this.#stored(h);
      return;
    }
    try {
      yield* this.#podLines(found, follow);
      // Reads after the output ended see the exit: the cache has caught up with the pod.
      if (follow) await pods.until(() => (this.#podEnded(found.metadata!.uid!) ? true : undefined));
    } catch (error) {
      // The pod went away as it was read: its copy is the output.
      if (!isGone(error)) throw error;
      await this.#captures.get(found.metadata!.uid!);
      yield* this.#stored(h);
    }
  }

  async *#podLines(pod: V1Pod, follow: boolean): AsyncIterable<string> {
    const { name, namespace } = pod.metadata!;
    if (!follow) {
      const text = await this.#core.readNamespacedPodLog({
        name: name!,
        namespace: namespace!,
        container: CONTENT_CONTAINER,
      });
      yield* splitLines(text);
      return;
    }
    const stream = new PassThrough();
    const controller = await new Log(this.#kc).log(namespace!, name!, CONTENT_CONTAINER, stream, {
      follow: true,
    });
    // A stream cut with its pod (deleted at once, or gone with its node) never ends by itself:
    // once the pod has ended or gone, what is still in flight gets a moment, then it is closed.
    const watching = new AbortController();
    let closing: NodeJS.Timeout | undefined;
    this.#caches.pods
      .until(() => (this.#podEnded(pod.metadata!.uid!) ? true : undefined), watching.signal)
      .then(
        () => {
          closing = setTimeout(() => {
            controller.abort();
            stream.end();
          }, 2000);
        },
        () => undefined,
      );
    try {
      let rest = "";
      for await (const chunk of stream) {
        const parts = (rest + (chunk as Buffer).toString("utf8")).split("\n");
        rest = parts.pop() ?? "";
        yield* parts;
      }
      if (rest) yield rest;
    } finally {
      watching.abort();
      clearTimeout(closing);
      controller.abort();
    }
  }

  async *#stored(h: KubeHandle): AsyncIterable<string> {
    const text = await readFile(this.#logFile(h), "utf8").catch(() => "");
    yield* splitLines(text);
  }

  /** Copies the pod's output into Slipway's folder as it is written, once per pod. */
  #capture(h: KubeHandle, pod: V1Pod): void {
    const uid = pod.metadata!.uid!;
    if (this.#captures.has(uid)) return;
    const copy = (async () => {
      await mkdir(this.#logDir, { recursive: true });
      const file = await open(this.#logFile(h), "w");
      try {
        for await (const line of this.#podLines(pod, true)) await file.write(`${line}\n`);
      } catch {
        // What was copied stays; the pod's own log is still read while the pod exists.
      } finally {
        await file.close();
      }
    })();
    this.#captures.set(uid, copy);
  }

  #podEnded(uid: string): boolean {
    const pod = this.#caches.pods.list().find((p) => p.metadata?.uid === uid);
    return !pod || exitOf(pod) !== undefined;
  }

  #logFile(h: KubeHandle): string {
    return path.join(this.#logDir, `${h.name}-${h.uid}.log`);
  }

  async remove(handle: RunHandle): Promise<void> {
    const h = own(handle);
    const job = this.#jobOf(h);
    if (job) {
      await this.#batch
        .deleteNamespacedJob({
          name: objectName(h.name),
          namespace: h.namespace,
          propagationPolicy: "Background",
          gracePeriodSeconds: 0,
        })
        .catch(ignoreGone);
      for (const pod of this.#caches.pods.list()) {
        if (ownerUid(pod) === h.uid) await this.#deletePod(pod, 0);
      }
      // Collected with its Job by the cluster; deleted here too, for a start cut short.
      await this.#core
        .deleteNamespacedSecret({ name: objectName(h.name), namespace: h.namespace })
        .catch(ignoreGone);
      const service = this.#caches.services.get(objectName(h.name));
      if (service?.metadata?.ownerReferences?.some((o) => o.uid === h.uid)) {
        await this.#core
          .deleteNamespacedService({ name: objectName(h.name), namespace: h.namespace })
          .catch(ignoreGone);
      }
      await this.#caches.jobs.until(() => (this.#jobOf(h) ? undefined : true));
      await this.#caches.pods.until(() =>
        this.#caches.pods.list().some((p) => ownerUid(p) === h.uid) ? undefined : true,
      );
    } else {
      // The handle may be of a Secret a start cut short left without its Job (see list).
      await this.#core
        .deleteNamespacedSecret({
          name: objectName(h.name),
          namespace: h.namespace,
          body: { preconditions: { uid: h.uid } },
        })
        .catch((error) => {
          // 409: that name is another's Secret (a later start's), or none of this handle's.
          if ((error as { code?: number }).code !== 409) ignoreGone(error);
        });
    }
    // A copy still running ends with its pod; its file is unlinked here, so nothing is left.
    const podUid = this.#lastPods.get(h.uid)?.metadata?.uid;
    if (podUid) this.#captures.delete(podUid);
    this.#lastPods.delete(h.uid);
    await rm(this.#logFile(h), { force: true });
  }

  /**
   * Whether the claim is the server's data folder: a short Job writes a marker through the claim
   * and the server reads it back from its own folder. Pods and server that see different
   * storage (a ReadWriteOnce claim on another node, a wrong DataDirPVCSubPath) fail every job,
   * so the answer says which settings must agree. Resolves with null when they agree.
   */
  async sharedVolumeProblem(): Promise<string | null> {
    const token = randomBytes(8).toString("hex");
    const subPath = path.join(".slipway-volume-check", token);
    const marker = path.join(KUBE_PATHS.data, subPath, "marker");
    const job: Job = {
      name: `volume-check-${token}`,
      kind: "run",
      image: this.#config.initImage,
      pullPolicy: null,
      argv: ["/bin/sh", "-c", `printf '%s' "$TOKEN" > '${marker}'`],
      env: { TOKEN: token },
      workingDir: "/",
      volumes: [{ kind: "data", subPath, readOnly: false }],
      runtime: false,
      ports: [],
      supervisor: null,
      resources: {},
      deadlineSeconds: 120,
      labels: { kind: "volume-check", "spec-hash": token },
    };
    const folder = path.join(this.#config.dataDir, subPath);
    let handle: RunHandle | undefined;
    try {
      handle = await this.start(job);
      const ended = await this.#caches.pods.until(() => {
        const pod = this.#podOf(own(handle!));
        const exit = pod && exitOf(pod);
        return exit ?? undefined;
      });
      const where = `${subPath} of the claim ${this.#config.dataClaim} (sub-path ${this.#config.dataClaimSubPath || "its root"})`;
      const hint = `the claim must be ReadWriteMany and mounted by the server at DataDir (${this.#config.dataDir}) with the same sub-path ([Kubernetes] DataDirPVCName, DataDirPVCSubPath)`;
      if (ended.exitCode !== 0) {
        const output: string[] = [];
        for await (const line of this.logs(handle)) output.push(line);
        // The server made that folder writable for the pod: a pod that cannot write there sees another.
        return `a pod could not write a marker to ${where} (exit code ${ended.exitCode}: ${output.join(" ") || ended.reason}), though the server made it writable in its data folder: ${hint}`;
      }
      const seen = await readFile(path.join(folder, "marker"), "utf8").catch(() => "");
      if (seen === token) return null;
      return `a pod wrote a marker to ${where}, but the server does not see it in its data folder: ${hint}`;
    } catch (error) {
      return `the check Job did not run: ${(error as Error).message}`;
    } finally {
      if (handle) await this.remove(handle);
      await rm(folder, { recursive: true, force: true });
    }
  }

  /**
   * The Jobs, and the Secrets that a start cut short between making the Secret and making its
   * Job left with no Job: nothing else would ever delete those (only a Job's own Secret is
   * collected with it), so they are listed as work for the restarted server to remove. A
   * Secret whose Job was made but not yet given it is given it here.
   */
  async list(): Promise<RunHandle[]> {
    const jobs = this.#caches.jobs.list();
    const byName = new Map(jobs.map((job) => [job.metadata!.name!, job]));
    const listed = await this.#core
      .listNamespacedSecret({
        namespace: this.namespace,
        labelSelector: instanceSelector(this.#config.instance),
      })
      .catch((error) => {
        // A Role from before the sweep may not list Secrets: the leftovers stay, the Jobs count.
        if ((error as ApiException<unknown>).code === 403) return { items: [] as V1Secret[] };
        throw error;
      });
    const stray: KubeHandle[] = [];
    for (const secret of listed.items) {
      if (secret.metadata?.ownerReferences?.length) continue;
      const job = byName.get(secret.metadata!.name!);
      if (job) await this.#giveSecret(secret.metadata!.name!, job).catch(ignoreGone);
      else stray.push(this.#handleOf(secret));
    }
    return [...jobs.map((job) => this.#handleOf(job)), ...stray];
  }

  /** Makes the Job the Secret's owner, so the cluster collects it with the Job (and its TTL). */
  async #giveSecret(name: string, job: V1Job): Promise<void> {
    await this.#core.patchNamespacedSecret({
      name,
      namespace: this.namespace,
      body: [{ op: "add", path: "/metadata/ownerReferences", value: [ownerOf(job)] }],
    });
  }

  /** The handle of a Job, or of the Secret a start cut short left without one. */
  #handleOf(object: V1Job | V1Secret): KubeHandle {
    return {
      version: 1,
      backend: "kubernetes",
      name: object.metadata?.annotations?.[JOB_NAME] ?? object.metadata!.name!,
      namespace: object.metadata!.namespace ?? this.namespace,
      uid: object.metadata!.uid!,
    };
  }

  #jobOf(h: KubeHandle): V1Job | undefined {
    const job = this.#caches.jobs.get(objectName(h.name));
    return job && job.metadata?.uid === h.uid ? job : undefined;
  }

  /** The Job's newest pod. */
  #podOf(h: KubeHandle): V1Pod | undefined {
    let newest: V1Pod | undefined;
    for (const pod of this.#caches.pods.list()) {
      if (ownerUid(pod) !== h.uid) continue;
      const at = (p: V1Pod) => new Date(p.metadata?.creationTimestamp ?? 0).getTime();
      if (!newest || at(pod) > at(newest)) newest = pod;
    }
    return newest;
  }

  #ended(job: V1Job): boolean {
    if (job.metadata?.annotations?.[STOPPED]) return true;
    return Boolean(
      job.status?.conditions?.some(
        (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
      ),
    );
  }

  #endpoints(h: KubeHandle): Record<string, { host: string; port: number }> {
    const service = this.#caches.services.get(objectName(h.name));
    const ip = service?.spec?.clusterIP;
    if (!service || !ip || ip === "None") return {};
    const endpoints: Record<string, { host: string; port: number }> = {};
    for (const port of service.spec?.ports ?? []) {
      if (port.name) endpoints[port.name] = { host: ip, port: port.port };
    }
    return endpoints;
  }

  /** Whether the Service has a ready endpoint: the proxy forwards only to those. */
  #serviceReady(h: KubeHandle): boolean {
    return this.#caches.slices
      .list()
      .some(
        (slice) =>
          slice.metadata?.labels?.["kubernetes.io/service-name"] === objectName(h.name) &&
          slice.endpoints?.some((e) => e.conditions?.ready === true),
      );
  }

  async #deletePod(pod: V1Pod, graceSeconds: number): Promise<void> {
    await this.#core
      .deleteNamespacedPod({
        name: pod.metadata!.name!,
        namespace: pod.metadata!.namespace!,
        gracePeriodSeconds: graceSeconds,
      })
      .catch(ignoreGone);
  }

  /** Patches the Job and waits until the cache has the change, so reads after it see it. */
  async #patchJob(h: KubeHandle, patch: object[]): Promise<void> {
    const job = this.#jobOf(h);
    const operations = job?.metadata?.annotations
      ? patch
      : [{ op: "add", path: "/metadata/annotations", value: {} }, ...patch];
    let patched: V1Job;
    try {
      patched = await this.#batch.patchNamespacedJob({
        name: objectName(h.name),
        namespace: h.namespace,
        body: operations,
      });
    } catch (error) {
      if (isGone(error)) return;
      throw error;
    }
    const version = Number(patched.metadata?.resourceVersion);
    await this.#caches.jobs.until(() => {
      const seen = this.#caches.jobs.get(objectName(h.name));
      if (!seen || seen.metadata?.uid !== h.uid) return true;
      return Number(seen.metadata?.resourceVersion) >= version ? true : undefined;
    });
  }
}

/** The Job as the owner of what is made for it, so the cluster collects the two together. */
function ownerOf(job: V1Job): V1OwnerReference {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    name: job.metadata!.name!,
    uid: job.metadata!.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

function ownerUid(pod: V1Pod): string | undefined {
  return pod.metadata?.ownerReferences?.find((o) => o.kind === "Job" && o.controller)?.uid;
}

function own(handle: RunHandle): KubeHandle {
  if (
    handle.backend !== "kubernetes" ||
    handle.version !== 1 ||
    typeof handle.uid !== "string" ||
    typeof handle.namespace !== "string"
  ) {
    throw new UnsupportedByBackend(
      "kubernetes",
      `use a ${handle.backend} handle of version ${handle.version}`,
    );
  }
  return handle as KubeHandle;
}

function escapePointer(key: string): string {
  return key.replaceAll("~", "~0").replaceAll("/", "~1");
}

function splitLines(text: string): string[] {
  if (!text) return [];
  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** The API server's own words from a failed call (its Status message). */
export function apiMessage(error: unknown): string {
  if (error instanceof ApiException) {
    const body = error.body as unknown;
    try {
      const status = (typeof body === "string" ? JSON.parse(body) : body) as { message?: string };
      if (status?.message) return `${status.message} (HTTP ${error.code})`;
    } catch {
      // Not a Status: the code says enough.
    }
    return `HTTP ${error.code}`;
  }
  return (error as Error).message;
}

function reachError(server: string, error: unknown): Error {
  return new Error(`Cannot reach the Kubernetes API at ${server}: ${apiMessage(error)}`, {
    cause: error,
  });
}

function isGone(error: unknown): boolean {
  const code = (error as { code?: number }).code;
  return code === 404 || code === 400;
}

function ignoreGone(error: unknown): void {
  if ((error as { code?: number }).code !== 404) throw error;
}
