/**
 * An in-memory runner backend: jobs are acted out from a Script (see script.ts) instead of
 * being executed, their files live in a map, and a job that serves HTTP answers on a real
 * loopback port so the server's proxy can reach it. Several FakeRunner instances over one
 * FakeWorld stand for a server that restarted while its work went on. It passes the same
 * conformance suite as the real backends, so code tested on it meets the real contract.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import {
  type Endpoint,
  type Job,
  type JobPaths,
  type ResourceName,
  type RunHandle,
  type Runner,
  type RunState,
  type StartOptions,
  UnsupportedByBackend,
} from "../../src/runners/runner.js";
import { type Script, type Step, scriptOf } from "./script.js";

interface FakeJob {
  readonly job: Job;
  readonly id: string;
  readonly lines: string[];
  exitCode: number | null;
  exited: boolean;
  onStop: readonly Step[] | "ignore" | null;
  server: Server | null;
  beating: NodeJS.Timeout | null;
  ready: boolean;
  /** Wakes whoever waits for the job's next line or its end. */
  changed: () => void;
  waiters: Set<() => void>;
  stopping: boolean;
}

/** What a fake cluster holds: its jobs and files. Shared by every FakeRunner made over it. */
export class FakeWorld {
  readonly jobs = new Map<string, FakeJob>();
  readonly files = new Map<string, string>();
  /** Every call made to any runner over this world, in order, as "verb name". */
  readonly calls: string[] = [];
  #ids = 0;
  nextId(): string {
    return `fake-${++this.#ids}`;
  }

  /** Loses a job without a trace, as a cluster that lost its node would: it reads as gone. */
  lose(name: string): void {
    const job = this.jobs.get(name);
    this.jobs.delete(name);
    job?.server?.close();
    job?.changed();
  }
}

export interface FakeOptions {
  world?: FakeWorld;
  paths?: JobPaths;
  /** What a job does; by default the Script its argv was made from. */
  program?: (job: Job) => Script;
  enforces?: readonly ResourceName[];
}

export class FakeRunner implements Runner {
  readonly backend = "fake";
  readonly world: FakeWorld;
  readonly paths: JobPaths;
  readonly enforces: ReadonlySet<ResourceName>;
  readonly user = null;
  readonly #program: (job: Job) => Script;

  constructor(options: FakeOptions = {}) {
    this.world = options.world ?? new FakeWorld();
    this.paths = options.paths ?? { data: "/data", runtime: "/opt/slipway-runtime" };
    this.enforces = new Set(options.enforces ?? []);
    this.#program =
      options.program ??
      ((job) =>
        scriptOf(job.argv) ?? [
          { out: `fake: ${job.argv[0]}: not found`, stderr: true },
          { exit: 127 },
        ]);
    this.world.files.set(
      path.join(this.paths.runtime, "python/slipway_launch.py"),
      '"""Serve a Python web application for Slipway"""\n',
    );
  }

  async start(job: Job, options: StartOptions = {}): Promise<RunHandle> {
    this.world.calls.push(`start ${job.name}`);
    const refused = Object.keys(job.resources).filter((r) => !this.enforces.has(r as never));
    if (refused.length > 0) {
      throw new UnsupportedByBackend("fake", `enforce ${refused.join(", ")}`);
    }
    const existing = this.world.jobs.get(job.name);
    if (existing && !existing.exited && sameSpec(existing.job, job)) return handleOf(existing);
    if (existing) await this.remove(handleOf(existing));
    const fake: FakeJob = {
      job,
      id: this.world.nextId(),
      lines: [],
      exitCode: null,
      exited: false,
      onStop: null,
      server: null,
      beating: null,
      ready: job.ports.length === 0,
      stopping: false,
      waiters: new Set(),
      changed: () => {
        for (const waiter of fake.waiters) waiter();
        fake.waiters.clear();
      },
    };
    this.world.jobs.set(job.name, fake);
    options.onProgress?.(`fake: started ${job.name}`);
    const script = this.#program(job);
    void this.#act(fake, script);
    return handleOf(fake);
  }

  async poll(handle: RunHandle): Promise<RunState> {
    const fake = this.#find(handle);
    if (!fake || fake.exited) {
      return { state: "exited", exitCode: fake?.exitCode ?? null, reason: null };
    }
    const address = fake.server?.address() as AddressInfo | null | undefined;
    const endpoints: Record<string, Endpoint> = address
      ? { http: { host: "127.0.0.1", port: address.port } }
      : {};
    return { state: "running", ready: fake.ready, endpoints };
  }

