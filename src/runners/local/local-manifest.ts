/**
 * Turns a job into the process the local backend spawns. Pure.
 *
 * The local backend runs on the host, so a job's paths are host paths: every mount must have
 * `jobPath === hostPath` (Slipway builds its jobs that way for every backend), and the image is
 * not used. The command runs under a fixed `/bin/sh` wrapper that receives the init step and the
 * command as positional arguments (never as shell text) and writes the command's exit code to
 * the status file, so a restarted server still learns how a job it did not start has ended.
 */
import { type Job, UnsupportedByBackend } from "../runner.js";

export interface LocalProcess {
  command: string;
  args: string[];
  cwd: string;
  env: Record<string, string>;
}

/** Host variables a job inherits; everything else (secrets, the server's own config) stays out. */
const INHERITED = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR"];

/**
 * `$1` is the status file, `$2` the number of init arguments that follow, then the init step and
 * the command. The subshell keeps only the first n arguments: each pass appends the current one
 * when it belongs to the init step and drops one from the front, so after all passes only the
 * appended ones remain. The wrapper outlives a polite stop (a trap, unlike an ignored signal,
 * is not inherited by the command), so it records how the command itself answered it.
 */
export const WRAPPER = `trap : TERM INT HUP
status=$1; n=$2; shift 2
if [ "$n" -gt 0 ]; then
  (
    i=0
    for arg do
      if [ "$i" -lt "$n" ]; then set -- "$@" "$arg"; fi
      shift
      i=$((i + 1))
    done
    exec "$@"
  )
  code=$?
  if [ "$code" -ne 0 ]; then
    echo "slipway: the init step exited with code $code" >&2
    printf '%s\\n' "$code" >"$status"
    exit "$code"
  fi
  shift "$n"
fi
"$@"
code=$?
printf '%s\\n' "$code" >"$status"
exit "$code"`;

export function localProcess(
  job: Job,
  baseEnv: Readonly<Record<string, string | undefined>>,
  statusFile: string,
): LocalProcess {
  for (const mount of job.mounts) {
    if (mount.hostPath !== mount.jobPath) {
      throw new UnsupportedByBackend(
        "local",
        `mount ${mount.hostPath} at a different path (${mount.jobPath})`,
      );
    }
  }
  const limits = Object.keys(job.limits ?? {});
  if (limits.length > 0) {
    throw new UnsupportedByBackend("local", `enforce resource limits (${limits.join(", ")})`);
  }
  const argv = job.supervisor ? [job.supervisor, ...job.argv] : [...job.argv];
  if (argv.length === 0) throw new UnsupportedByBackend("local", "run a job with no command");
  const init = job.init?.argv ?? [];
  if (job.init && init.length === 0) {
    throw new UnsupportedByBackend("local", "run an init step with no command");
  }
  const env: Record<string, string> = {};
  for (const key of INHERITED) {
    const value = baseEnv[key];
    if (value !== undefined) env[key] = value;
  }
  return {
    command: "/bin/sh",
    args: ["-c", WRAPPER, `slipway-${job.kind}`, statusFile, String(init.length), ...init, ...argv],
    cwd: job.workingDir,
    env: { ...env, ...job.env },
  };
}
