/** The faults a test can inject into the stand-in's API, checked on every request. */
export interface ForbiddenRule {
  verb: string;
  /** Plural, optionally with a subresource: `pods`, `pods/log`, `jobs`. */
  resource: string;
  namespace?: string;
}

export class Faults {
  /** Every watch is ended after this many seconds, whatever timeoutSeconds asked. */
  cutWatchesAfterSeconds: number | undefined;
  #refuseUntil = 0;
  #refuseMode: "503" | "reset" = "503";
  #forbidden: ForbiddenRule[] = [];
  #expireWatches = 0;

  /** The next `count` watches that resume from a resourceVersion get 410 Expired, as after a compaction. */
  expireWatches(count: number): void {
    this.#expireWatches = count;
  }

  /** Consumes one forced expiry, if any is left. */
  takeWatchExpiry(): boolean {
    if (this.#expireWatches <= 0) return false;
    this.#expireWatches--;
    return true;
  }

  /** For the next `ms` milliseconds every request gets a 503 or has its connection reset. */
  refuse(ms: number, mode: "503" | "reset" = "503"): void {
    this.#refuseUntil = Date.now() + ms;
    this.#refuseMode = mode;
  }

  refusing(): "503" | "reset" | undefined {
    return Date.now() < this.#refuseUntil ? this.#refuseMode : undefined;
  }

  /** Answers 403 to `verb` on `resource`, as a missing RBAC rule would. */
  forbid(rule: ForbiddenRule): void {
    this.#forbidden.push(rule);
  }

  allow(rule?: ForbiddenRule): void {
    this.#forbidden = rule
      ? this.#forbidden.filter(
          (r) =>
            r.verb !== rule.verb || r.resource !== rule.resource || r.namespace !== rule.namespace,
        )
      : [];
  }

  isForbidden(verb: string, resource: string, namespace: string | undefined): boolean {
    return this.#forbidden.some(
      (r) =>
        r.verb === verb &&
        r.resource === resource &&
        (r.namespace === undefined || r.namespace === namespace),
    );
  }
}
