/**
 * The local runner: the shared contract with real processes, then what only a host backend
 * can show (real pids of the job's children, Python handling SIGTERM, refused handles).
 */
import { mkdtempSync, readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { LocalRunner } from "../../src/runners/local/local-backend.js";
import type { Job, RunHandle } from "../../src/runners/runner.js";
import { RUNTIME_DIR } from "../../src/runtime-dir.js";
import { CASES, runRunnerContract } from "./contract.js";

const root = mkdtempSync(path.join(tmpdir(), "slipway-local-runner-"));
const create = () =>
  new LocalRunner({
    logDir: path.join(root, "logs"),
    dataDir: path.join(root, "data"),
    runtimeDir: RUNTIME_DIR,
    stopGraceMs: 2000,
  });

runRunnerContract({
  name: "local",
  create,
  skipCases: {
    [CASES.volumes]:
      "local jobs see the host's own filesystem; read-only data comes from file permissions and the job's account, tested below",
  },
});

async function job(argv: string[], name: string): Promise<Job> {
  return {
    name: `local-${process.pid}-${name}`,
    kind: "run",
    image: null,
    argv,
    pullPolicy: null,
    env: { PYTHONUNBUFFERED: "1" },
    workingDir: await mkdtemp(path.join(tmpdir(), "slipway-local-job-")),
    volumes: [],
    runtime: false,
    ports: [],
    supervisor: null,
    resources: {},
    deadlineSeconds: null,
    labels: {},
  };
}

async function lines(
  runner: LocalRunner,
  handle: RunHandle,
  until: (line: string) => boolean = () => false,
): Promise<string[]> {
  const seen: string[] = [];
  for await (const line of runner.logs(handle, { follow: true })) {
    seen.push(line);
    if (until(line)) break;
  }
  return seen;
}

/** Whether the process runs; a zombie has ended and only waits for its reaper. */
function alive(pid: number): boolean {
  try {
    return !readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]?.startsWith("Z");
  } catch {
    return false;
  }
}

const PYTHON_SERVER = `
import signal, subprocess, sys
child = subprocess.Popen(["sleep", "30"])
def bye(*_):
    print("bye", flush=True)
    sys.exit(0)
signal.signal(signal.SIGTERM, bye)
print("child", child.pid, flush=True)
signal.pause()
`;

describe("local runner on the host", () => {
  it("lets a Python process finish on SIGTERM, and kills the grandchild it left", async () => {
    const runner = create();
    const handle = await runner.start(await job(["python3", "-c", PYTHON_SERVER], "python"));
    const [line] = await lines(runner, handle, (l) => l.startsWith("child"));
    const pid = Number(line?.split(" ")[1]);
    expect(alive(pid)).toBe(true);
    await runner.stop(handle, { graceMs: 5000 });
    expect(await runner.poll(handle)).toEqual({ state: "exited", exitCode: 0, reason: null });
    expect(await lines(runner, handle)).toEqual([`child ${pid}`, "bye"]);
    expect(alive(pid)).toBe(false);
    await runner.remove(handle);
  });

  it("records the exit of a command stopped by SIGTERM as 143", async () => {
    const runner = create();
    const handle = await runner.start(await job(["sleep", "30"], "sleeper"));
    await runner.stop(handle);
    expect(await runner.poll(handle)).toEqual({ state: "exited", exitCode: 143, reason: null });
    expect(await create().poll(JSON.parse(JSON.stringify(handle)))).toEqual({
      state: "exited",
      exitCode: 143,
      reason: null,
    });
    await runner.remove(handle);
  });

  it("records the signal that killed a job as 128 + its number", async () => {
    const runner = create();
    const handle = await runner.start(
      await job(
        ["python3", "-c", "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"],
        "killed",
      ),
    );
    await lines(runner, handle);
    expect(await runner.poll(handle)).toEqual({ state: "exited", exitCode: 137, reason: null });
    await runner.remove(handle);
  });

  it("keeps the handle file of a newer start when an older handle of the name is removed", async () => {
    const runner = create();
    const spec = await job(["/bin/sh", "-c", "exit 0"], "newer");
    const old = await runner.start(spec);
    await lines(runner, old);
    const newer = await runner.start({ ...spec, argv: ["sleep", "30"] });
    expect(newer).not.toEqual(old);
    await runner.remove(old);
    expect(await create().start({ ...spec, argv: ["sleep", "30"] })).toEqual(newer);
    await runner.remove(newer);
  });

  it("reports a job whose working directory is missing as exited with 127, and says why", async () => {
    const runner = create();
    const spec = await job(["/bin/true"], "no-cwd");
    const handle = await runner.start({
      ...spec,
      workingDir: path.join(spec.workingDir, "missing"),
    });
    expect(await runner.poll(handle)).toEqual({ state: "exited", exitCode: 127, reason: null });
    expect((await lines(runner, handle))[0]).toMatch(
      /^slipway: cannot start .*no-cwd: spawn \/bin\/sh ENOENT$/,
    );
    await runner.remove(handle);
  });

  it("refuses a handle of another backend", async () => {
    await expect(create().poll({ version: 1, backend: "docker", name: "x" })).rejects.toThrow(
      "The local runner cannot use a docker handle of version 1.",
    );
  });
});
