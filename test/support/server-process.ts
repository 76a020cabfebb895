/**
 * A real `slipway server` in its own process, so a test can read what the server itself uses
 * (its peak resident memory from /proc) and can stop it as a crash would. It listens on a free
 * loopback port and keeps its data in a temporary folder; the first start's administrator key
 * is read from its standard error, as a user would.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

export interface ServerProcess {
  url: string;
  /** The administrator's API key. */
  key: string;
  pid: number;
  dataDir: string;
  /** Peak resident memory since start or the last resetPeak, in bytes (VmHWM). */
  peakMemory(): Promise<number>;
  /** Resident memory now, in bytes (VmRSS). */
  memory(): Promise<number>;
  /** Starts measuring the peak afresh (Linux: writing 5 to clear_refs). */
  resetPeak(): Promise<void>;
  /** Ends the server politely and removes its data. */
  stop(): Promise<void>;
}

/** Starts a server; `config` adds lines to its .gcfg (such as a [Bundles] section). */
export async function startServerProcess(config = ""): Promise<ServerProcess> {
  const dir = await mkdtemp(path.join(tmpdir(), "slipway-server-process-"));
  const dataDir = path.join(dir, "data");
  const file = path.join(dir, "slipway.gcfg");
  await writeFile(
    file,
    `[Server]\nAddress = 127.0.0.1:0\nDataDir = ${dataDir}\nLogLevel = info\n[Applications]\nHostEnvironment = false\n${config}`,
  );
  // node itself runs the server (tsx only as its loader), so the pid is the server's own.
  const child = spawn(
    process.execPath,
    ["--import", "tsx", `${root}src/cli/main.ts`, "server", "--config", file],
    { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
  );
  const { url, key } = await started(child);
  const status = async (field: string) => {
    const text = await readFile(`/proc/${child.pid}/status`, "utf8");
    const kib = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
    if (!kib) throw new Error(`no ${field} in /proc/${child.pid}/status`);
    return Number(kib[1]) * 1024;
  };
  return {
    url,
    key,
    pid: child.pid!,
    dataDir,
    peakMemory: () => status("VmHWM"),
    memory: () => status("VmRSS"),
    resetPeak: () => writeFile(`/proc/${child.pid}/clear_refs`, "5"),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGTERM");
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Waits for the log line that gives the URL and the banner that gives the key. */
function started(child: ChildProcess): Promise<{ url: string; key: string }> {
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    let url: string | undefined;
    let key: string | undefined;
    let done = false;
    const check = () => {
      url ??= /"url":"(http:\/\/[^"]+)"[^\n]*"msg":"Slipway is listening"/.exec(stdout)?.[1];
      key ??= /API key is\s+(\S+)/.exec(stderr)?.[1];
      if (url && key && !done) {
        done = true;
        resolve({ url, key });
      }
    };
    // Read to the end, kept only until started: a full pipe would stop the server's logging.
    child.stdout!.on("data", (d) => {
      if (done) return;
      stdout += d;
      check();
    });
    child.stderr!.on("data", (d) => {
      if (done) return;
      stderr += d;
      check();
    });
    child.once("exit", (code, signal) =>
      reject(new Error(`the server ended (${signal ?? code}) before it listened:\n${stderr}`)),
    );
  });
}
