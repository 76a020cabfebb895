/**
 * The conformance suite every runner backend passes: each backend's test file calls
 * runRunnerContract with a factory. Jobs use only /bin/sh and a scratch folder mounted at its
 * own path, so a container backend runs them from any image with a shell. A backend that
 * cannot run here skips the whole suite, or single cases, and every skip carries its reason.
 */
import { chmod, mkdtemp, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import type { Job, RunHandle, Runner } from "../../src/runners/runner.js";
import { unavailable } from "../support/requirements.js";

export interface ContractOptions {
  name: string;
  /** A fresh backend instance; called again to stand for a server that restarted. */
  create(): Runner;
  /** Image the jobs run from (it needs /bin/sh and sleep); null for the host. */
  image?: string | null;
  /** Reason to skip the whole suite (for example, no Docker engine here), or undefined. */
  skip?: string;
  /** Cases this backend skips, by title, each with its reason. */
  skipCases?: Readonly<Record<string, string>>;
}

let counter = 0;

export const CASES = {
  toEnd: "runs a job to its end with its output, working directory, env and exit code",
  follow: "follows output as it is written, until the job exits",
  running: "says running while the work runs, and stops it with its children",
  forced: "forces a job that ignores the polite stop",
  startTwice: "adopts running work when the same job is started again",
  adopt: "adopts its work from a fresh instance, as after a server restart",
  endedWhileDown: "learns the exit code of work that ended while the server was down",
  supervisor: "wraps the command in the supervisor",
  init: "runs the init step before the command, and not the command when it fails",
  gone: "answers exited for work that is gone, and stops or removes it again without error",
  neverStarted: "answers exited for work that never started",
  cannotStart: "reports a command that cannot start as an exited job",
} as const;

export function runRunnerContract(options: ContractOptions): void {
  const { name, create, skip, skipCases = {} } = options;
  const skipAll = unavailable(`The ${name} runner contract`, skip);
  const unknown = Object.keys(skipCases).filter(
    (title) => !Object.values(CASES).includes(title as never),
  );
  if (unknown.length > 0) throw new Error(`Unknown contract cases to skip: ${unknown.join(", ")}`);
  const test = (title: string, body: () => Promise<void>) =>
    it.skipIf(title in skipCases)(title, body);

  const job = async (script: string, extra: Partial<Job> = {}): Promise<Job> => {
    const dir = await mkdtemp(path.join(tmpdir(), "slipway-job-"));
    return {
      name: `contract-${process.pid}-${++counter}`,
      kind: "run",
      image: options.image ?? null,
      argv: ["/bin/sh", "-c", script],
      env: { GREETING: "hello" },
      workingDir: dir,
      mounts: [{ hostPath: dir, jobPath: dir, readOnly: false }],
      supervisor: null,
      labels: { test: "contract" },
      ...extra,
    };
  };
  const drain = async (iterable: AsyncIterable<string>) => {
    const lines: string[] = [];
    for await (const line of iterable) lines.push(line);
    return lines;
  };
  const untilExited = async (runner: Runner, handle: RunHandle) => {
    for (;;) {
      const state = await runner.poll(handle);
      if (state.state === "exited") return state;
      await sleep(50);
    }
  };
  const size = (file: string) => stat(file).then((s) => s.size);

  describe.skipIf(skipAll)(`${name} runner contract`, () => {
    test(CASES.toEnd, async () => {
      const runner = create();
      const spec = await job('echo "$GREETING from $(pwd)"; echo second >&2; exit 3');
      const handle = await runner.start(spec);
      const lines = await drain(runner.logs(handle, { follow: true }));
      expect(lines).toEqual([`hello from ${spec.workingDir}`, "second"]);
      expect(await runner.poll(handle)).toEqual({ state: "exited", exitCode: 3 });
      expect(await drain(runner.logs(handle))).toEqual(lines);
      await runner.remove(handle);
    });

    test(CASES.follow, async () => {
      const runner = create();
      const spec = await job("echo one; while [ ! -e go ]; do sleep 0.05; done; echo two");
      const handle = await runner.start(spec);
      const seen: string[] = [];
      for await (const line of runner.logs(handle, { follow: true })) {
        seen.push(line);
        // The job writes its second line only once the first has been read here.
        if (line === "one") await writeFile(path.join(spec.workingDir, "go"), "");
      }
      expect(seen).toEqual(["one", "two"]);
      expect(await runner.poll(handle)).toEqual({ state: "exited", exitCode: 0 });
      await runner.remove(handle);
    });

    test(CASES.running, async () => {
      const runner = create();
      const spec = await job(
        "(while :; do echo beat >> beats; sleep 0.05; done) & while [ ! -s beats ]; do sleep 0.05; done; echo ready; wait",
      );
      const handle = await runner.start(spec);
      expect(await runner.poll(handle)).toEqual({ state: "running" });
      for await (const line of runner.logs(handle, { follow: true })) if (line === "ready") break;
      await runner.stop(handle, { graceMs: 5000 });
      expect((await runner.poll(handle)).state).toBe("exited");
      // The background loop would have appended many beats in this time had it survived.
      const beats = path.join(spec.workingDir, "beats");
      const after = await size(beats);
      await sleep(500);
      expect(await size(beats)).toBe(after);
      await runner.remove(handle);
    });

    test(CASES.forced, async () => {
      const runner = create();
      const spec = await job("trap '' TERM; echo ready; sleep 30 & wait");
      const handle = await runner.start(spec);
      for await (const line of runner.logs(handle, { follow: true })) if (line === "ready") break;
      await runner.stop(handle, { graceMs: 300 });
      expect((await runner.poll(handle)).state).toBe("exited");
      await runner.remove(handle);
    });

    test(CASES.startTwice, async () => {
      const runner = create();
      const spec = await job("sleep 30");
      const first = await runner.start(spec);
      expect(await runner.start(spec)).toEqual(first);
      expect(await create().start(spec)).toEqual(first);
      await runner.remove(first);
      expect((await runner.poll(first)).state).toBe("exited");
    });

    test(CASES.adopt, async () => {
      const first = create();
      const spec = await job("echo started; while [ ! -e go ]; do sleep 0.05; done; echo after");
      const handle = await first.start(spec);
      for await (const line of first.logs(handle, { follow: true })) if (line === "started") break;
      const restarted = create();
      const copy = JSON.parse(JSON.stringify(handle)) as RunHandle;
      expect(await restarted.poll(copy)).toEqual({ state: "running" });
      const lines = restarted.logs(copy, { follow: true })[Symbol.asyncIterator]();
      expect((await lines.next()).value).toBe("started");
      await writeFile(path.join(spec.workingDir, "go"), "");
      expect((await lines.next()).value).toBe("after");
      expect((await lines.next()).done).toBe(true);
      await restarted.stop(copy, { graceMs: 1000 });
      expect((await restarted.poll(copy)).state).toBe("exited");
      await restarted.remove(copy);
    });

    test(CASES.endedWhileDown, async () => {
      const spec = await job("while [ ! -e go ]; do sleep 0.05; done; exit 5");
      const handle = JSON.parse(JSON.stringify(await create().start(spec))) as RunHandle;
      await writeFile(path.join(spec.workingDir, "go"), "");
      const restarted = create();
      expect(await untilExited(restarted, handle)).toEqual({ state: "exited", exitCode: 5 });
      await restarted.remove(handle);
    });

    test(CASES.supervisor, async () => {
      const runner = create();
      const spec = await job("echo inner");
      const supervisor = path.join(spec.workingDir, "supervise.sh");
      await writeFile(supervisor, '#!/bin/sh\necho "supervised: $*"\nexec "$@"\n');
      await chmod(supervisor, 0o755);
      const handle = await runner.start({ ...spec, supervisor });
      const lines = await drain(runner.logs(handle, { follow: true }));
      expect(lines).toEqual(["supervised: /bin/sh -c echo inner", "inner"]);
      await runner.remove(handle);
    });

    test(CASES.init, async () => {
      const runner = create();
      const spec = await job("cat prepared");
      const init = {
        image: options.image ?? null,
        argv: ["/bin/sh", "-c", "echo ready > prepared"],
      };
      const handle = await runner.start({ ...spec, init });
      expect(await drain(runner.logs(handle, { follow: true }))).toEqual(["ready"]);
      expect(await runner.poll(handle)).toEqual({ state: "exited", exitCode: 0 });
      await runner.remove(handle);

      const failing = await runner.start({
        ...(await job("echo must-not-run")),
        init: { image: options.image ?? null, argv: ["/bin/sh", "-c", "exit 9"] },
      });
      expect(await untilExited(runner, failing)).toEqual({ state: "exited", exitCode: 9 });
      expect(await drain(runner.logs(failing))).not.toContain("must-not-run");
      await runner.remove(failing);
    });

    test(CASES.gone, async () => {
      const runner = create();
      const handle = await runner.start(await job("echo done"));
      await untilExited(runner, handle);
      await runner.stop(handle);
      await runner.stop(handle);
      await runner.remove(handle);
      await runner.remove(handle);
      expect((await runner.poll(handle)).state).toBe("exited");
      expect(await drain(runner.logs(handle, { follow: true }))).toEqual([]);
      expect((await create().poll(handle)).state).toBe("exited");
    });

    test(CASES.neverStarted, async () => {
      const runner = create();
      const handle: RunHandle = { version: 1, backend: runner.backend, name: `never-${++counter}` };
      expect(await runner.poll(handle)).toEqual({ state: "exited", exitCode: null });
      expect(await drain(runner.logs(handle, { follow: true }))).toEqual([]);
      await runner.stop(handle);
      await runner.remove(handle);
    });

    test(CASES.cannotStart, async () => {
      const runner = create();
      const handle = await runner.start({ ...(await job("")), argv: ["/nonexistent/program"] });
      const state = await untilExited(runner, handle);
      expect(state.exitCode).toBeGreaterThan(0);
      await runner.remove(handle);
    });
  });
}
