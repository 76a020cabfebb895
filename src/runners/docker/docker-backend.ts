/**
 * Runs jobs as containers of a Docker engine, or of Podman through its Docker-compatible API:
 * each job is one container named after it and labelled with the installation, the content,
 * the bundle and the spec hash, created from the environment's image with the job's volumes
 * bound from the data folder, as a non-root user with every capability dropped. A job that asks
 * for the runtime components gets a volume of its own, filled by the content-init image first.
 */
import { chown, mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import Docker from "dockerode";
import { accepts, freePort } from "../ports.js";
import {
  type Job,
  type JobPaths,
  type OutputLine,
  type ResourceName,
  type RunHandle,
  type Runner,
  type RunState,
  StartFailed,
  type StartOptions,
  textOf,
  UnsupportedByBackend,
} from "../runner.js";
import { DOCKER_DEFAULTS, DOCKER_PATHS, type DockerConfig, LABEL } from "./docker-config.js";
import { demuxedLines, followedLines } from "./docker-logs.js";
import { containerSpecs } from "./docker-manifest.js";
import { pullImage } from "./docker-pull.js";

export interface DockerHandle extends RunHandle {
  readonly backend: "docker";
  readonly id: string;
  readonly volume: string | null;
  /** With host networking, the host ports the job listens on, by name. */
  readonly hostPorts: Readonly<Record<string, number>>;
}

interface Engine {
  docker: Docker;
  network: "bridge" | "host";
  nvidia: boolean;
  /** "Docker 28.2.2" or "Podman 4.3.1", for messages. */
  name: string;
}

export class DockerRunner implements Runner {
  readonly backend = "docker";
  readonly paths: JobPaths = DOCKER_PATHS;
  readonly enforces: ReadonlySet<ResourceName>;
  readonly user: { readonly uid: number; readonly gid: number };
  readonly #config: Required<DockerConfig>;
  readonly #engine: Engine;

  private constructor(config: Required<DockerConfig>, engine: Engine) {
    this.#config = config;
    this.#engine = engine;
    this.user = config.user;
    const enforces: ResourceName[] = [
      "memoryLimitBytes",
      "memoryRequestBytes",
      "cpuLimit",
      "cpuRequest",
    ];
    if (engine.nvidia) enforces.push("nvidiaGpus");
    this.enforces = new Set(enforces);
  }

  /** Connects to the engine and learns what it offers; an unreachable engine is a clear error. */
  static async connect(config: DockerConfig): Promise<DockerRunner> {
    const full = { ...DOCKER_DEFAULTS, ...config } as Required<DockerConfig>;
    const docker = new Docker(engineAddress(full.host));
    let info: { ServerVersion?: string; Runtimes?: Record<string, unknown> };
    let version: { Components?: { Name?: string }[] };
    try {
      [info, version] = await Promise.all([docker.info(), docker.version()]);
    } catch (error) {
      throw new Error(
        `Cannot reach the container engine at ${full.host} ([Docker] Host): ${(error as Error).message}`,
        { cause: error },
      );
    }
    const podman = (version.Components ?? []).some((c) => /podman/i.test(c.Name ?? ""));
    const networks = await docker.listNetworks();
    const bridge = networks.some((n) => n.Name === (podman ? "podman" : "bridge"));
    const network = full.network === "auto" ? (bridge ? "bridge" : "host") : full.network;
    return new DockerRunner(full, {
      docker,
      network,
      nvidia: Boolean(info.Runtimes && "nvidia" in info.Runtimes),
      name: `${podman ? "Podman" : "Docker"} ${info.ServerVersion ?? ""}`.trim(),
    });
  }

  /** How the engine and its network were found, for the start-up log. */
  get description(): string {
    const how =
      this.#engine.network === "host"
        ? "host networking (the engine has no bridge network)"
        : "a bridge network, ports published on 127.0.0.1";
    return `${this.#engine.name} at ${this.#config.host}, ${how}`;
  }

  async start(job: Job, options: StartOptions = {}): Promise<RunHandle> {
    const { docker } = this.#engine;
    const existing = await this.#inspect(job.name);
    if (existing) {
      const sameSpec = existing.Config.Labels?.[`${LABEL}.spec-hash`] === job.labels["spec-hash"];
      if (existing.State.Running && sameSpec) return handleOf(existing);
      await this.remove(handleOf(existing));
    }
    // As a kubelet makes a missing subPath; one the job writes to is handed to its account.
    for (const volume of job.volumes) {
      if (volume.kind !== "data") continue;
      const folder = path.join(this.#config.dataDir, volume.subPath);
      const made = await mkdir(folder, { recursive: true });
      if (made && !volume.readOnly) await chown(folder, this.user.uid, this.user.gid);
    }
    const hostPorts: Record<string, number> = {};
    if (this.#engine.network === "host") {
      for (const port of job.ports) hostPorts[port.name] = await freePort();
    }
    const runtimeVolume = job.runtime ? `${job.name}-runtime` : null;
    const specs = containerSpecs(job, {
      dataDir: this.#config.dataDir,
      instance: this.#config.instance,
      initImage: this.#config.initImage,
      network: this.#engine.network,
      user: this.#config.user,
      hostPorts,
      runtimeVolume,
      nvidia: this.#engine.nvidia,
    });
    const progress = options.onProgress ?? (() => {});
    await pullImage(docker, specs.main.Image!, job.pullPolicy ?? this.#config.pullPolicy, {
      registryConfig: await this.#registryConfig(),
      onProgress: progress,
      onPulled: options.onPulled,
    });
    if (specs.init) {
      await pullImage(docker, specs.init.Image!, "if-not-present", {
        registryConfig: await this.#registryConfig(),
        onProgress: progress,
        onPulled: options.onPulled,
      });
      await docker.createVolume({ Name: runtimeVolume!, Labels: specs.main.Labels });
      await this.#runInit(specs.init, progress);
    }
    const container = await docker.createContainer(specs.main).catch((error: Error) => {
      throw new StartFailed(`The container engine refused the job: ${engineMessage(error)}`);
    });
    await container.start().catch((error: Error) => {
      // The container stays, exited, so its handle reads as a command that could not start.
      const missing = job.supervisor && engineMessage(error).includes(job.supervisor);
      progress(
        missing
          ? `The supervisor ${job.supervisor} is not in the image ${job.image}: ${engineMessage(error)}`
          : `The container did not start: ${engineMessage(error)}`,
      );
    });
    progress(`Started container ${job.name} from ${job.image}`);
    return {
      version: 1,
      backend: "docker",
      name: job.name,
      id: container.id,
      volume: runtimeVolume,
      hostPorts,
    } satisfies DockerHandle;
  }

  async poll(handle: RunHandle): Promise<RunState> {
    const h = own(handle);
    const found = await this.#inspect(h.id);
    if (!found) return { state: "exited", exitCode: null, reason: null };
    if (found.State.Running) {
      const endpoints = this.#endpoints(h, found);
      const first = Object.values(endpoints)[0];
      const ready = first === undefined || (await accepts(first.host, first.port));
      return { state: "running", ready, endpoints };
    }
    if (found.State.Status === "created" && !found.State.Error) {
      return { state: "running", ready: false, endpoints: {} };
    }
    const reason = found.State.OOMKilled
      ? "OOMKilled: the process used more memory than its limit (memory_limit)"
      : found.State.Error || null;
    return { state: "exited", exitCode: found.State.ExitCode ?? null, reason };
  }

  async stop(handle: RunHandle, options: { graceMs?: number } = {}): Promise<void> {
    const h = own(handle);
    const grace = Math.ceil((options.graceMs ?? this.#config.stopGraceMs) / 1000);
    await this.#engine.docker.getContainer(h.id).stop({ t: grace }).catch(ignoreGone);
  }

  logs(handle: RunHandle, options: { follow?: boolean } = {}): AsyncIterable<string> {
    return textOf(this.output(handle, options));
  }

  async *output(handle: RunHandle, options: { follow?: boolean } = {}): AsyncIterable<OutputLine> {
    const container = this.#engine.docker.getContainer(own(handle).id);
    const whole = () => wholeOutput(container);
    try {
      if (!options.follow) {
        yield* demuxedLines(await whole());
        return;
      }
      const stream = (await container.logs({
        follow: true,
        stdout: true,
        stderr: true,
      })) as Readable;
      yield* followedLines({
        stream,
        exited: (signal) => container.wait({ abortSignal: signal }),
        whole,
      });
    } catch (error) {
      if (isGone(error)) return;
      throw error;
    }
  }

  async remove(handle: RunHandle): Promise<void> {
    const h = own(handle);
    const { docker } = this.#engine;
    await removeSettled(docker.getContainer(h.id));
    if (h.volume) await docker.getVolume(h.volume).remove().catch(ignoreGone);
  }

  async list(): Promise<RunHandle[]> {
    const containers = await this.#engine.docker.listContainers({
      all: true,
      filters: { label: [`${LABEL}.instance=${this.#config.instance}`] },
    });
    const handles: RunHandle[] = [];
    for (const summary of containers) {
      const found = await this.#inspect(summary.Id);
      if (found && found.Config.Labels?.[`${LABEL}.kind`] !== "init") handles.push(handleOf(found));
    }
    return handles;
  }

  async #runInit(
    spec: Docker.ContainerCreateOptions & { name: string },
    progress: (line: string) => void,
  ): Promise<void> {
    const { docker } = this.#engine;
    await removeSettled(docker.getContainer(spec.name));
    const init = await docker.createContainer(spec);
    try {
      await init.start();
      const { StatusCode } = (await init.wait()) as { StatusCode: number };
      if (StatusCode !== 0) {
        const output: string[] = [];
        for await (const line of demuxedLines(await wholeOutput(init))) output.push(line.text);
        throw new StartFailed(
          `The content-init image ${spec.Image} exited with code ${StatusCode}: ${output.join(" ")}`,
        );
      }
      progress(`Copied the runtime components from ${spec.Image}`);
    } finally {
      await removeSettled(init);
    }
  }

  #endpoints(h: DockerHandle, found: Docker.ContainerInspectInfo) {
    const endpoints: Record<string, { host: string; port: number }> = {};
    for (const [name, port] of Object.entries(h.hostPorts)) {
      endpoints[name] = { host: "127.0.0.1", port };
    }
    const published = found.NetworkSettings.Ports ?? {};
    for (const [key, bindings] of Object.entries(published)) {
      const name = portName(found, key);
      const binding = bindings?.[0];
      if (name && binding) endpoints[name] = { host: "127.0.0.1", port: Number(binding.HostPort) };
    }
    return endpoints;
  }

  async #inspect(idOrName: string): Promise<Docker.ContainerInspectInfo | undefined> {
    try {
      return await this.#engine.docker.getContainer(idOrName).inspect();
    } catch (error) {
      if (isGone(error)) return undefined;
      throw new Error(
        `The container engine at ${this.#config.host} did not answer: ${engineMessage(error as Error)}`,
        { cause: error },
      );
    }
  }

  async #registryConfig(): Promise<unknown> {
    const file = this.#config.registryConfig;
    if (!file) return null;
    try {
      return JSON.parse(await readFile(file, "utf8"));
    } catch (error) {
      throw new StartFailed(
        `Cannot read the registry credentials in ${file} ([Docker] RegistryConfig): ${(error as Error).message}`,
      );
    }
  }
}

