/**
 * How long a sign-in must wait after failures in a row: the first few are free (people
 * mistype), then each further attempt waits twice as long as the one before, up to a cap.
 * Pure, so the schedule is tested without a clock.
 */
export interface ThrottlePolicy {
  /** Failures in a row before attempts start to wait. */
  readonly freeFailures: number;
  /** The wait after that many failures; it doubles with each further one. */
  readonly baseDelaySeconds: number;
  readonly maxDelaySeconds: number;
  /** A run of failures is forgotten once the last one is this old. */
  readonly forgetSeconds: number;
}

export interface FailureRun {
  readonly failures: number;
  readonly lastFailureMs: number;
}

/** The wait, in seconds, before the attempt that follows `failures` failures in a row. */
export function delayAfter(failures: number, policy: ThrottlePolicy): number {
  const beyond = failures - policy.freeFailures;
  if (beyond < 0 || policy.baseDelaySeconds <= 0) return 0;
  // 2 ** 40 seconds is already longer than any cap anyone sets; stop doubling there.
  return Math.min(policy.maxDelaySeconds, policy.baseDelaySeconds * 2 ** Math.min(beyond, 40));
}

/** The failures that still count at `nowMs`: none once the run is forgotten. */
export function liveFailures(run: FailureRun | undefined, nowMs: number, policy: ThrottlePolicy) {
  if (!run || nowMs - run.lastFailureMs >= policy.forgetSeconds * 1000) return 0;
  return run.failures;
}

/** Milliseconds until the next attempt may run; 0 when it may run now. */
export function waitMs(run: FailureRun | undefined, nowMs: number, policy: ThrottlePolicy): number {
  const failures = liveFailures(run, nowMs, policy);
  if (!run || failures === 0) return 0;
  return Math.max(0, run.lastFailureMs + delayAfter(failures, policy) * 1000 - nowMs);
}
