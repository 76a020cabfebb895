import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import type { Job } from "../runner.js";
import { type LocalSpawn, localProcess, WRAPPER } from "./local-manifest.js";

const job: Job = {
  name: "j",
  kind: "run",
  image: null,
  pullPolicy: null,
  argv: ["/usr/bin/python3", "app.py"],
  env: { APP: "1", SLIPWAY_PORT_HTTP: "1" },
  workingDir: "/data/content/a/bundles/1",
  volumes: [{ kind: "data", subPath: "content/a/bundles/1", readOnly: true }],
  runtime: true,
  ports: [{ name: "http", port: 8080 }],
  supervisor: "/opt/supervise",
  resources: {},
  deadlineSeconds: null,
  labels: {},
};

const spawn: LocalSpawn = {
  paths: { data: "/data", runtime: "/opt/slipway/runtime" },
  ports: { http: 41234 },
  home: "/logs/j/home",
  dir: "/logs/j",
  sandbox: null,
};

/** Runs the wrapper as the backend would, returning its output and the status it recorded. */
function wrap(command: string[]) {
  const status = path.join(mkdtempSync(path.join(tmpdir(), "slipway-wrapper-")), "status");
  const run = spawnSync("/bin/sh", ["-c", WRAPPER, "t", status, ...command], { encoding: "utf8" });
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
  it("runs the supervised command under the wrapper, with the basic host variables, the job's, and where to listen", () => {
    expect(
      localProcess(job, { PATH: "/usr/bin", SECRET: "x", HOME: "/root" }, "/logs/j/exit", spawn),
    ).toEqual({
      command: "/bin/sh",
      args: [
        "-c",
        WRAPPER,
        "slipway-run",
        "/logs/j/exit",
        "/opt/supervise",
        "/usr/bin/python3",
        "app.py",
      ],
      cwd: "/data/content/a/bundles/1",
      env: {
        PATH: "/usr/bin",
        HOME: "/logs/j/home",
        TMPDIR: "/logs/j/home",
        APP: "1",
        SLIPWAY_HOST: "127.0.0.1",
        SLIPWAY_PORT_HTTP: "41234",
      },
    });
  });

  it("under bubblewrap, hides the data and job folders, binds back only the job's own, and switches account last", () => {
    const sandbox = {
      bubblewrap: "/usr/bin/bwrap",
      hidden: ["/data", "/logs"],
      user: { uid: 999, gid: 998 },
    };
    const { command, args } = localProcess(job, {}, "/logs/j/exit", { ...spawn, sandbox });
    expect([command, ...args.slice(0, args.indexOf("/bin/sh"))]).toEqual([
      "/usr/bin/bwrap",
      ...["--ro-bind", "/", "/", "--dev", "/dev", "--bind", "/tmp", "/tmp"],
      // Outside the hidden folders first, so that none of them can bring a hidden one back.
      ...["--ro-bind", "/opt/slipway/runtime", "/opt/slipway/runtime"],
      ...["--perms", "0755", "--tmpfs", "/data", "--perms", "0755", "--tmpfs", "/logs"],
      ...["--perms", "0755", "--dir", "/data/content"],
      ...["--perms", "0755", "--dir", "/data/content/a"],
      ...["--perms", "0755", "--dir", "/data/content/a/bundles"],
      ...["--ro-bind", "/data/content/a/bundles/1", "/data/content/a/bundles/1"],
      ...["--bind", "/logs/j", "/logs/j"],
      ...["--chdir", "/data/content/a/bundles/1", "--"],
      ...["/usr/bin/setpriv", "--reuid=999", "--regid=998", "--clear-groups", "--"],
    ]);
    expect(args.slice(args.indexOf("/bin/sh"))).toEqual([
      "/bin/sh",
      "-c",
      WRAPPER,
      "slipway-run",
      "/logs/j/exit",
      "/opt/supervise",
      "/usr/bin/python3",
      "app.py",
    ]);
  });

  it.each<[string, Partial<Job>, string]>([
    [
      "an image other than the host",
      { image: "ghcr.io/acme/content:py3.11" },
      "The local runner cannot run the image ghcr.io/acme/content:py3.11: it runs content on this machine only, in environments of the Local cluster (enable [Docker] or [Kubernetes] to run images).",
    ],
    [
      "a host folder at another path",
      { volumes: [{ kind: "host", path: "/srv/wheels", target: "/wheels", readOnly: true }] },
      "The local runner cannot mount /srv/wheels at a different path (/wheels).",
    ],
    [
      "an NFS volume",
      { volumes: [{ kind: "nfs", server: "nas", path: "/x", target: "/mnt/x", readOnly: true }] },
      "The local runner cannot mount nfs volumes (at /mnt/x).",
    ],
    [
      "resource settings",
      { resources: { memoryLimitBytes: 1 << 30, cpuLimit: 1 } },
      "The local runner cannot enforce resource settings (memoryLimitBytes, cpuLimit).",
    ],
    [
      "an empty command",
      { argv: [], supervisor: null },
      "The local runner cannot run a job with no command.",
    ],
  ])("refuses %s", (_, change, message) => {
    expect(() => localProcess({ ...job, ...change }, {}, "/s", spawn)).toThrow(message);
  });
});

describe("the wrapper script", () => {
  it("runs arguments as given, never as shell text, and records the exit code", () => {
    const result = wrap(["/bin/sh", "-c", 'printf "%s|" "$@"; exit 4', "x", "a b", "$(id)", "'q'"]);
    expect(result).toEqual({ out: "a b|$(id)|'q'|", code: 4, recorded: "4\n" });
  });

  it("reports a command that does not exist as exit code 127", () => {
    const result = wrap(["/nonexistent/program"]);
    expect(result.code).toBe(127);
    expect(result.recorded).toBe("127\n");
    expect(result.out).toContain("/nonexistent/program");
  });
});
