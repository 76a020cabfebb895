import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setPasswordHash } from "../../src/store/sessions.js";
import { hashPassword } from "../../src/users/passwords.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { STORE_DIALECTS } from "../support/stores.js";

const PASSWORD = "the right password";

describe.each(STORE_DIALECTS)("sign-in throttling on %s", (dialect) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(dialect, (s) => {
      s.Authentication.FailedSignInsBeforeDelay = 3;
      s.Authentication.SignInDelaySeconds = 2;
      s.Authentication.SignInMaxDelaySeconds = 8;
      // Loopback is the "proxy", so each test's X-Forwarded-For is a client address of its own.
      s.Server.TrustedProxies = ["127.0.0.1"];
    });
    for (const name of ["ada", "pat", "vic"]) {
      await setPasswordHash(server.server.store.db, name, await hashPassword(PASSWORD));
    }
  }, 180_000);
  afterAll(() => server?.close());

  const signIn = async (username: string, password: string, address: string) => {
    const response = await fetch(`${server.url}/__api__/slipway/v1/session`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Forwarded-For": address },
      body: JSON.stringify({ username, password }),
    });
    const body = (await response.json()) as { code: number; error: string; payload: unknown };
    return { status: response.status, retryAfter: response.headers.get("retry-after"), body };
  };

  /** Waits as long as the server said to, then a little for clock rounding. */
  const waitAsTold = (retryAfter: string | null) => sleep(Number(retryAfter) * 1000 + 50);

  it("slows a guessing run down, doubling each wait, and takes the right password after the wait", async () => {
    const A = "198.51.100.1";
    const statuses: number[] = [];
    let thirdStarted = 0;
    for (let i = 0; i < 3; i++) {
      thirdStarted = Date.now();
      statuses.push((await signIn("ada", `guess ${i}`, A)).status);
    }
    expect(statuses).toEqual([401, 401, 401]);

    // Three failures in a row: from now on each try must wait, and is told how long. The
    // server counts from the failed try's start; the client can only bound how long ago that
    // was, so each told wait is checked against the schedule less the time that went by.
    const told = async (delay: number, failedAt: number) => {
      const probe = await signIn("ada", "guess too early", A);
      const elapsed = Math.ceil((Date.now() - failedAt) / 1000);
      expect(probe.status).toBe(429);
      expect(probe.body.code).toBe(24);
      expect(probe.body.payload).toEqual({ retry_after_seconds: Number(probe.retryAfter) });
      expect(Number(probe.retryAfter)).toBeLessThanOrEqual(delay);
      expect(Number(probe.retryAfter)).toBeGreaterThanOrEqual(delay - elapsed);
      return probe;
    };
    await told(2, thirdStarted);
    // Even the right password is refused while the wait runs: it is not checked at all.
    expect((await signIn("ada", PASSWORD, A)).status).toBe(429);

    for (const delay of [4, 8, 8]) {
      let answer = await signIn("ada", "guess after a wait", A);
      let startedAt = Date.now();
      while (answer.status === 429) {
        await waitAsTold(answer.retryAfter);
        startedAt = Date.now();
        answer = await signIn("ada", "guess after a wait", A);
      }
      expect(answer.status).toBe(401);
      await told(delay, startedAt);
    }

    let right = await signIn("ada", PASSWORD, A);
    while (right.status === 429) {
      await waitAsTold(right.retryAfter);
      right = await signIn("ada", PASSWORD, A);
    }
    expect(right.status).toBe(200);
    // A right password ends the run for the user name, not for the address it came from:
    // otherwise one's own account would reset the count of a spray of guesses at others.
    expect((await signIn("ada", "one slip", A)).status).toBe(429);
    expect((await signIn("ada", "one slip", "198.51.100.99")).status).toBe(401);
  }, 180_000);

  it("counts a parallel burst like a sequence: no guesses beyond what the schedule allows", async () => {
    const started = Date.now();
    const burst = await Promise.all(
      Array.from({ length: 20 }, (_, i) => signIn("pat", `parallel guess ${i}`, "198.51.100.2")),
    );
    const seconds = (Date.now() - started) / 1000;
    const checked = burst.filter((r) => r.status === 401).length;
    expect(burst.filter((r) => r.status === 429).length).toBe(20 - checked);
    // Three free tries, then one more per wait (2 s, 4 s, 8 s...) that fitted into the burst,
    // however slowly this busy machine worked through it. Without the atomic count, all 20
    // would be checked.
    let allowed = 3;
    for (
      let wait = 2, spent = 0;
      spent + wait <= seconds;
      spent += wait, wait = Math.min(wait * 2, 8)
    ) {
      allowed++;
    }
    expect(checked).toBeGreaterThanOrEqual(3);
    expect(checked).toBeLessThanOrEqual(allowed);
  }, 120_000);

  it("throttles an address trying many user names, without locking those users out elsewhere", async () => {
    const spray = "198.51.100.3";
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await signIn(`nobody-${i}`, "guess", spray));
    expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 429, 429]);
    expect(answers[3]!.body.error).toContain("from this address");
    expect((await signIn("vic", PASSWORD, spray)).status).toBe(429);
    expect((await signIn("vic", PASSWORD, "198.51.100.4")).status).toBe(200);
  });
});