  async stop(handle: RunHandle, options: { graceMs?: number } = {}): Promise<void> {
    this.world.calls.push(`stop ${handle.name}`);
    const fake = this.#find(handle);
    if (!fake || fake.exited) return;
    fake.stopping = true;
    if (fake.onStop === "ignore") {
      await sleep(options.graceMs ?? 1000);
      this.#end(fake, 137);
    } else if (fake.onStop) {
      for (const step of fake.onStop) this.#quick(fake, step);
      this.#end(fake, 0);
    } else {
      this.#end(fake, 143);
    }
  }

  async *logs(handle: RunHandle, options: { follow?: boolean } = {}): AsyncIterable<string> {
    let fake = this.#find(handle);
    let seen = 0;
    while (fake) {
      while (seen < fake.lines.length) yield fake.lines[seen++]!;
      if (!options.follow || fake.exited) return;
      await new Promise<void>((resolve) => fake?.waiters.add(resolve));
      fake = this.#find(handle);
    }
  }

  async remove(handle: RunHandle): Promise<void> {
    this.world.calls.push(`remove ${handle.name}`);
    const fake = this.#find(handle);
    if (!fake) return;
    if (!fake.exited) this.#end(fake, 137);
    this.world.jobs.delete(fake.job.name);
    fake.changed();
  }

  async list(): Promise<RunHandle[]> {
    return [...this.world.jobs.values()].map(handleOf);
  }

  #find(handle: RunHandle): FakeJob | undefined {
    if (handle.backend !== "fake" || handle.version !== 1) {
      throw new UnsupportedByBackend(
        "fake",
        `use a ${handle.backend} handle of version ${handle.version}`,
      );
    }
    const fake = this.world.jobs.get(handle.name);
    return fake && fake.id === handle.id ? fake : undefined;
  }

  async #act(fake: FakeJob, script: Script): Promise<void> {
    // A job starts after start() returns, as a process or container would.
    await sleep(0);
    for (const step of script) {
      if (fake.exited) return;
      if ("exit" in step) return this.#end(fake, step.exit);
      if ("idle" in step) return;
      if ("serve" in step) {
        fake.server = await listen(fake.job.name);
        fake.ready = true;
      } else if ("beats" in step) {
        fake.beating = setInterval(() => {
          fake.lines.push("beat");
          fake.changed();
        }, 50);
      } else if (!this.#quick(fake, step)) return this.#end(fake, 1);
    }
    this.#end(fake, 0);
  }

  /** Acts out a step that takes no time; false when it failed. */
  #quick(fake: FakeJob, step: Step): boolean {
    const { job } = fake;
    const print = (line: string) => fake.lines.push(line);
    if ("out" in step) print(step.out);
    else if ("env" in step) print(job.env[step.env] ?? this.#backendEnv(fake)[step.env] ?? "");
    else if ("pwd" in step) print(job.workingDir);
    else if ("cat" in step) {
      const text = this.world.files.get(this.#resolve(job, step.cat));
      if (text === undefined) return false;
      fake.lines.push(...text.replace(/\n$/, "").split("\n"));
    } else if ("write" in step) {
      if (!this.#writable(job, step.write)) return false;
      this.world.files.set(this.#resolve(job, step.write), step.text);
    } else if ("probeWrite" in step) {
      print(this.#writable(job, step.probeWrite) ? "writable" : "read-only");
    } else if ("onStop" in step) fake.onStop = step.onStop;
    fake.changed();
    return true;
  }

  #backendEnv(fake: FakeJob): Record<string, string> {
    const address = fake.server?.address() as AddressInfo | null | undefined;
    return address ? { SLIPWAY_HOST: "127.0.0.1", SLIPWAY_PORT_HTTP: String(address.port) } : {};
  }

  #resolve(job: Job, file: string): string {
    return path.resolve(job.workingDir, file);
  }

  /** Only data sub-paths mounted read-write, and the job's own /tmp, take writes. */
  #writable(job: Job, file: string): boolean {
    const target = this.#resolve(job, file);
    if (target.startsWith("/tmp/")) return true;
    return job.volumes.some(
      (v) =>
        v.kind === "data" &&
        !v.readOnly &&
        target.startsWith(`${path.join(this.paths.data, v.subPath)}/`),
    );
  }

  #end(fake: FakeJob, code: number): void {
    if (fake.exited) return;
    fake.exited = true;
    fake.exitCode = code;
    if (fake.beating) clearInterval(fake.beating);
    fake.server?.close();
    fake.server?.closeAllConnections();
    fake.changed();
  }
}

function handleOf(fake: FakeJob): RunHandle {
  return { version: 1, backend: "fake", name: fake.job.name, id: fake.id };
}

function sameSpec(a: Job, b: Job): boolean {
  return (a.labels["spec-hash"] ?? "") === (b.labels["spec-hash"] ?? "");
}

function listen(name: string): Promise<Server> {
  const server = createServer((_, response) => {
    response.setHeader("content-type", "text/plain");
    response.end(`ok from ${name}\n`);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}
