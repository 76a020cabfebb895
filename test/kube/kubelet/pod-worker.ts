/**
 * One pod on the node, made real through the Docker engine: its volumes, its init containers
 * in order, then its containers side by side, each with image pulls, environment, security
 * context, limits, readiness probes and restarts by the pod's restartPolicy. Every state it
 * reports comes from the engine (exit codes, OOM kills, start and finish times).
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { V1Container } from "@kubernetes/client-node";
import type Docker from "dockerode";
import type { EventRecorder } from "../events.js";
import { resource } from "../resources.js";
import type { Store } from "../store.js";
import type { ContainerState, ContainerStatus, KubeObject, Pod } from "../types.js";
import { now } from "../types.js";
import { containerCreateOptions } from "./container-config.js";
import { ContainerConfigError, containerEnv, type EnvSources } from "./container-env.js";
import { ensureImage, NeverPullError, present } from "./images.js";
import { tail } from "./logs.js";
import { computeStatus, type ObservedPod } from "./pod-status.js";
import { runProbe, startReadinessProber } from "./probes.js";
import {
  bindsFor,
  MountError,
  prepareVolumes,
  refreshProjected,
  type VolumeSources,
} from "./volumes.js";

export interface WorkerContext {
  docker: Docker;
  store: Store;
  events: EventRecorder;
  envSources: EnvSources;
  volumeSources: VolumeSources;
  /** Folder under which the pod gets its own folder (volumes, termination messages). */
  dataDir: string;
  nodeName: string;
  instance: string;
  backoffBaseMs: number;
  backoffMaxMs: number;
}

interface Exit {
  exitCode: number;
  reason: string;
  message?: string;
  startedAt: string;
  finishedAt: string;
  signal?: number;
}

export class PodWorker {
  readonly uid: string;
  readonly dir: string;
  /** Container name → engine ids of its runs, oldest first (the last is the current one). */
  readonly runs = new Map<string, string[]>();
  #pod: Pod;
  #observed: ObservedPod;
  #stopping = false;
  #wake = new AbortController();
  done: Promise<void> = Promise.resolve();

