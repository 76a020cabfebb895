/**
 * Throttles password sign-in per user name and per client address. Every attempt is counted
 * as a failure before its password is checked, atomically in the database, so a burst of
 * parallel guesses — even spread over several servers — gets no more tries than a sequence
 * would; a right password then takes its count back.
 */
import type { Store } from "../store/database.js";
import {
  countSignInFailure,
  findSignInFailures,
  forgetSignInFailures,
  purgeSignInFailures,
  type SignInFailureRow,
  uncountSignInFailure,
} from "../store/sign-in-failures.js";
import { type FailureRun, liveFailures, type ThrottlePolicy, waitMs } from "./throttle-policy.js";

export type Claim =
  | { ok: true; keys: { user: string; address: string } }
  | { ok: false; retryAfterSeconds: number; throttled: "user" | "address" };

const PURGE_EVERY_MS = 60_000;
const CLAIM_TRIES = 5;

export class SignInThrottle {
  #lastPurge = 0;

  constructor(
    private readonly store: Store,
    private readonly policy: ThrottlePolicy,
    private readonly now: () => number = Date.now,
  ) {}

  /** Takes one attempt for the user name and the address, or says how long to wait. */
  async claim(username: string, address: string): Promise<Claim> {
    const keys = { user: `user:${username.toLowerCase()}`, address: `address:${address}` };
    await this.#purge();
    const user = await this.#claimKey(keys.user);
    if (user > 0) return { ok: false, retryAfterSeconds: user, throttled: "user" };
    const byAddress = await this.#claimKey(keys.address);
    if (byAddress > 0) {
      await uncountSignInFailure(this.store.db, keys.user);
      return { ok: false, retryAfterSeconds: byAddress, throttled: "address" };
    }
    return { ok: true, keys };
  }

  /** The password was right: the user name starts afresh, the address gets its try back. */
  async succeeded(keys: { user: string; address: string }): Promise<void> {
    await forgetSignInFailures(this.store.db, keys.user);
    await uncountSignInFailure(this.store.db, keys.address);
  }

  /** Counts an attempt on one key; returns 0, or the seconds to wait when it must not run. */
  async #claimKey(key: string): Promise<number> {
    for (let i = 0; i < CLAIM_TRIES; i++) {
      const now = this.now();
      const row = await findSignInFailures(this.store.db, key);
      const run = row && toRun(row);
      const wait = waitMs(run, now, this.policy);
      if (wait > 0) return Math.ceil(wait / 1000);
      const next = {
        failures: liveFailures(run, now, this.policy) + 1,
        last_failure_time: new Date(now).toISOString(),
      };
      if (await countSignInFailure(this.store.db, key, row, next)) return 0;
    }
    // Others keep winning the race for this key: it is under attack right now.
    return 1;
  }

  async #purge(): Promise<void> {
    const now = this.now();
    if (now - this.#lastPurge < PURGE_EVERY_MS) return;
    this.#lastPurge = now;
    const before = new Date(now - this.policy.forgetSeconds * 1000).toISOString();
    await purgeSignInFailures(this.store.db, before);
  }
}

function toRun(row: SignInFailureRow): FailureRun {
  return { failures: row.failures, lastFailureMs: Date.parse(row.last_failure_time) };
}
