import { errorFunction, median, wilcoxonRankSum } from "simple-statistics";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setPasswordHash } from "../../src/store/sessions.js";
import { hashPassword } from "../../src/users/passwords.js";
import { startTestServer, type TestServer } from "../support/server.js";

const ROUNDS = 30;

/**
 * Two-sided p-value of the Wilcoxon rank-sum (Mann-Whitney) test, by its normal
 * approximation, which is close for samples of this size.
 */
function rankSumP(a: number[], b: number[]): number {
  const w = wilcoxonRankSum(a, b);
  const n = a.length;
  const m = b.length;
  const z = (w - (n * (n + m + 1)) / 2) / Math.sqrt((n * m * (n + m + 1)) / 12);
  return 1 - errorFunction(Math.abs(z) / Math.SQRT2);
}

describe("the time to refuse a sign-in", () => {
  let server: TestServer;
  beforeAll(async () => {
    // Throttling off, so hundreds of wrong passwords in a row are all checked.
    server = await startTestServer("sqlite", (s) => {
      s.Authentication.SignInDelaySeconds = 0;
    });
    await setPasswordHash(server.server.store.db, "ada", await hashPassword("the real one"));
  }, 180_000);
  afterAll(() => server?.close());

  const timed = async (body: object): Promise<number> => {
    const started = performance.now();
    const response = await fetch(`${server.url}/__api__/slipway/v1/session`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    await response.arrayBuffer();
    const took = performance.now() - started;
    expect(response.status).toBeGreaterThanOrEqual(400);
    return took;
  };

  it("does not tell whether the user exists, while the same statistic sees a real difference", async () => {
    const existing: number[] = [];
    const unknown: number[] = [];
    const unchecked: number[] = [];
    for (let i = 0; i < 3; i++) {
      await timed({ username: "ada", password: "warm up" });
      await timed({ username: "nobody-here", password: "warm up" });
    }
    // Interleaved, so the load of this shared machine drifts over all samples alike.
    for (let i = 0; i < ROUNDS; i++) {
      existing.push(await timed({ username: "ada", password: `wrong ${i}` }));
      unknown.push(await timed({ username: "nobody-here", password: `wrong ${i}` }));
      // Refused before any password is checked: what a refusal without the dummy hash was.
      unchecked.push(await timed({ username: "ada" }));
    }
    const same = rankSumP(existing, unknown);
    const different = rankSumP(existing, unchecked);
    console.info(
      `sign-in refusal medians: existing user ${median(existing).toFixed(1)} ms, ` +
        `unknown user ${median(unknown).toFixed(1)} ms (rank-sum p = ${same.toFixed(3)}), ` +
        `refused unchecked ${median(unchecked).toFixed(1)} ms (p = ${different.toExponential(1)})`,
    );
    // No evidence that the two distributions differ (a false alarm is a 1-in-1000 event)...
    expect(same).toBeGreaterThan(0.001);
    // ...while the test has the power to see the difference a skipped hash makes.
    expect(different).toBeLessThan(1e-6);
  }, 600_000);
});
