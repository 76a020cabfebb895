/**
 * Runs jobs as processes on the Slipway host, each in its own process group so stopping it
 * also stops whatever it started. Output goes to a log file per job; the handle holds the
 * pid and the process start time, so a restarted server can tell its process from another
 * that reused the pid.
 */
import { spawn } from "node:child_process";
import { closeSync, createReadStream, openSync } from "node:fs";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Job, RunHandle, Runner, RunState } from "../runner.js";
import { localProcess } from "./local-manifest.js";

export interface LocalConfig {
  /** Folder for each job's output and exit status. */
  logDir: string;
  /** How long a stop waits after SIGTERM before SIGKILL, unless the caller says. */
  stopGraceMs?: number;
}

interface LocalHandle extends RunHandle {
  readonly backend: "local";
  readonly pid: number;
  /** Start time of the process in clock ticks since boot (/proc/<pid>/stat field 22). */
  readonly started: string;
  readonly logFile: string;
}

const POLL_MS = 100;

export class LocalRunner implements Runner {
  readonly backend = "local";
  readonly #running = new Map<string, LocalHandle>();

  constructor(private readonly config: LocalConfig) {}

  async start(job: Job): Promise<RunHandle> {
    const existing = this.#running.get(job.name);
    if (existing && (await this.poll(existing)).state === "running") return existing;

    const spec = localProcess(job, process.env);
    await mkdir(this.config.logDir, { recursive: true });
    const logFile = path.join(this.config.logDir, `${safe(job.name)}.log`);
    await rm(statusFile(logFile), { force: true });
    const fd = openSync(logFile, "w");
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ["ignore", fd, fd],
    });
    closeSync(fd);
    const pid = await new Promise<number>((resolve, reject) => {
      child.once("spawn", () => resolve(child.pid!));
      child.once("error", reject);
    }).catch(async (error: NodeJS.ErrnoException) => {
      await writeFile(logFile, `slipway: cannot start ${spec.command}: ${error.message}\n`);
      await writeFile(statusFile(logFile), "127");
      return -1;
    });
    child.once("exit", (code, signal) => {
      void writeFile(
        statusFile(logFile),
        String(code ?? (signal ? 128 + signalNumber(signal) : 1)),
      );
    });
    child.unref();
    const handle: LocalHandle = {
      version: 1,
      backend: "local",
      name: job.name,
      pid,
      started: pid > 0 ? ((await startTime(pid)) ?? "") : "",
      logFile,
    };
    this.#running.set(job.name, handle);
    return handle;
  }

  async poll(handle: RunHandle): Promise<RunState> {
    const h = handle as LocalHandle;
    if (
      h.pid > 0 &&
      (await startTime(h.pid)) === h.started &&
      h.started !== "" &&
      !(await exitStatus(h.logFile))
    ) {
      return { state: "running" };
    }
    const status = await exitStatus(h.logFile);
    return { state: "exited", exitCode: status === undefined ? null : Number(status) };
  }

  async stop(handle: RunHandle, options: { graceMs?: number } = {}): Promise<void> {
    const h = handle as LocalHandle;
    const grace = options.graceMs ?? this.config.stopGraceMs ?? 5000;
    if ((await this.poll(h)).state !== "running") return;
    signalGroup(h.pid, "SIGTERM");
    const deadline = Date.now() + grace;
    while (Date.now() < deadline) {
      if ((await this.poll(h)).state !== "running") return;
      await sleep(POLL_MS);
    }
    signalGroup(h.pid, "SIGKILL");
    while ((await this.poll(h)).state === "running") await sleep(POLL_MS);
  }

  async *logs(handle: RunHandle, options: { follow?: boolean } = {}): AsyncIterable<string> {
    const h = handle as LocalHandle;
    let offset = 0;
    let rest = "";
    for (;;) {
      const size = await stat(h.logFile).then(
        (s) => s.size,
        () => -1,
      );
      if (size < 0) return;
      if (size > offset) {
        const chunk = await readRange(h.logFile, offset, size);
        offset = size;
        const lines = (rest + chunk).split("\n");
        rest = lines.pop()!;
        yield* lines;
        continue;
      }
      if (!options.follow || (await this.poll(h)).state !== "running") {
        // The process may have written its last bytes between the size check and the poll.
        if (
          (await stat(h.logFile).then(
            (s) => s.size,
            () => 0,
          )) > offset
        )
          continue;
        if (rest) yield rest;
        return;
      }
      await sleep(POLL_MS);
    }
  }

  async remove(handle: RunHandle): Promise<void> {
    const h = handle as LocalHandle;
    await this.stop(h, { graceMs: 0 });
    if (this.#running.get(h.name) === h) this.#running.delete(h.name);
    await rm(h.logFile, { force: true });
    await rm(statusFile(h.logFile), { force: true });
  }
}

function statusFile(logFile: string): string {
  return `${logFile}.exit`;
}

async function exitStatus(logFile: string): Promise<string | undefined> {
  return readFile(statusFile(logFile), "utf8").then(
    (text) => text.trim() || undefined,
    () => undefined,
  );
}

async function startTime(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] === "Z") return undefined;
    return fields[19];
  } catch {
    return undefined;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone: nothing left to signal.
  }
}

function signalNumber(signal: NodeJS.Signals): number {
  return { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 }[signal as string] ?? 0;
}

async function readRange(file: string, start: number, end: number): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of createReadStream(file, { start, end: end - 1 }))
    chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function safe(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, "_");
}
