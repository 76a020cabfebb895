/** Options of the local runner, which runs jobs as processes on the Slipway host. */
export interface LocalConfig {
  /**
   * Folder holding each job's output (`<name>.log`), exit status (`<name>.exit`) and handle
   * (`<name>.handle.json`). It must outlive server restarts: a restarted server reads a job's
   * exit status and output from here.
   */
  logDir: string;
  /** The server's data folder: jobs see data sub-paths here, at their host paths. */
  dataDir: string;
  /** Slipway's runtime components (the Python launcher), which jobs read in place. */
  runtimeDir: string;
  /**
   * The account jobs run as (Connect's Applications.RunAs), so content cannot read the
   * server's database or keys; unset runs them as the server's own user.
   */
  user?: { uid: number; gid: number } | null;
  /**
   * bubblewrap, to run each job where the data folder and the job folders hold only what
   * the job mounts; unset runs jobs on the host's files as they are.
   */
  bubblewrap?: string | null;
  /** Folders jobs under bubblewrap also see empty, besides the data and log folders. */
  hidden?: readonly string[];
  /**
   * How long `stop` waits after SIGTERM before it sends SIGKILL to the job's process group,
   * when the caller gives no grace of its own. Applications get this long to finish requests.
   */
  stopGraceMs?: number;
  /**
   * How often a stop or a followed log looks again at a process it did not start itself
   * (after a restart there is no exit event to wait for, only /proc to read).
   */
  pollIntervalMs?: number;
}

export const LOCAL_DEFAULTS = {
  user: null,
  bubblewrap: null,
  hidden: [],
  stopGraceMs: 5000,
  pollIntervalMs: 100,
} as const satisfies Partial<LocalConfig>;
