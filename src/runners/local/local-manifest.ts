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
  return {
    command: "/bin/sh",
    args: ["-c", WRAPPER, `slipway-${job.kind}`, statusFile, ...argv],
    cwd: job.workingDir,
    env: { ...env, ...job.env, ...listen },
  };
}
