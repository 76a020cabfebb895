/** `npm run kube:standin`: starts, writes a kubeconfig that kubectl uses, stops on SIGTERM; bad flags are refused. */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KubeTools, kubeTools } from "../support/kube-tools.js";
import { eventually, kubectl } from "./test-support.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const started: ChildProcess[] = [];

/** Through `npm run kube:standin`, or straight through node (so that a signal reaches the stand-in itself). */
function start(
  args: string[],
  via: "npm" | "node" = "npm",
): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const argv =
    via === "npm"
      ? ["run", "-s", "kube:standin", "--", ...args]
      : ["--import", "tsx", "test/kube/cli.ts", ...args];
  const child = spawn(via === "npm" ? "npm" : process.execPath, argv, {
    cwd: root,
    stdio: ["ignore", "pipe", "pipe"],
  });
  started.push(child);
  let text = "";
  child.stdout!.on("data", (c: Buffer) => {
    text += c.toString();
  });
  child.stderr!.on("data", (c: Buffer) => {
    text += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => text, exited };
}

describe("the kube:standin command", { timeout: 120_000 }, () => {
  let dir: string;
  let tools: KubeTools;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "slipway-standin-cli-"));
    tools = await kubeTools();
  }, 120_000);
  afterAll(async () => {
    // A failed test must not leave a stand-in running.
    for (const child of started)
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  });

  it("serves kubectl through the kubeconfig it writes, backs --pv claims, and stops on SIGTERM", async () => {
    const kubeconfig = path.join(dir, "kubeconfig");
    const run = start(
      ["--port", "0", "--kubeconfig", kubeconfig, "--pv", `shared=${dir}/shared`],
      "node",
    );
    const url = await eventually(
      "the listening line",
      () => /listening on (http:\/\/\S+)/.exec(run.output())?.[1],
      60_000,
    );
    expect(run.output()).toContain(`claim shared is backed by ${dir}/shared`);
    expect(await readFile(kubeconfig, "utf8")).toContain(`server: ${url}`);
    const nodes = await kubectl(tools.kubectl, kubeconfig, ["get", "nodes", "-o", "name"]);
    expect(nodes.stdout.trim()).toBe("node/standin-node");
    run.child.kill("SIGTERM");
    expect(await run.exited).toBe(0);
    expect(run.output()).toContain("stopping: removing the pods' containers");
  });

  it("refuses a --pv without a folder", async () => {
    const run = start(["--kubeconfig", path.join(dir, "k2"), "--pv", "shared"]);
    expect(await run.exited).not.toBe(0);
    expect(run.output()).toContain('expected CLAIM=HOSTDIR, got "shared"');
  });
});
