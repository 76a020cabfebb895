/**
 * Where builds and runs happen. One small contract, like JupyterHub's Spawner, implemented by
 * each backend (local processes, Docker or Podman containers, Kubernetes Jobs); nothing outside
 * src/runners knows which backend is in use. Every case a backend meets is decided here, not
 * left to each backend: work that never started, work still starting, work already gone, and a
 * server that restarted while its work went on.
 *
 * A job never sees the server's filesystem. It names the volumes it mounts: sub-paths of the
 * data volume (bundles, package caches, rendered output), which appear under `paths.data`
 * inside every job of a backend, and, when it asks for them, Slipway's runtime components at
 * `paths.runtime`. It listens on the ports it declares, at the address and port numbers the
 * backend gives it in its environment, and the backend says where the server reaches it.
 */
import { StringDecoder } from "node:string_decoder";

/** A unit of work as plain data: what to run, from which image, with what. */
export interface Job {
  /**
   * Deterministic name from Slipway ids (content, bundle, a hash of the spec), so a repeated
   * start finds and adopts what the first one made instead of starting a second copy.
   */
  readonly name: string;
  readonly kind: JobKind;
  /** The environment's image; null runs on the host (only the local backend can). */
  readonly image: string | null;
  /** When to pull the image; null leaves it to the backend's default. */
  readonly pullPolicy: PullPolicy | null;
  /** The command as an argument vector; never a shell string. */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Working directory, as the job sees it. */
  readonly workingDir: string;
  readonly volumes: readonly Volume[];
  /** The job needs Slipway's runtime components (the Python launcher) at `paths.runtime`. */
  readonly runtime: boolean;
  /** Ports the command listens on; see `JobPort`. */
  readonly ports: readonly JobPort[];
  /** Absolute path of a program inside the image that wraps the command: `[supervisor, ...argv]`. */
  readonly supervisor: string | null;
  /** Resource requests and ceilings. A backend that cannot enforce one refuses the job at start. */
  readonly resources: Resources;
  /** Seconds the job may run before it is stopped as failed (renders); null for no limit. */
  readonly deadlineSeconds: number | null;
  /**
   * Labels (content guid, bundle id, spec hash) that backends attach to what they make. The
   * `spec-hash` label decides adoption: a start adopts running work of the same name only when
   * its spec hash is the same, and replaces it otherwise.
   */
  readonly labels: Readonly<Record<string, string>>;
  /**
   * Where on a cluster the job may run and as whom, from its environment. Backends that run
   * every job on one machine (local, Docker) have no choice to make and ignore it.
   */
  readonly placement?: Placement;
}

/** A cluster's scheduling and identity choices for a job, from its environment. */
export interface Placement {
  /** Node labels the node must carry. */
  readonly nodeSelector?: Readonly<Record<string, string>>;
  readonly tolerations?: readonly Toleration[];
  /** The account the job's pod runs as in the cluster (its API token, workload identity). */
  readonly serviceAccount?: string;
  /** Names of the registry credentials the job's image is pulled with. */
  readonly imagePullSecrets?: readonly string[];
}

/** An image to keep pulled, with what pulling it on the environment's nodes takes. */
export interface PrePull {
  readonly image: string;
  readonly pullSecrets?: readonly string[];
  readonly tolerations?: readonly Toleration[];
}

/** A Kubernetes toleration, in Kubernetes's own shape. */
export interface Toleration {
  readonly key?: string;
  readonly operator?: "Exists" | "Equal";
  readonly value?: string;
  readonly effect?: "NoSchedule" | "PreferNoSchedule" | "NoExecute";
  readonly tolerationSeconds?: number;
}

export type JobKind = "build" | "render" | "run";
export type PullPolicy = "always" | "if-not-present" | "never";

export type Volume =
  /** A sub-path of the data volume, seen at `<paths.data>/<subPath>` inside the job. */
  | { readonly kind: "data"; readonly subPath: string; readonly readOnly: boolean }
  /** A folder of the server's own host (an offline wheel folder); hosts-bound backends only. */
  | {
      readonly kind: "host";
      readonly path: string;
      readonly target: string;
      readonly readOnly: boolean;
    }
  /** An NFS export, from an environment's volume_mounts. */
  | {
      readonly kind: "nfs";
      readonly server: string;
      readonly path: string;
      readonly target: string;
      readonly readOnly: boolean;
    }
  /** A persistent volume claim (Kubernetes) or a named volume (Docker), from volume_mounts. */
  | {
      readonly kind: "claim";
      readonly claim: string;
      readonly target: string;
      readonly readOnly: boolean;
    };