function own(handle: RunHandle): DockerHandle {
  if (handle.backend !== "docker" || handle.version !== 1 || typeof handle.id !== "string") {
    throw new UnsupportedByBackend(
      "docker",
      `use a ${handle.backend} handle of version ${handle.version}`,
    );
  }
  return handle as DockerHandle;
}

function handleOf(found: Docker.ContainerInspectInfo): DockerHandle {
  const env = new Map(
    (found.Config.Env ?? []).map((entry) => {
      const at = entry.indexOf("=");
      return [entry.slice(0, at), entry.slice(at + 1)] as const;
    }),
  );
  const hostPorts: Record<string, number> = {};
  if (found.HostConfig.NetworkMode === "host") {
    for (const [key, value] of env) {
      if (key.startsWith("SLIPWAY_PORT_")) hostPorts[key.slice(13).toLowerCase()] = Number(value);
    }
  }
  const volume =
    (found.Mounts ?? []).find((m) => m.Destination === DOCKER_PATHS.runtime)?.Name ?? null;
  return {
    version: 1,
    backend: "docker",
    name: found.Config.Labels?.[`${LABEL}.job`] ?? found.Name.replace(/^\//, ""),
    id: found.Id,
    volume,
    hostPorts,
  } satisfies DockerHandle;
}

/** The name of a published container port: the job's port variable that holds its number. */
function portName(found: Docker.ContainerInspectInfo, key: string): string | undefined {
  const number = key.split("/")[0];
  for (const entry of found.Config.Env ?? []) {
    const match = /^SLIPWAY_PORT_([A-Z0-9_]+)=(\d+)$/.exec(entry);
    if (match && match[2] === number) return match[1]!.toLowerCase();
  }
  return undefined;
}

function engineAddress(host: string): Docker.DockerOptions {
  if (host.startsWith("/") || host.startsWith("unix://")) {
    return { socketPath: host.replace(/^unix:\/\//, "") };
  }
  const url = new URL(host);
  return {
    protocol: url.protocol === "https:" ? "https" : "http",
    host: url.hostname,
    port: Number(url.port || (url.protocol === "https:" ? 443 : 2375)),
  };
}

function isGone(error: unknown): boolean {
  const status = (error as { statusCode?: number }).statusCode;
  return status === 404 || status === 409 || status === 304;
}

function ignoreGone(error: unknown): void {
  if (!isGone(error)) throw error;
}

/**
 * Force-removes a container, waiting out Podman's brief "stopped" state: a container whose
 * process has just exited but whose cleanup has not finished refuses removal with "container
 * state improper" for a moment, though a retry once it settles succeeds.
 */
async function removeSettled(container: Docker.Container): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      await container.remove({ force: true, v: true });
      return;
    } catch (error) {
      if (isGone(error)) return;
      const transient = engineMessage(error as Error).includes("container state improper");
      if (!transient || attempt >= 20) throw error;
      await delay(Math.min(50 * 2 ** attempt, 1000));
    }
  }
}

/** A container's output so far, both streams, framed as the engine sends it. */
async function wholeOutput(container: Docker.Container): Promise<Readable> {
  return Readable.from([await container.logs({ follow: false, stdout: true, stderr: true })]);
}

/** The engine's own words from a failed call. */
export function engineMessage(error: Error): string {
  const json = (error as { json?: { message?: string } }).json;
  return (json?.message ?? error.message).trim();
}
