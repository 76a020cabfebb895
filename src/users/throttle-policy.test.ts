import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { delayAfter, type ThrottlePolicy, waitMs } from "./throttle-policy.js";

const policy: ThrottlePolicy = {
  freeFailures: 3,
  baseDelaySeconds: 1,
  maxDelaySeconds: 900,
  forgetSeconds: 3600,
};

describe("the sign-in delay schedule", () => {
  it("is free for the first failures, then doubles up to the cap", () => {
    expect([0, 1, 2, 3, 4, 5, 6, 13, 14, 1000].map((f) => delayAfter(f, policy))).toEqual([
      0, 0, 0, 1, 2, 4, 8, 900, 900, 900,
    ]);
    expect(delayAfter(10, { ...policy, baseDelaySeconds: 0 })).toBe(0);
  });

  it("never shrinks as failures grow, never passes the cap", () => {
    fc.assert(
      fc.property(
        fc.nat(10_000),
        fc.nat(50),
        fc.integer({ min: 1, max: 10_000 }),
        (f, free, max) => {
          const p = { ...policy, freeFailures: free, maxDelaySeconds: max };
          expect(delayAfter(f + 1, p)).toBeGreaterThanOrEqual(delayAfter(f, p));
          expect(delayAfter(f, p)).toBeLessThanOrEqual(max);
        },
      ),
    );
  });

  it("waits from the last failure, and forgets a run once it is old", () => {
    const last = 1_000_000;
    const run = { failures: 5, lastFailureMs: last };
    expect(waitMs(run, last, policy)).toBe(4000);
    expect(waitMs(run, last + 3000, policy)).toBe(1000);
    expect(waitMs(run, last + 4000, policy)).toBe(0);
    expect(waitMs({ failures: 50, lastFailureMs: last }, last + 3600_000, policy)).toBe(0);
    expect(waitMs(undefined, last, policy)).toBe(0);
  });
});
