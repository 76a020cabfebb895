/**
 * Runs jobs as processes on the Slipway host, each in its own process group (a new session)
 * so stopping a job also stops whatever it started. stdout and stderr go to a file each per
 * job, so each line's stream is known; the command's exit code goes to a status file written by the job's own wrapper; the
 * handle holds the pid and the process start time, so a restarted server tells its process
 * from another that reused the pid, and still learns the exit code of a job that ended while
 * it was down.
 */
import { spawn } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import { closeSync, openSync } from "node:fs";
import { chown, mkdir, open, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { constants } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { accepts, freePort } from "../ports.js";
import {
  type Job,
  type JobPaths,
  LineSplitter,
  type OutputLine,
  type ResourceName,
  type RunHandle,
  type Runner,
  type RunState,
  textOf,
  UnsupportedByBackend,
} from "../runner.js";
import { LOCAL_DEFAULTS, type LocalConfig } from "./local-config.js";
import { localProcess } from "./local-manifest.js";

export type { LocalConfig } from "./local-config.js";

export interface LocalHandle extends RunHandle {
  readonly backend: "local";
  /** Process id of the job's wrapper, which leads the job's process group; -1 if it never ran. */
  readonly pid: number;
  /** Start time of that process in clock ticks since boot (/proc/<pid>/stat field 22). */
  readonly started: string;
  /** The job's own folder: its output, exit status and home. */
  readonly dir: string;
  readonly specHash: string;
  /** The host ports picked for the job's declared ports, by name. */
  readonly ports: Readonly<Record<string, number>>;
}

export class LocalRunner implements Runner {
  readonly backend = "local";
  readonly paths: JobPaths;
  readonly enforces: ReadonlySet<ResourceName> = new Set();
  readonly user: { readonly uid: number; readonly gid: number } | null;
  readonly #config: Required<LocalConfig>;
  /** Exits of processes this instance spawned, settled once their status is on disk. */
  readonly #exits = new Map<number, Promise<void>>();
  readonly #starting = new Map<string, Promise<RunHandle>>();

  constructor(config: LocalConfig) {
    this.#config = { ...LOCAL_DEFAULTS, ...config };
    this.paths = { data: config.dataDir, runtime: config.runtimeDir };
    this.user = this.#config.user;
  }

  start(job: Job): Promise<RunHandle> {
    // Two starts of one name in this instance share one process, as two across restarts do.
    const pending = this.#starting.get(job.name);
    if (pending) return pending;
    const started = this.#start(job).finally(() => this.#starting.delete(job.name));
    this.#starting.set(job.name, started);
    return started;
  }

  async #start(job: Job): Promise<RunHandle> {
    const handleFile = this.#handleFile(job.name);
    const specHash = job.labels["spec-hash"] ?? "";
    const previous = await readHandle(handleFile);
    if (previous && (await this.poll(previous)).state === "running") {
      if (previous.specHash === specHash) return previous;
      await this.remove(previous);
    }
    // As a kubelet makes a missing subPath, so the folders a job mounts exist when it starts.
    for (const volume of job.volumes) {
      if (volume.kind === "data") {
        await mkdir(path.join(this.paths.data, volume.subPath), { recursive: true });
      }
    }
    const ports: Record<string, number> = {};
    for (const port of job.ports) ports[port.name] = await freePort();
    const dir = path.join(this.#config.logDir, `${fileName(job.name)}.${randomUUID().slice(0, 8)}`);
    const home = path.join(dir, "home");
    await mkdir(home, { recursive: true });
    const user = this.#config.user;
    if (user) {
      await chown(dir, user.uid, user.gid);
      await chown(home, user.uid, user.gid);
    }
    const status = statusFile(dir);
    const { bubblewrap, logDir, hidden } = this.#config;
    const spec = localProcess(job, process.env, status, {
      paths: this.paths,
      ports,
      home,
      dir,
      sandbox: bubblewrap
        ? { bubblewrap, hidden: outermost([...hidden, this.paths.data, logDir]), user }
        : null,
    });
    const out = openSync(streamFile(dir, "stdout"), "w");
    const err = openSync(streamFile(dir, "stderr"), "w");
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ["ignore", out, err],
      // Under bubblewrap the job switches account itself, once its mounts are made.
      ...(user && !bubblewrap ? { uid: user.uid, gid: user.gid } : {}),
    });
    closeSync(out);
    closeSync(err);
    // The wrapper records the code itself; this covers a wrapper killed by a signal.
    const exited = new Promise<void>((resolve) => {
      child.once("exit", (code, signal) => {
        const status_ = code ?? 128 + (signal ? constants.signals[signal] : 0);
        writeFile(status, `${status_}\n`, { flag: "wx" })
          .catch(() => {})
          .finally(() => resolve());
      });
    });
    const pid = await new Promise<number>((resolve, reject) => {
      child.once("spawn", () => resolve(child.pid ?? -1));
      child.once("error", reject);
    }).catch(async (error: Error) => {
      await writeFile(
        streamFile(dir, "stderr"),
        `slipway: cannot start ${job.name}: ${error.message}\n`,
      );
      await writeFile(status, "127\n");
      return -1;
    });
    if (pid > 0) {
      this.#exits.set(pid, exited);
      void exited.then(() => this.#exits.delete(pid));
      child.unref();
    }
    const handle: LocalHandle = {
      version: 2,
      backend: "local",
      name: job.name,
      pid,
      started: pid > 0 ? ((await processStat(pid))?.started ?? "") : "",
      dir,
      specHash,
      ports,
    };
    await writeFile(handleFile, JSON.stringify(handle));
    return handle;
  }

  async poll(handle: RunHandle): Promise<RunState> {
    const h = own(handle);
    if (!h) return { state: "exited", exitCode: null, reason: null };
    if (await this.#leaderAlive(h)) {
      const endpoints = Object.fromEntries(
        Object.entries(h.ports).map(([name, port]) => [name, { host: "127.0.0.1", port }]),
      );
      const first = Object.values(h.ports)[0];
      const ready = first === undefined || (await accepts("127.0.0.1", first));
      return { state: "running", ready, endpoints };
    }
    await this.#exits.get(h.pid);
    const status = await readFile(statusFile(h.dir), "utf8").then(
      (text) => Number.parseInt(text, 10),
      () => Number.NaN,
    );
    return { state: "exited", exitCode: Number.isNaN(status) ? null : status, reason: null };
  }

  async stop(handle: RunHandle, options: { graceMs?: number } = {}): Promise<void> {
    const h = own(handle);
    if (!h || !(await this.#leaderAlive(h))) return;
    // The group outlives its leader while children that ignore SIGTERM remain, and its id
    // cannot be reused meanwhile; so the group, not the leader, is what must be gone.
    const grace = options.graceMs ?? this.#config.stopGraceMs;
    if (!(await this.#terminateWithin(h.pid, grace))) {
      signalGroup(h.pid, "SIGKILL");
      await this.#terminateWithin(h.pid, Number.POSITIVE_INFINITY, "SIGKILL");
    }
    await this.#exits.get(h.pid);
  }

  logs(handle: RunHandle, options: { follow?: boolean } = {}): AsyncIterable<string> {
    return textOf(this.output(handle, options));
  }

  /** Both files read as they grow; lines that arrive in one poll come stdout first. */
  async *output(handle: RunHandle, options: { follow?: boolean } = {}): AsyncIterable<OutputLine> {
    const h = own(handle);
    if (!h) return;
    const streams = STREAMS.map((source) => ({
      source,
      file: streamFile(h.dir, source),
      offset: 0,
      lines: new LineSplitter(),
    }));
    const grown = async () => {
      for (const stream of streams) {
        if ((await fileSize(stream.file)) > stream.offset) return true;
      }
      return false;
    };
    for (;;) {
      let read = false;
      for (const stream of streams) {
        const size = await fileSize(stream.file);
        if (size < 0) return;
        if (size <= stream.offset) continue;
        const chunk = await readChunk(stream.file, stream.offset, size - stream.offset);
        stream.offset += chunk.length;
        read = true;
        for (const text of stream.lines.push(chunk)) yield { source: stream.source, text };
      }
      if (read) continue;
      // Whether the process lives, not whether it is ready: a follower checks ten times a
      // second, and a readiness check would open a connection to the application each time.
      if (!options.follow || !(await this.#leaderAlive(h))) {
        // The process may have written its last bytes between the size check and the poll.
        if (await grown()) continue;
        for (const stream of streams) {
          for (const text of stream.lines.end()) yield { source: stream.source, text };
        }
        return;
      }
      await sleep(this.#config.pollIntervalMs);
    }
  }

  async remove(handle: RunHandle): Promise<void> {
    const h = own(handle);
    if (!h) return;
    await this.stop(h, { graceMs: 0 });
    const handleFile = this.#handleFile(h.name);
    // A newer start of the same name owns the handle file now; leave it to that one.
    const current = await readHandle(handleFile);
    if (current?.pid === h.pid && current.started === h.started) {
      await rm(handleFile, { force: true });
    }
    await rm(h.dir, { recursive: true, force: true });
  }

  async list(): Promise<RunHandle[]> {
    const names = await readdir(this.#config.logDir).catch(() => [] as string[]);
    const handles = await Promise.all(
      names
        .filter((name) => name.endsWith(HANDLE_SUFFIX))
        .map((name) => readHandle(path.join(this.#config.logDir, name))),
    );
    return handles.filter((h): h is LocalHandle => h !== undefined);
  }

  async #leaderAlive(h: LocalHandle): Promise<boolean> {
    if (h.pid <= 0 || h.started === "") return false;
    const proc = await processStat(h.pid);
    return proc !== undefined && proc.started === h.started && proc.state !== "Z";
  }

  /**
   * Sends `signal` once to every live process of the group, including those forked after the
   * first round (a shell that caught the signal just before starting its command), until none
   * is left or `ms` has passed. Resolves true once the group is gone.
   */
  async #terminateWithin(
    pgid: number,
    ms: number,
    signal: NodeJS.Signals = "SIGTERM",
  ): Promise<boolean> {
    const deadline = Date.now() + ms;
    const signalled = new Set<string>();
    for (;;) {
      const members = await groupMembers(pgid);
      if (members.length === 0) return true;
      for (const member of members) {
        // A shell's child signalled between fork and exec runs the shell's handler, then execs
        // the command with the same pid and start time: the new command must be signalled too.
        const id = `${member.pid}:${member.started}:${member.command}`;
        if (signalled.has(id)) continue;
        signalled.add(id);
        signalProcess(member.pid, signal);
      }
      if (Date.now() >= deadline) return false;
      await sleep(this.#config.pollIntervalMs);
    }
  }

  /** One handle file per name; a folder per start, so removing an old start spares a newer one. */
  #handleFile(name: string): string {
    return path.join(this.#config.logDir, `${fileName(name)}${HANDLE_SUFFIX}`);
  }
}

const HANDLE_SUFFIX = ".handle.json";

/** A readable file name for a job name, unique by its digest. */
function fileName(name: string): string {
  const readable = name.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 80);
  return `${readable}-${createHash("sha256").update(name).digest("hex").slice(0, 8)}`;
}

function own(handle: RunHandle): LocalHandle | null {
  if (handle.backend !== "local" || handle.version !== 2) {
    throw new UnsupportedByBackend(
      "local",
      `use a ${handle.backend} handle of version ${handle.version}`,
    );
  }
  const { pid, started, dir, ports } = handle;
  const complete =
    typeof pid === "number" &&
    typeof started === "string" &&
    typeof dir === "string" &&
    path.isAbsolute(dir) &&
    typeof ports === "object" &&
    ports !== null;
  return complete ? (handle as LocalHandle) : null;
}

const STREAMS = ["stdout", "stderr"] as const;

function streamFile(dir: string, source: OutputLine["source"]): string {
  return path.join(dir, `${source}.log`);
}

function statusFile(dir: string): string {
  return path.join(dir, "exit-status");
}

async function readHandle(file: string): Promise<LocalHandle | undefined> {
  return readFile(file, "utf8").then(
    (text) => JSON.parse(text) as LocalHandle,
    () => undefined,
  );
}

/** State letter, process group and start time of a process, from /proc/<pid>/stat. */
async function processStat(
  pid: number | string,
): Promise<{ state: string; pgrp: number; started: string; command: string } | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return {
      state: fields[0] ?? "",
      pgrp: Number(fields[2]),
      started: fields[19] ?? "",
      command: text.slice(text.indexOf("(") + 1, text.lastIndexOf(")")),
    };
  } catch {
    return undefined;
  }
}

/** The live processes of a group; zombies are left out, as they wait only on their reaper. */
async function groupMembers(
  pgid: number,
): Promise<{ pid: number; started: string; command: string }[]> {
  const members: { pid: number; started: string; command: string }[] = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const proc = await processStat(entry);
    if (proc && proc.pgrp === pgid && proc.state !== "Z") {
      members.push({ pid: Number(entry), started: proc.started, command: proc.command });
    }
  }
  return members;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  signalProcess(-pgid, signal);
}

function signalProcess(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // Already gone: nothing left to signal.
  }
}

async function fileSize(file: string): Promise<number> {
  return stat(file).then(
    (s) => s.size,
    () => -1,
  );
}

/** At most 1 MiB from `start`, so a large log is read a piece at a time. */
async function readChunk(file: string, start: number, available: number): Promise<Buffer> {
  const handle = await open(file, "r");
  try {
    const buffer = Buffer.alloc(Math.min(available, 1 << 20));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, start);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** The folders not inside another of them. */
function outermost(folders: readonly string[]): string[] {
  return folders.filter(
    (f, i) => folders.indexOf(f) === i && !folders.some((o) => f.startsWith(`${o}/`)),
  );
}
