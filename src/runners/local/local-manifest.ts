/**
 * Turns a job into the process the local backend spawns. Pure.
 *
 * The local backend runs on the host, so a job sees the host's own filesystem: the data volume
 * is the server's data folder (`paths.data`), a host volume must appear at its own path, and
 * volumes that need mounting (NFS, claims) cannot be honoured. The command runs under a fixed
 * `/bin/sh` wrapper that receives the command as positional arguments (never as shell text)
 * and writes its exit code to the status file, so a restarted server still learns how a job it
 * did not start has ended.
 */
import path from "node:path";
import { type Job, type JobPaths, portVariable, UnsupportedByBackend } from "../runner.js";

export interface LocalProcess {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

/** Host variables a job inherits; everything else (secrets, the server's own config) stays out. */
const INHERITED = ["PATH", "LANG", "LC_ALL", "TZ"];

/**
 * `$1` is the status file, then the command. The wrapper outlives a polite stop (a trap, unlike
 * an ignored signal, is not inherited by the command), so it records how the command itself
 * answered it.
 */
export const WRAPPER = `trap : TERM INT HUP
status=$1; shift
"$@"
code=$?
printf '%s\\n' "$code" >"$status"
exit "$code"`;

export interface LocalSpawn {
  paths: JobPaths;
  /** The job's own folder (its output, status and home), which it writes into. */
  dir: string;
  /**
   * Confines the job with bubblewrap: the folders in `hidden` (the data folder, every job's
   * folder) are replaced by empty ones in which only the job's volumes and its own folder
   * appear; `user` is the account it switches to inside, when the server is root.
   */
  sandbox: {
    bubblewrap: string;
    hidden: readonly string[];
    user: { uid: number; gid: number } | null;
  } | null;
  /** Ports the backend picked for the job's declared ports, by name. */
  ports: Readonly<Record<string, number>>;
  /** The job's own temporary folder, its HOME and TMPDIR. */
  home: string;
}

export function localProcess(
  job: Job,
  baseEnv: Readonly<Record<string, string | undefined>>,
  statusFile: string,
  spawn: LocalSpawn,
): LocalProcess {
  if (job.image !== null) {
    throw new UnsupportedByBackend(
      "local",
      `run the image ${job.image}: it runs content on this machine only, in environments of the Local cluster (enable [Docker] or [Kubernetes] to run images)`,
    );
  }
  for (const volume of job.volumes) {
    if (volume.kind === "nfs" || volume.kind === "claim") {
      throw new UnsupportedByBackend("local", `mount ${volume.kind} volumes (at ${volume.target})`);
    }
    if (volume.kind === "host" && volume.path !== volume.target) {
      throw new UnsupportedByBackend(
        "local",
        `mount ${volume.path} at a different path (${volume.target})`,
      );
    }
  }
  const resources = Object.keys(job.resources);
  if (resources.length > 0) {
    throw new UnsupportedByBackend("local", `enforce resource settings (${resources.join(", ")})`);
  }
  const argv = job.supervisor ? [job.supervisor, ...job.argv] : [...job.argv];
  if (argv.length === 0) throw new UnsupportedByBackend("local", "run a job with no command");
  const env: Record<string, string> = {};
  for (const key of INHERITED) {
    const value = baseEnv[key];
    if (value !== undefined) env[key] = value;
  }
  env.HOME = spawn.home;
  env.TMPDIR = spawn.home;
  // Where to listen is the backend's to say; the job's own variables cannot move it.
  const listen: Record<string, string> = {};
  if (job.ports.length > 0) listen.SLIPWAY_HOST = "127.0.0.1";
  for (const port of job.ports) listen[portVariable(port)] = String(spawn.ports[port.name]);
  const wrapped = ["/bin/sh", "-c", WRAPPER, `slipway-${job.kind}`, statusFile, ...argv];
  const command = spawn.sandbox ? confined(job, spawn, spawn.sandbox, wrapped) : wrapped;
  return {
    command: command[0]!,
    args: command.slice(1),
    cwd: job.workingDir,
    env: { ...env, ...job.env, ...listen },
  };
}

/**
 * The command under bubblewrap. The host's root is seen read-only but for /tmp, with a /dev
 * of its own; the hidden folders are empty (even inside /tmp) but for the job's data volumes,
 * its own folder and the runtime components, bound back at their host paths. No new process
 * or network namespace: the backend finds and stops the job by its process group, and
 * applications listen on the host's loopback.
 */
function confined(
  job: Job,
  spawn: LocalSpawn,
  sandbox: NonNullable<LocalSpawn["sandbox"]>,
  command: readonly string[],
): string[] {
  const binds: Array<{ at: string; readOnly: boolean }> = [];
  for (const volume of job.volumes) {
    if (volume.kind === "data") {
      binds.push({ at: path.join(spawn.paths.data, volume.subPath), readOnly: volume.readOnly });
    } else if (volume.kind === "host") {
      binds.push({ at: volume.path, readOnly: volume.readOnly });
    }
  }
  binds.push({ at: spawn.paths.runtime, readOnly: true }, { at: spawn.dir, readOnly: false });
  const within = (at: string) => sandbox.hidden.some((h) => at === h || at.startsWith(`${h}/`));
  const bind = (at: string, readOnly: boolean) => [readOnly ? "--ro-bind" : "--bind", at, at];
  const args = [
    sandbox.bubblewrap,
    "--ro-bind",
    "/",
    "/",
    "--dev",
    "/dev",
    "--bind",
    "/tmp",
    "/tmp",
  ];
  // Folders outside the hidden ones go first, so that one holding a hidden folder (a wheelhouse
  // in /tmp beside the data folder) cannot bring it back.
  for (const { at, readOnly } of binds.filter((b) => !within(b.at)))
    args.push(...bind(at, readOnly));
  for (const folder of sandbox.hidden) args.push("--perms", "0755", "--tmpfs", folder);
  // bubblewrap makes missing parents of a mount point private to root; the job must pass them.
  const made = new Set(sandbox.hidden);
  for (const { at, readOnly } of binds.filter((b) => within(b.at))) {
    for (const parent of parentsWithin(at, sandbox.hidden)) {
      if (!made.has(parent)) args.push("--perms", "0755", "--dir", parent);
      made.add(parent);
    }
    args.push(...bind(at, readOnly));
  }
  args.push("--chdir", job.workingDir, "--");
  if (sandbox.user) {
    const { uid, gid } = sandbox.user;
    args.push("/usr/bin/setpriv", `--reuid=${uid}`, `--regid=${gid}`, "--clear-groups", "--");
  }
  return [...args, ...command];
}

/** The folders between the hidden folder holding `at` and `at` itself, outermost first. */
function parentsWithin(at: string, hidden: readonly string[]): string[] {
  const root = hidden.filter((h) => at.startsWith(`${h}/`)).sort((a, b) => b.length - a.length)[0];
  if (!root) return [];
  const parents: string[] = [];
  for (let dir = path.dirname(at); dir !== root && dir.startsWith(root); dir = path.dirname(dir)) {
    parents.unshift(dir);
  }
  return parents;
}