/**
 * A port the command listens on. `port` is the number it uses where the job has a network of
 * its own (a container with a bridge, a pod); where jobs share the host's network (local
 * processes, host-networked containers) the backend picks a free port instead. Either way the
 * job learns where to listen from its environment: `SLIPWAY_HOST` is the address to bind and
 * `SLIPWAY_PORT_<NAME>` (the name upper-cased) the port.
 */
export interface JobPort {
  readonly name: string;
  readonly port: number;
}

export interface Resources {
  readonly memoryLimitBytes?: number;
  readonly memoryRequestBytes?: number;
  /** CPU as a number of cores, fractions allowed (0.5 = half a core). */
  readonly cpuLimit?: number;
  readonly cpuRequest?: number;
  readonly nvidiaGpus?: number;
  readonly amdGpus?: number;
}

export type ResourceName = keyof Resources;

/** Where a backend's jobs see their volumes. */
export interface JobPaths {
  /** Folder under which each mounted data sub-path appears, as `<data>/<subPath>`. */
  readonly data: string;
  /** Folder holding Slipway's runtime components, read-only, for jobs with `runtime`. */
  readonly runtime: string;
}

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/**
 * What a backend needs to find its work again: JSON the store keeps across restarts, read
 * back as it was written. `version` is the handle format of that backend; a backend refuses
 * (with UnsupportedByBackend) a handle of another backend or a version it does not know.
 */
export interface RunHandle {
  readonly version: number;
  readonly backend: string;
  readonly name: string;
  readonly [detail: string]: unknown;
}

export type RunState =
  | {
      readonly state: "running";
      /** True once the job accepts connections on its first port (always, without ports). */
      readonly ready: boolean;
      /** Where the server reaches each declared port, by name. */
      readonly endpoints: Readonly<Record<string, Endpoint>>;
    }
  | {
      readonly state: "exited";
      readonly exitCode: number | null;
      /** Why, when the backend knows more than the code ("OOMKilled", an image pull error). */
      readonly reason: string | null;
    };

export interface StartOptions {
  /** Receives progress lines (pulling, pulled, scheduled, started) while the job gets going. */
  readonly onProgress?: (line: string) => void;
  /** Told of each image pull the start waited for, once it ends, with how long it took. */
  readonly onPulled?: (pull: ImagePull) => void;
}

export interface ImagePull {
  readonly image: string;
  readonly seconds: number;
  readonly ok: boolean;
}

