/**
 * A real Slipway server in a child process, for what an in-process server cannot show: being
 * killed with SIGKILL and started again over the same data, or its memory read from /proc.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import type { DeployTarget } from "./deploy.js";
import { callApi } from "./server.js";

export interface ServerProcess {
  url: string;
  /** The administrator's key, printed on the first start. */
  key: string;
  dataDir: string;
  /** Its .gcfg file, for `slipway ... --config`. */
  configFile: string;
  child: ChildProcess;
  call(method: string, apiPath: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Uploads the archive as a bundle of the content and deploys it; returns the task's id. */
  deploy(guid: string, archive: Buffer): Promise<string>;
  /** The task once it has finished, with its whole output. */
  finished(
    taskId: string,
  ): Promise<{ finished: true; code: number; error: string; output: string[] }>;
  /** The server as the deploy helpers take it: every call with the administrator's key. */
  readonly deployTarget: DeployTarget;
  /** The server's own process id (node itself; tsx, when the source runs, only as its loader). */
  readonly pid: number;
  /** Resident memory now, in bytes (VmRSS). */
  memory(): Promise<number>;
  /** Peak resident memory since the start or the last resetPeak, in bytes (VmHWM). */
  peakMemory(): Promise<number>;
  /** Starts measuring the peak afresh (Linux: writing 5 to clear_refs). */
  resetPeak(): Promise<void>;
  /** Kills the server without letting it clean up, as a crash would. */
  kill(): Promise<void>;
  /** Starts the server again over the same configuration and data. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface ProcessOptions {
  /** The built server (`npm run build`'s dist, as `npm start` runs it) instead of the source. */
  built?: boolean;
  logLevel?: string;
  /** Where its standard output, the JSON log, goes; nowhere by default. */
  logFile?: string;
}

/**
 * Starts a server whose configuration is `[Server]` plus the given gcfg text. A replica of
 * another server shares its data folder (the shared volume) and, its database already having
 * an administrator, is given that server's key.
 */
export async function startServerProcess(
  extraConfig = "",
  replicaOf?: Pick<ServerProcess, "dataDir" | "key">,
  options: ProcessOptions = {},
): Promise<ServerProcess> {
  const dir = await mkdtemp(path.join(tmpdir(), "slipway-process-"));
  const dataDir = replicaOf?.dataDir ?? path.join(dir, "data");
  const port = 20000 + Math.floor(Math.random() * 20000);
  const config = path.join(dir, "slipway.gcfg");
  await writeFile(
    config,
    `[Server]\nAddress = 127.0.0.1:${port}\nDataDir = ${dataDir}\nLogLevel = ${options.logLevel ?? "warn"}\n${extraConfig}`,
  );
  const url = `http://127.0.0.1:${port}`;
  let child: ChildProcess;
  let stderr = "";
  const launch = async () => {
    // node itself, not the tsx wrapper: killing it must kill the server, as a crash would.
    const entry = options.built
      ? [`${ROOT}bin/slipway.js`]
      : ["--import", "tsx", `${ROOT}src/cli/main.ts`];
    const log = options.logFile ? openSync(options.logFile, "a") : "ignore";
    child = spawn(process.execPath, [...entry, "server", "--config", config], {
      cwd: ROOT,
      stdio: ["ignore", log, "pipe"],
    });
    if (typeof log === "number") closeSync(log);
    child.stderr?.on("data", (d) => {
      stderr += d;
    });
    const exited = new Promise<never>((_, reject) =>
      child.once("exit", (code) => reject(new Error(`the server exited (${code}): ${stderr}`))),
    );
    exited.catch(() => {});
    for (;;) {
      const up = await Promise.race([
        fetch(`${url}/__ping__`).then(
          (r) => r.ok,
          () => false,
        ),
        exited,
      ]);
      if (up) return;
      await sleep(100);
    }
  };
  await launch();
  const key = replicaOf?.key ?? /API key is\s+(\S+)/.exec(stderr)?.[1];
  if (!key) throw new Error(`no administrator key was printed: ${stderr}`);
  const status = async (field: string) => {
    const text = await readFile(`/proc/${child.pid}/status`, "utf8");
    const kib = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
    if (!kib) throw new Error(`no ${field} in /proc/${child.pid}/status`);
    return Number(kib[1]) * 1024;
  };
  const server: ServerProcess = {
    url,
    key,
    dataDir,
    configFile: config,
    deployTarget: {
      url,
      keys: { administrator: key, publisher: key },
      call: (method, apiPath, given) => callApi(url, key, method, apiPath, given),
    },
    get child() {
      return child;
    },
    get pid() {
      return child.pid!;
    },
    memory: () => status("VmRSS"),
    peakMemory: () => status("VmHWM"),
    resetPeak: () => writeFile(`/proc/${child.pid}/clear_refs`, "5"),
    call: (method, apiPath, body) => callApi(url, key, method, `/__api__${apiPath}`, { body }),
    async deploy(guid, archive) {
      const uploaded = await fetch(`${url}/__api__/v1/content/${guid}/bundles`, {
        method: "POST",
        headers: { Authorization: `Key ${key}` },
        body: archive,
      });
      if (uploaded.status !== 200) throw new Error(`upload failed: ${await uploaded.text()}`);
      const { id } = (await uploaded.json()) as { id: string };
      const started = await server.call("POST", `/v1/content/${guid}/deploy`, { bundle_id: id });
      if (started.status !== 202) throw new Error(`deploy failed: ${JSON.stringify(started.body)}`);
      return started.body.task_id as string;
    },
    async finished(taskId) {
      for (;;) {
        const task = (await server.call("GET", `/v1/tasks/${taskId}?wait=5`)).body;
        if (task.finished) return task;
      }
    },
    async kill() {
      const gone = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGKILL");
      await gone;
    },
    async restart() {
      await launch();
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await gone;
    },
  };
  return server;
}
