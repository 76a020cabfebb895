/**
 * The one way a test says it cannot run here. Off CI, a test whose container engine,
 * PostgreSQL, browser or Debian package is missing is skipped, the reason on standard error.
 * In CI (CI=true), where .ci/run installs every one of them, it fails instead: a machine
 * that lacks them must not go green.
 */

export function inCi(): boolean {
  return process.env.CI === "true" || process.env.CI === "1";
}

/**
 * True when the tests named by `what` must be skipped because `reason` says what is
 * missing; false when nothing is (`reason` undefined). In CI it throws instead of skipping.
 */
export function unavailable(what: string, reason: string | undefined): boolean {
  if (reason === undefined) return false;
  if (inCi()) {
    throw new Error(
      `${what} cannot run: ${reason}. In CI every test must run; .ci/run installs what they need.`,
    );
  }
  console.warn(`${what} skipped: ${reason}.`);
  return true;
}