  constructor(
    pod: Pod,
    readonly podIP: string,
    readonly ctx: WorkerContext,
  ) {
    this.#pod = pod;
    this.uid = pod.metadata.uid!;
    this.dir = path.join(ctx.dataDir, "pods", this.uid);
    const waiting = (c: V1Container, reason: string): ContainerStatus => ({
      name: c.name,
      state: { waiting: { reason } },
      lastState: {},
      ready: false,
      restartCount: 0,
      image: c.image!,
      imageID: "",
      started: false,
    });
    const hasInit = (pod.spec.initContainers ?? []).length > 0;
    this.#observed = {
      pod,
      podIP,
      startTime: now(),
      init: (pod.spec.initContainers ?? []).map((c) => waiting(c, "PodInitializing")),
      main: pod.spec.containers.map((c) =>
        waiting(c, hasInit ? "PodInitializing" : "ContainerCreating"),
      ),
      volumesReady: false,
      initDone: !hasInit,
      finished: new Set(),
      initFailed: false,
    };
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  start(): void {
    this.done = this.#run().catch((error) => {
      if (!this.#stopping)
        console.error(`stand-in kubelet: pod ${this.#name()}: ${(error as Error).stack}`);
    });
  }

  async #run(): Promise<void> {
    this.#publish();
    const folders = await this.#volumes();
    if (!folders) return;
    this.#observed.volumesReady = true;
    this.#publish();
    for (const [i, c] of (this.#pod.spec.initContainers ?? []).entries()) {
      const ok = await this.#runContainer(c, this.#observed.init, i, true, folders);
      if (!ok) return;
    }
    this.#observed.initDone = true;
    this.#publish();
    await Promise.all(
      this.#pod.spec.containers.map((c, i) =>
        this.#runContainer(c, this.#observed.main, i, false, folders),
      ),
    );
  }

  /** A ConfigMap or Secret changed: its folders in this pod, once made, are rewritten. */
  async refreshVolumes(changed: Parameters<typeof refreshProjected>[3]): Promise<void> {
    if (!this.#observed.volumesReady || this.#stopping) return;
    await refreshProjected(this.#pod, this.dir, this.ctx.volumeSources, changed).catch((error) =>
      console.error(`stand-in kubelet: pod ${this.#name()}: ${(error as Error).message}`),
    );
  }

  async #volumes(): Promise<Map<string, string> | undefined> {
    let delay = this.ctx.backoffBaseMs;
    while (!this.#stopping) {
      try {
        await mkdir(path.join(this.dir, "termination"), { recursive: true });
        return await prepareVolumes(this.#pod, this.dir, this.ctx.volumeSources);
      } catch (error) {
        if (!(error instanceof MountError)) throw error;
        this.#event("Warning", "FailedMount", error.message);
        await this.#sleep(delay);
        delay = Math.min(delay * 2, this.ctx.backoffMaxMs);
      }
    }
    return undefined;
  }

  /** Runs one container until it will not run again; false when the pod cannot go on (init failed, stopping). */
  async #runContainer(
    c: V1Container,
    list: ContainerStatus[],
    index: number,
    init: boolean,
    folders: Map<string, string>,
  ): Promise<boolean> {
    const policy = this.#pod.spec.restartPolicy ?? "Always";
    let backoff = this.ctx.backoffBaseMs;
    while (!this.#stopping) {
      const id = await this.#startContainer(c, list, index, folders);
      if (!id) return false;
      let exit: Exit;
      let engineId: string | undefined;
      if (typeof id === "object") exit = id;
      else {
        engineId = id;
        const stopProbe = init ? () => undefined : this.#probe(c, list, index, id);
        exit = await this.#wait(id, c);
        stopProbe();
      }
      const restart = policy === "Always" || (policy === "OnFailure" && exit.exitCode !== 0);
      const done = init ? exit.exitCode === 0 : !restart;
      // Decided before publishing, so the pod's phase changes in the same write as the state.
      if (done && !init && !this.#stopping) this.#observed.finished.add(c.name);
      if (init && !done && policy === "Never" && !this.#stopping) this.#observed.initFailed = true;
      this.#terminated(list, index, exit, engineId);
      if (this.#stopping) return false;
      if (done) return true;
      if (init && policy === "Never") return false;

      const status = list[index]!;
      status.lastState = status.state;
      status.state = {
        waiting: {
          reason: "CrashLoopBackOff",
          message: `back-off ${Math.round(backoff / 1000)}s restarting failed container=${c.name} pod=${this.#pod.metadata.name}_${this.#pod.metadata.namespace}(${this.uid})`,
        },
      };
      this.#publish();
      this.#event(
        "Warning",
        "BackOff",
        `Back-off restarting failed container ${c.name} in pod ${this.#pod.metadata.name}_${this.#pod.metadata.namespace}(${this.uid})`,
        c,
        init,
      );
      await this.#sleep(backoff);
      backoff = Math.min(backoff * 2, this.ctx.backoffMaxMs);
      status.restartCount++;
    }
    return false;
  }

  /** Pulls, configures, creates and starts; an engine id, an Exit for a start error, or undefined when stopping. */
  async #startContainer(
    c: V1Container,
    list: ContainerStatus[],
    index: number,
    folders: Map<string, string>,
  ): Promise<string | Exit | undefined> {
    const image = c.image!;
    let delay = this.ctx.backoffBaseMs;
    const retry = async () => {
      await this.#sleep(delay);
      delay = Math.min(delay * 2, this.ctx.backoffMaxMs);
    };
    const waitingAs = (reason: string, message?: string) => {
      const s = list[index]!;
      if (
        "waiting" in s.state &&
        s.state.waiting.reason === reason &&
        s.state.waiting.message === message
      )
        return;
      s.state = { waiting: { reason, ...(message ? { message } : {}) } };
      this.#publish();
    };
    while (!this.#stopping) {
      const policy = c.imagePullPolicy ?? "IfNotPresent";
      const had = await present(this.ctx.docker, image);
      if (policy === "Always" || (!had && policy === "IfNotPresent"))
        this.#event("Normal", "Pulling", `Pulling image "${image}"`, c);
      try {
        const result = await ensureImage(this.ctx.docker, image, policy, this.#pullSecrets());
        if (this.#stopping) return undefined;
        if (result.pulled) {
          const s = (result.ms / 1000).toFixed(3);
          this.#event(
            "Normal",
            "Pulled",
            `Successfully pulled image "${image}" in ${s}s (${s}s including waiting). Image size: ${result.size} bytes.`,
            c,
          );
        } else
          this.#event(
            "Normal",
            "Pulled",
            `Container image "${image}" already present on machine`,
            c,
          );
      } catch (error) {
        if (this.#stopping) return undefined;
        const message = (error as Error).message;
        if (error instanceof NeverPullError) {
          waitingAs("ErrImageNeverPull", message);
          this.#event("Warning", "ErrImageNeverPull", message, c);
          this.#event("Warning", "Failed", "Error: ErrImageNeverPull", c);
          await retry();
          continue;
        }
        waitingAs("ErrImagePull", message);
        this.#event("Warning", "Failed", `Failed to pull image "${image}": ${message}`, c);
        this.#event("Warning", "Failed", "Error: ErrImagePull", c);
        await this.#sleep(Math.min(1000, delay));
        waitingAs(
          "ImagePullBackOff",
          `Back-off pulling image "${image}": ErrImagePull: ${message}`,
        );
        this.#event("Normal", "BackOff", `Back-off pulling image "${image}"`, c);
        this.#event("Warning", "Failed", "Error: ImagePullBackOff", c);
        await retry();
        continue;
      }
      let options: Docker.ContainerCreateOptions;
      try {
        options = await this.#createOptions(c, folders);
      } catch (error) {
        if (!(error instanceof ContainerConfigError)) throw error;
        waitingAs("CreateContainerConfigError", error.message);
        this.#event("Warning", "Failed", `Error: ${error.message}`, c);
        await retry();
        continue;
      }
      if (this.#stopping) return undefined;
      const container = await this.ctx.docker.createContainer(options);
      this.runs.set(c.name, [...(this.runs.get(c.name) ?? []), container.id]);
      this.#event("Normal", "Created", `Created container: ${c.name}`, c);
      const startedAt = now();
      try {
        await container.start();
      } catch (error) {
        const message = (
          (error as { json?: { message?: string } }).json?.message ?? (error as Error).message
        ).trim();
        this.#event("Warning", "Failed", `Error: ${message}`, c);
        return {
          exitCode: 128,
          reason: "StartError",
          message,
          startedAt: "1970-01-01T00:00:00Z",
          finishedAt: now(),
        };
      }
      this.#event("Normal", "Started", `Started container ${c.name}`, c);
      const info = await container.inspect();
      const s = list[index]!;
      s.state = { running: { startedAt: seconds(info.State.StartedAt) ?? startedAt } };
      s.containerID = `docker://${container.id}`;
      s.imageID = `docker-pullable://${info.Image}`;
      s.started = true;
      s.ready = list === this.#observed.main && !c.readinessProbe;
      this.#publish();
      return container.id;
    }
    return undefined;
  }

  async #createOptions(
    c: V1Container,
    folders: Map<string, string>,
  ): Promise<Docker.ContainerCreateOptions> {
    const run = this.runs.get(c.name)?.length ?? 0;
    const env = containerEnv(this.#currentPod(), c, this.ctx.envSources);
    const imageUser = (await present(this.ctx.docker, c.image!))?.user ?? "";
    const termination = path.join(this.dir, "termination", `${c.name}-${run}`);
    await writeFile(termination, "");
    const binds = [
      ...(await bindsFor(c, folders)),
      `${termination}:${c.terminationMessagePath ?? "/dev/termination-log"}`,
    ];
    return containerCreateOptions({
      pod: this.#pod,
      container: c,
      env,
      imageUser,
      binds,
      run,
      instance: this.ctx.instance,
    });
  }

  async #wait(id: string, c: V1Container): Promise<Exit> {
    const container = this.ctx.docker.getContainer(id);
    await container.wait();
    const info = await container.inspect();
    const exitCode = info.State.ExitCode;
    const reason = info.State.OOMKilled ? "OOMKilled" : exitCode === 0 ? "Completed" : "Error";
    let message = (
      await readFile(
        path.join(this.dir, "termination", `${c.name}-${(this.runs.get(c.name)?.length ?? 1) - 1}`),
        "utf8",
      ).catch(() => "")
    ).slice(0, 4096);
    if (!message && exitCode !== 0 && c.terminationMessagePolicy === "FallbackToLogsOnError")
      message = await tail(this.ctx.docker, id).catch(() => "");
    return {
      exitCode,
      reason,
      ...(message ? { message } : {}),
      startedAt: seconds(info.State.StartedAt)!,
      finishedAt: seconds(info.State.FinishedAt) ?? now(),
      ...(exitCode > 128 ? { signal: exitCode - 128 } : {}),
    };
  }

  #terminated(list: ContainerStatus[], index: number, exit: Exit, id: string | undefined): void {
    const s = list[index]!;
    const terminated: ContainerState = {
      terminated: {
        exitCode: exit.exitCode,
        ...(exit.signal ? { signal: exit.signal } : {}),
        reason: exit.reason,
        ...(exit.message ? { message: exit.message } : {}),
        startedAt: exit.startedAt,
        finishedAt: exit.finishedAt,
        ...(id ? { containerID: `docker://${id}` } : {}),
      },
    };
    s.state = terminated;
    s.ready = false;
    s.started = false;
    this.#publish();
  }

  /** Runs the readiness probe on its period; returns a function that stops it. */
  #probe(c: V1Container, list: ContainerStatus[], index: number, id: string): () => void {
    if (!c.readinessProbe) return () => undefined;
    return startReadinessProber(c.readinessProbe, {
      check: () => runProbe(c.readinessProbe!, c, this.podIP, this.ctx.docker, id),
      ready: (ready) => {
        list[index]!.ready = ready;
        this.#publish();
      },
      failed: () => this.#event("Warning", "Unhealthy", "Readiness probe failed", c),
    });
  }

  /** Stops the containers (SIGTERM, then SIGKILL after the grace period) and stops restarting them. */
  async stop(graceSeconds: number, reason?: string): Promise<void> {
    const wasStopping = this.#stopping;
    this.#stopping = true;
    this.#wake.abort();
    if (reason) this.#observed.evicted = reason;
    if (wasStopping && !reason) return this.done;
    const running = [...this.runs.entries()].filter(([, ids]) => ids.length);
    await Promise.all(
      running.map(async ([name, ids]) => {
        const container = this.ctx.docker.getContainer(ids[ids.length - 1]!);
        const info = await container.inspect().catch(() => undefined);
        if (!info?.State.Running) return;
        const spec = [...(this.#pod.spec.initContainers ?? []), ...this.#pod.spec.containers].find(
          (c) => c.name === name,
        );
        this.#event("Normal", "Killing", `Stopping container ${name}`, spec);
        await container.stop({ t: graceSeconds }).catch(() => undefined);
      }),
    );
    await this.done;
    if (reason) this.#publish();
  }

  /** Removes the pod's containers and folders (after stop). */
  async cleanup(): Promise<void> {
    for (const ids of this.runs.values())
      for (const id of ids)
        await this.ctx.docker
          .getContainer(id)
          .remove({ force: true })
          .catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
  }

  update(pod: Pod): void {
    this.#pod = { ...pod, spec: this.#pod.spec };
  }

  #currentPod(): Pod {
    const stored = this.ctx.store.get(
      resource("pods"),
      this.#pod.metadata.namespace,
      this.#pod.metadata.name!,
    ) as Pod | undefined;
    return stored ?? this.#pod;
  }

  #publish(): void {
    const pods = resource("pods");
    this.ctx.store.mutate(pods, this.#pod.metadata.namespace, this.#pod.metadata.name!, (o) => {
      const pod = o as Pod;
      if (pod.metadata.uid !== this.uid) return false;
      this.#observed.pod = pod;
      pod.status = computeStatus(this.#observed, pod.status);
      return true;
    });
  }

  #pullSecrets(): KubeObject[] {
    return (this.#pod.spec.imagePullSecrets ?? [])
      .map((r) => this.ctx.store.get(resource("secrets"), this.#pod.metadata.namespace, r.name!))
      .filter((s): s is KubeObject => Boolean(s));
  }

  #event(
    type: "Normal" | "Warning",
    reason: string,
    message: string,
    c?: V1Container,
    init?: boolean,
  ): void {
    const isInit = init ?? (this.#pod.spec.initContainers ?? []).some((i) => i === c);
    const fieldPath = c ? `spec.${isInit ? "initContainers" : "containers"}{${c.name}}` : undefined;
    this.ctx.events.record(this.#currentPod(), type, reason, message, "kubelet", fieldPath);
  }

  #sleep(ms: number): Promise<void> {
    if (this.#stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#wake.signal.removeEventListener("abort", wake);
        resolve();
      }, ms);
      this.#wake.signal.addEventListener("abort", wake, { once: true });
    });
  }

  #name(): string {
    return `${this.#pod.metadata.namespace}/${this.#pod.metadata.name}`;
  }
}

function seconds(timestamp: string | undefined): string | undefined {
  if (!timestamp || timestamp.startsWith("0001")) return undefined;
  return timestamp.replace(/\.\d+Z$/, "Z");
}
