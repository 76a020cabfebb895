import { describe, expect, it } from "vitest";
import type { Job } from "../runner.js";
import { localProcess } from "./local-manifest.js";

const job: Job = {
  name: "j",
  kind: "run",
  image: "ghcr.io/org/x:1",
  argv: ["/usr/bin/python3", "app.py"],
  env: { PORT: "8080" },
  workingDir: "/srv/app",
  mounts: [{ hostPath: "/srv/app", jobPath: "/srv/app", readOnly: true }],
  supervisor: "/opt/supervise",
  labels: {},
};

describe("local process manifest", () => {
  it("wraps the supervisor, keeps only the basic host variables and adds the job's", () => {
    expect(localProcess(job, { PATH: "/usr/bin", SECRET: "x", HOME: "/root" })).toEqual({
      command: "/opt/supervise",
      args: ["/usr/bin/python3", "app.py"],
      cwd: "/srv/app",
      env: { PATH: "/usr/bin", HOME: "/root", PORT: "8080" },
    });
  });

  it("refuses a mount the host cannot provide at the same path", () => {
    const moved = {
      ...job,
      mounts: [{ hostPath: "/data/cache", jobPath: "/opt/cache", readOnly: false }],
    };
    expect(() => localProcess(moved, {})).toThrow(
      "The local runner cannot mount /data/cache at a different path (/opt/cache).",
    );
  });
});
