/**
 * The conformance suite every runner backend passes. Each backend's test file calls
 * runRunnerContract with a factory; a backend that cannot run here skips with a reason.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import type { Job, Runner } from "../../src/runners/runner.js";

export interface ContractOptions {
  name: string;
  /** A fresh backend instance; called again to test adoption after a restart. */
  create(): Runner;
  /** Reason to skip the whole suite, or undefined to run it. */
  skip?: string;
}

let counter = 0;

export function runRunnerContract({ name, create, skip }: ContractOptions): void {
  if (skip) console.warn(`${name} runner contract skipped: ${skip}`);
  describe.skipIf(Boolean(skip))(`${name} runner contract`, () => {
    const job = async (script: string, extra: Partial<Job> = {}): Promise<Job> => ({
      name: `contract-${process.pid}-${++counter}`,
      kind: "run",
      image: null,
      argv: ["/bin/sh", "-c", script],
      env: { GREETING: "hello" },
      workingDir: await mkdtemp(path.join(tmpdir(), "slipway-job-")),
      mounts: [],
      supervisor: null,
      labels: { test: "contract" },
      ...extra,
    });
    const drain = async (iterable: AsyncIterable<string>) => {
      const lines: string[] = [];
      for await (const line of iterable) lines.push(line);
      return lines;
    };

    it("runs a job to its end with its output and exit code", async () => {
      const runner = create();
      const handle = await runner.start(
        await job('echo "$GREETING from $(pwd)"; echo second >&2; exit 3'),
      );
      const lines = await drain(runner.logs(handle, { follow: true }));
      expect(lines[0]).toMatch(/^hello from \/.*slipway-job-/);
      expect(lines).toContain("second");
      expect(await runner.poll(handle)).toEqual({ state: "exited", exitCode: 3 });
      await runner.remove(handle);
      await runner.remove(handle);
    });

    it("says running while the work runs, and stops it with its children", async () => {
      const runner = create();
      const handle = await runner.start(await job("sleep 30 & sleep 30; echo never"));
      expect(await runner.poll(handle)).toEqual({ state: "running" });
      await runner.stop(handle, { graceMs: 2000 });
      expect((await runner.poll(handle)).state).toBe("exited");
      await runner.stop(handle);
      await runner.remove(handle);
    });

    it("adopts its work from a fresh instance, as after a server restart", async () => {
      const first = create();
      const handle = await first.start(await job("echo started; sleep 30"));
      const restarted = create();
      const copy = JSON.parse(JSON.stringify(handle));
      expect(await restarted.poll(copy)).toEqual({ state: "running" });
      await restarted.stop(copy, { graceMs: 1000 });
      expect((await restarted.poll(copy)).state).toBe("exited");
      await restarted.remove(copy);
    });

    it("wraps the command in the supervisor", async () => {
      const runner = create();
      const dir = await mkdtemp(path.join(tmpdir(), "slipway-supervisor-"));
      const { writeFile, chmod } = await import("node:fs/promises");
      const supervisor = path.join(dir, "supervise.sh");
      await writeFile(supervisor, '#!/bin/sh\necho "supervised: $*"\nexec "$@"\n');
      await chmod(supervisor, 0o755);
      const handle = await runner.start(await job("echo inner", { supervisor }));
      const lines = await drain(runner.logs(handle, { follow: true }));
      expect(lines).toEqual(["supervised: /bin/sh -c echo inner", "inner"]);
      await runner.remove(handle);
    });

    it("answers exited for a handle whose work is gone, and stops or removes it without error", async () => {
      const runner = create();
      const handle = await runner.start(await job("exit 0"));
      while ((await runner.poll(handle)).state === "running") await sleep(50);
      await runner.remove(handle);
      expect((await runner.poll(handle)).state).toBe("exited");
      await runner.stop(handle);
      expect(await drain(runner.logs(handle))).toEqual([]);
    });

    it("reports a command that cannot start as an exited job", async () => {
      const runner = create();
      const handle = await runner.start({ ...(await job("")), argv: ["/nonexistent/program"] });
      while ((await runner.poll(handle)).state === "running") await sleep(50);
      const state = await runner.poll(handle);
      expect(state.state === "exited" && state.exitCode !== 0).toBe(true);
      await runner.remove(handle);
    });
  });
}