export interface Runner {
  /** The backend's name, as written in its handles ("local", "docker", "kubernetes"). */
  readonly backend: string;
  readonly paths: JobPaths;
  /** The resources this backend can enforce; a job asking for any other is refused. */
  readonly enforces: ReadonlySet<ResourceName>;
  /**
   * The account jobs run as, when it is not the server's own: the server gives it the folders
   * a job writes into (a build's cache folder, a render's output) before the job starts.
   */
  readonly user: { readonly uid: number; readonly gid: number } | null;
  /**
   * Starts the job and returns its handle without waiting for the command to get going (a
   * container backend may wait for its image). If work of the same name exists with the same
   * spec hash (started by this instance or an earlier one) and still runs, adopts it and
   * returns its handle instead of starting a second copy; work of that name with another spec
   * hash, or that has ended, is replaced. A job the backend cannot run as asked (a resource it
   * cannot enforce, a volume kind it cannot mount) is refused with UnsupportedByBackend before
   * anything starts; a job that cannot start at all (an image that cannot be pulled) is
   * refused with StartFailed carrying the engine's message. A command that cannot be executed
   * still yields a handle, whose work then reads as exited with a non-zero code.
   */
  start(job: Job, options?: StartOptions): Promise<RunHandle>;
  /**
   * "running" while the work runs, including while it is still starting (pulling, init step),
   * with whether it is ready and where it is reached. Otherwise "exited" with its exit code,
   * or null when the code cannot be known. Work that never started, was removed, or is
   * otherwise gone is "exited". A fresh backend instance given an old handle (after a server
   * restart) answers the same way.
   */
  poll(handle: RunHandle): Promise<RunState>;
  /**
   * Asks the work and everything it started to stop, forces it once `graceMs` has passed
   * (the backend's configured grace when omitted), and resolves once it is gone. Stopping work
   * that is still starting stops it too; stopping work that already exited, was removed or
   * never existed succeeds at once. Output and exit code stay until `remove`.
   */
  stop(handle: RunHandle, options?: { graceMs?: number }): Promise<void>;
  /**
   * The work's output lines (stdout and stderr interleaved) from the beginning. With `follow`,
   * keeps yielding new lines until the work has exited and all its output is read; a job still
   * starting simply has no lines yet. Yields nothing for work that never started or was removed.
   */
  logs(handle: RunHandle, options?: { follow?: boolean }): AsyncIterable<string>;
  /**
   * The same lines as `logs`, each marked with the stream it was written to. Each stream keeps
   * its order; how the two interleave is as close as the backend can tell. A backend whose
   * engine keeps only the merged stream (Kubernetes pod logs) has no `output`: see `outputOf`.
   */
  output?(handle: RunHandle, options?: { follow?: boolean }): AsyncIterable<OutputLine>;
  /**
   * Frees everything the work left behind (output, exit status, containers, volumes), killing
   * it at once if it still runs. Removing work that is gone or was removed already succeeds.
   */
  remove(handle: RunHandle): Promise<void>;
  /**
   * Handles of all work this installation of Slipway has made on the backend and not yet
   * removed, running or exited, whoever started it: a restarted server compares them with its
   * records to adopt what it knows and remove what it does not.
   */
  list(): Promise<RunHandle[]>;
  /**
   * Keeps these images pulled on every node ahead of need, replacing the last list given; an
   * empty list stops it. Backends that run on one machine, or are told not to, do nothing.
   */
  prePull?(images: readonly PrePull[]): Promise<void>;
  /** Lets go of what the backend holds open (watches); the work itself goes on. */
  close?(): Promise<void>;
}

export interface OutputLine {
  readonly source: "stdout" | "stderr";
  readonly text: string;
}

/** The work's output lines with their streams; all stdout where the backend cannot tell. */
export async function* outputOf(
  runner: Runner,
  handle: RunHandle,
  options: { follow?: boolean } = {},
): AsyncIterable<OutputLine> {
  if (runner.output) {
    yield* runner.output(handle, options);
    return;
  }
  for await (const text of runner.logs(handle, options)) yield { source: "stdout", text };
}

/** Just the text of each line, for `logs` over a backend's own `output`. */
export async function* textOf(lines: AsyncIterable<OutputLine>): AsyncIterable<string> {
  for await (const line of lines) yield line.text;
}

/**
 * Splits bytes of one stream into lines: `push` returns the lines a chunk completes (a
 * character split across chunks waits for its remaining bytes), `end` the unterminated rest.
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder("utf8");
  #rest = "";

  push(chunk: Buffer): string[] {
    const lines = (this.#rest + this.#decoder.write(chunk)).split("\n");
    this.#rest = lines.pop() ?? "";
    return lines;
  }

  end(): string[] {
    const rest = this.#rest + this.#decoder.end();
    this.#rest = "";
    return rest ? [rest] : [];
  }
}

/**
 * The one way a backend says "I cannot do this" (a feature, a resource, a foreign handle). An
 * internal error: the deploy pipeline turns it into an ApiError for the task it was running.
 */
export class UnsupportedByBackend extends Error {
  constructor(backend: string, what: string) {
    super(`The ${backend} runner cannot ${what}.`);
    this.name = "UnsupportedByBackend";
  }
}

/** A job that cannot start at all, with the engine's own words (a pull the registry refused). */
export class StartFailed extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StartFailed";
  }
}

/** The environment variable that tells a job which port to listen on for `port`. */
export function portVariable(port: Pick<JobPort, "name">): string {
  return `SLIPWAY_PORT_${port.name.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

export interface RunOutcome {
  exitCode: number | null;
  reason: string | null;
}
