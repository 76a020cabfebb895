/**
 * Where builds and runs happen. One small contract, implemented by each backend (local
 * processes now; Docker and Kubernetes next); nothing outside src/runners knows which backend
 * is in use. Every case a backend meets is decided here, not left to each backend.
 */

/** A unit of work as plain data: what to run, where, with what. */
export interface Job {
  /** Deterministic name from Slipway ids, so a repeated start finds what the first made. */
  readonly name: string;
  readonly kind: "build" | "run";
  /** The environment's image; the local backend runs on the host and ignores it. */
  readonly image: string | null;
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Working directory, as seen by the job. */
  readonly workingDir: string;
  /** Host folders the job sees; the local backend sees the host, so they must coincide. */
  readonly mounts: readonly { hostPath: string; jobPath: string; readOnly: boolean }[];
  /** When set, wraps the command: `[supervisor, ...argv]`. */
  readonly supervisor: string | null;
  readonly labels: Readonly<Record<string, string>>;
}

/** What a backend needs to find its work again: JSON the store keeps across restarts. */
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
  readonly backend: string;
  /**
   * Starts the job and returns its handle once it is running. Starting a job whose name is
   * already running adopts it and returns its handle instead of starting a second one.
   */
  start(job: Job): Promise<RunHandle>;
  /**
   * "running" while the work runs (including while it is still starting); otherwise
   * "exited" with its exit code, or null when the code is unknown (work started by an
   * earlier server process). A handle for work that never started or is gone is "exited".
   * A fresh backend given an old handle answers the same way.
   */
  poll(handle: RunHandle): Promise<RunState>;
  /**
   * Asks the work to stop, then forces it after `graceMs`; resolves once it is gone. Stopping
   * work that already exited, or never existed, succeeds.
   */
  stop(handle: RunHandle, options?: { graceMs?: number }): Promise<void>;
  /**
   * The work's output lines from the start. With `follow`, keeps yielding new lines until
   * the work exits. Yields nothing for a handle whose output is gone.
   */
  logs(handle: RunHandle, options?: { follow?: boolean }): AsyncIterable<string>;
  /** Frees what the work left behind (logs, containers). Removing twice succeeds. */
  remove(handle: RunHandle): Promise<void>;
}

/** Thrown by a backend asked for something it cannot do. */
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
