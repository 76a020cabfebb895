import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Job } from "../runner.js";
import { localProcess, WRAPPER } from "./local-manifest.js";

const job: Job = {
  name: "j",
  kind: "run",
  image: "ghcr.io/org/x:1",
  argv: ["/usr/bin/python3", "app.py"],
  env: { PORT: "8080" },
  workingDir: "/srv/app",
  mounts: [{ hostPath: "/srv/app", jobPath: "/srv/app", readOnly: true }],
  supervisor: "/opt/supervise",
  ports: [8080],
  labels: {},
};

/** Runs the wrapper as the backend would, returning its output and the status it recorded. */
function wrap(init: string[], command: string[]) {
  const status = path.join(mkdtempSync(path.join(tmpdir(), "slipway-wrapper-")), "status");
  const run = spawnSync(
    "/bin/sh",
    ["-c", WRAPPER, "t", status, String(init.length), ...init, ...command],
    {
      encoding: "utf8",
    },
  );
  const recorded = (() => {
    try {
      return readFileSync(status, "utf8");
    } catch {
      return undefined;
    }
  })();
  return { out: run.stdout + run.stderr, code: run.status, recorded };
}

describe("local process manifest", () => {
  it("runs the supervised command under the wrapper, with only the basic host variables and the job's", () => {
    expect(
      localProcess(job, { PATH: "/usr/bin", SECRET: "x", HOME: "/root" }, "/logs/j.exit"),
    ).toEqual({
      command: "/bin/sh",
      args: [
        "-c",
        WRAPPER,
        "slipway-run",
        "/logs/j.exit",
        "0",
        "/opt/supervise",
        "/usr/bin/python3",
        "app.py",
      ],
      cwd: "/srv/app",
      env: { PATH: "/usr/bin", HOME: "/root", PORT: "8080" },
    });
  });

  it("passes the init step ahead of the command, counted", () => {
    const spec = localProcess(
      { ...job, supervisor: null, init: { image: "init:1", argv: ["cp", "-r", "a", "b"] } },
      {},
      "/s",
    );
    expect(spec.args.slice(3)).toEqual([
      "/s",
      "4",
      "cp",
      "-r",
      "a",
      "b",
      "/usr/bin/python3",
      "app.py",
    ]);
  });

  it.each<[string, Partial<Job>, string]>([
    [
      "a mount at another path",
      { mounts: [{ hostPath: "/data/cache", jobPath: "/opt/cache", readOnly: false }] },
      "The local runner cannot mount /data/cache at a different path (/opt/cache).",
    ],
    [
      "limits",
      { limits: { memoryBytes: 1 << 30, cpus: 1 } },
      "The local runner cannot enforce resource limits (memoryBytes, cpus).",
    ],
    [
      "an empty command",
      { argv: [], supervisor: null },
      "The local runner cannot run a job with no command.",
    ],
    [
      "an empty init step",
      { init: { image: null, argv: [] } },
      "The local runner cannot run an init step with no command.",
    ],
  ])("refuses %s", (_, change, message) => {
    expect(() => localProcess({ ...job, ...change }, {}, "/s")).toThrow(message);
  });
});

describe("the wrapper script", () => {
  it("runs arguments as given, never as shell text, and records the exit code", () => {
    const result = wrap(
      [],
      ["/bin/sh", "-c", 'printf "%s|" "$@"; exit 4', "x", "a b", "$(id)", "'q'"],
    );
    expect(result).toEqual({ out: "a b|$(id)|'q'|", code: 4, recorded: "4\n" });
  });

  it("runs the init step first, then the command", () => {
    const result = wrap(["/bin/echo", "init", "two words"], ["/bin/echo", "main"]);
    expect(result).toEqual({ out: "init two words\nmain\n", code: 0, recorded: "0\n" });
  });

  it("does not run the command when the init step fails, and records the init's code", () => {
    const result = wrap(["/bin/sh", "-c", "exit 7"], ["/bin/echo", "main"]);
    expect(result).toEqual({
      out: "slipway: the init step exited with code 7\n",
      code: 7,
      recorded: "7\n",
    });
  });

  it("reports a command that does not exist as exit code 127", () => {
    const result = wrap([], ["/nonexistent/program"]);
    expect(result.code).toBe(127);
    expect(result.recorded).toBe("127\n");
    expect(result.out).toContain("/nonexistent/program");
  });
});
