/** Turns a job into the process the local backend spawns. Pure. */
import { type Job, UnsupportedByBackend } from "../runner.js";

export interface LocalProcess {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

export function localProcess(
  job: Job,
  baseEnv: Readonly<Record<string, string | undefined>>,
): LocalProcess {
  for (const mount of job.mounts) {
    if (mount.hostPath !== mount.jobPath) {
      throw new UnsupportedByBackend(
        "local",
        `mount ${mount.hostPath} at a different path (${mount.jobPath})`,
      );
    }
  }
  const argv = job.supervisor ? [job.supervisor, ...job.argv] : [...job.argv];
  if (argv.length === 0) throw new UnsupportedByBackend("local", "run a job with no command");
  const env: Record<string, string> = {};
  for (const key of ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"]) {
    const value = baseEnv[key];
    if (value !== undefined) env[key] = value;
  }
  return {
    command: argv[0]!,
    args: argv.slice(1),
    cwd: job.workingDir,
    env: { ...env, ...job.env },
  };
}
