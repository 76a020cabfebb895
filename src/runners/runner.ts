/**
 * Where builds and runs happen. One small contract, like JupyterHub's Spawner, implemented by
 * each backend (local processes now; Docker and Kubernetes next); nothing outside src/runners
 * knows which backend is in use. Every case a backend meets is decided here, not left to each
 * backend: work that never started, work still starting, work already gone, and a server that
 * restarted while its work went on.
 */

/** A unit of work as plain data: what to run, where, with what. */
export interface Job {
  /**
   * Deterministic name from Slipway ids (task, content, bundle), so a repeated start finds
   * and adopts what the first one made instead of starting a second copy.
   */
  readonly name: string;
  readonly kind: "build" | "run";
  /** The environment's image; the local backend runs on the host and does not use it. */
  readonly image: string | null;
  /** The command as an argument vector; never a shell string. */
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Working directory, as the job sees it. */
  readonly workingDir: string;
  /**
   * Host folders the job sees. Slipway gives every folder the same path inside a job as on the
   * host (`jobPath === hostPath`): virtual environments and libraries hold absolute paths, and
   * the local backend, which runs on the host itself, can honour nothing else.
   */
  readonly mounts: readonly Mount[];
  /** Absolute path of a program that wraps the command: `[supervisor, ...argv]`. */
  readonly supervisor: string | null;
  /**
   * Runs to completion before the command, with the same mounts, env and working directory;
   * when it fails the command does not run and its exit code is the job's. Container backends
   * run it from its own image (for example to copy Slipway's runtime into a shared mount).
   */
  readonly init?: InitStep | null;
  /**
   * Ports the command listens on (it learns them from `env`). Container backends publish
   * them; a local process listens on the host itself, at 127.0.0.1:<port>.
   */
  readonly ports?: readonly number[];
  /** Resource ceilings. A backend that cannot enforce one refuses the job at start. */
  readonly limits?: JobLimits;
  /** Free-form labels (task id, content guid, bundle id) that backends attach to what they make. */
  readonly labels: Readonly<Record<string, string>>;
}

export interface Mount {
  readonly hostPath: string;
  readonly jobPath: string;
  readonly readOnly: boolean;
}

export interface InitStep {
  /** Image the step runs from; null (or the local backend) runs it where the command runs. */
  readonly image: string | null;
  readonly argv: readonly string[];
}

export interface JobLimits {
  readonly memoryBytes?: number;
  /** CPU time as a number of cores, fractions allowed (0.5 = half a core). */
  readonly cpus?: number;
}

/**
 * What a backend needs to find its work again: JSON the store keeps across restarts, read
 * back as it was written. `version` is the handle format of that backend; a backend refuses
 * (with UnsupportedByBackend) a handle of another backend or a version it does not know.
 */
export interface RunHandle {
  readonly version: 1;
  readonly backend: string;
  readonly name: string;
  readonly [detail: string]: unknown;
}

export type RunState =
  | { readonly state: "running" }
  | { readonly state: "exited"; readonly exitCode: number | null };

export interface Runner {
  /** The backend's name, as written in its handles ("local", "docker", "kubernetes"). */
  readonly backend: string;
  /**
   * Starts the job and returns its handle without waiting for the command to get going.
   * If work of the same name is still running (started by this instance or an earlier one),
   * adopts it and returns its handle instead of starting a second copy. A job the backend
   * cannot run as asked (a limit it cannot enforce, a mount at another path) is refused with
   * UnsupportedByBackend before anything starts. A command that cannot be executed still
   * yields a handle, whose work then reads as exited with a non-zero code.
   */
  start(job: Job): Promise<RunHandle>;
  /**
   * "running" while the work runs, including while it is still starting (pulling, init step).
   * Otherwise "exited" with its exit code, or null when the code cannot be known. Work that
   * never started, was removed, or is otherwise gone is "exited". A fresh backend instance
   * given an old handle (after a server restart) answers the same way.
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
   * Frees everything the work left behind (output, exit status, containers), killing it at
   * once if it still runs. Removing work that is gone or was removed already succeeds.
   */
  remove(handle: RunHandle): Promise<void>;
}

/**
 * The one way a backend says "I cannot do this" (a feature, a limit, a foreign handle). An
 * internal error: the deploy pipeline turns it into an ApiError for the task it was running.
 */
export class UnsupportedByBackend extends Error {
  constructor(backend: string, what: string) {
    super(`The ${backend} runner cannot ${what}.`);
    this.name = "UnsupportedByBackend";
  }
}

/** Runs a job to its end, handing each output line to `onLine`; resolves with the exit code. */
export async function runToEnd(
  runner: Runner,
  job: Job,
  onLine: (line: string) => Promise<void> | void,
): Promise<number | null> {
  const handle = await runner.start(job);
  try {
    for await (const line of runner.logs(handle, { follow: true })) await onLine(line);
    const state = await runner.poll(handle);
    return state.state === "exited" ? state.exitCode : null;
  } finally {
    await runner.remove(handle);
  }
}
