/**
 * Running content as a reconciled resource, the way a Kubernetes controller treats its
 * objects. Deploys, requests, process exits and a periodic resync only queue a content guid;
 * one `reconcile(guid)` reads the desired state (the active bundle, its pick and build, the
 * content's process settings, the load every replica's proxy sees) and the observed state
 * (the runs table, polled through the runner), plans the difference with the pure
 * `planProcesses`, applies it, and writes each run's status. Nothing about processes lives
 * only in memory: a restarted server adopts the runs whose spec still matches and removes what
 * it does not know.
 */
import { EventEmitter } from "node:events";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import type { FastifyBaseLogger } from "fastify";
import type { Settings } from "../config/settings.js";
import { ApiError } from "../errors.js";
import type { Metrics } from "../metrics/metrics.js";
import { type Endpoint, outputOf, type RunHandle, type Runner } from "../runners/runner.js";
import { type ContentRow, contentKeptWarm, findContent } from "../store/content.js";
import { deleteContentLoad, peerLoads } from "../store/content-load.js";
import type { Store } from "../store/database.js";
import { liveLeases, releaseLease, SERVER_LEASE, takeLease, withLease } from "../store/leases.js";
import {
  activeRuns,
  deleteContentRuns,
  insertRun,
  type RunRow,
  updateRunOwner,
  updateRunStatus,
} from "../store/runs.js";
import { findTask } from "../store/tasks.js";
import type { ActiveBundle, ActiveBundles } from "./active-bundle.js";
import { runPlan } from "./app-commands.js";
import { commandInput, jobContext } from "./bundle-context.js";
import { clusterLoad } from "./cluster-load.js";
import { runLogSubPath } from "./data-layout.js";
import { runKey } from "./job-runs.js";
import { appJob, type Built, type JobContext } from "./jobs.js";
import { LoadPublisher } from "./load-publisher.js";
import type { LoadTracker, RunLoad } from "./load-tracker.js";
import { isCached, removeAbandonedBuilds } from "./package-cache.js";
import { type ObservedProcess, planProcesses } from "./process-plan.js";
import {
  DEFAULT_CONTENT_SETTINGS,
  type ProcessSettings,
  processSettings,
} from "./process-settings.js";
import { logLine } from "./run-log.js";
import type { SecretBox } from "./secret-box.js";
import { WorkQueue } from "./work-queue.js";

export interface ReconcilerDeps {
  store: Store;
  runner: Runner;
  settings: Settings;
  logger: FastifyBaseLogger;
  serverId: string;
  instance: string;
  load: LoadTracker;
  bundles: ActiveBundles;
  /** Opens the content's environment variables for its processes. */
  secrets: SecretBox;
  /**
   * Builds a bundle again, resolving once done: what it was built into is gone from the
   * package cache (its runtime cache was deleted), so a process cannot start until it is back.
   */
  rebuild(guid: string, bundleId: number): Promise<void>;
  metrics?: Metrics;
}

/** A process the proxy may send a request to. */
export interface ReadyProcess {
  readonly runId: number;
  readonly bundleId: number;
  readonly endpoint: Endpoint;
}

/** The content's `connection_timeout` and `read_timeout`, for the proxy; 0 means never. */
export interface ConnectionTimeouts {
  /** Longest a connection may pass with no data either way. */
  readonly idleMs: number;
  /** Longest a connection may pass without the client sending. */
  readonly readMs: number;
}

/** What the proxy is given for one request: the process, its timeouts and the release. */
export interface Assigned {
  readonly process: ReadyProcess;
  readonly timeouts: ConnectionTimeouts;
  /** Call when the request's connection has ended. */
  readonly release: () => void;
}

interface Desired {
  readonly specHash: string | null;
  readonly settings: ProcessSettings;
  readonly start?: (slot: number) => ReturnType<typeof appJob>;
  /** The bundle a start runs and what it was built into, which must still be there. */
  readonly bundleId?: number;
  readonly built?: Built;
}

interface Failure {
  readonly message: string;
  readonly count: number;
  readonly until: number;
}

/** How often every content item with processes is looked at again, whatever happened. */
const RESYNC_MS = 10_000;
/** How long a process that ended while starting may take to have its last output read. */
const OUTPUT_CATCH_UP_MS = 5_000;
/**
 * How long a replica's hold on a key's reconcile pass, or on being alive, lasts unrenewed: a
 * replica that dies holding one delays its peers by at most this.
 */
const LEASE_TTL_MS = 15_000;
/** How soon a key another replica is reconciling is tried again. */
const LEASE_RETRY_MS = 250;
/** How soon a process that is starting is polled again for readiness. */
const STARTING_RECHECK_MS = 100;

export class ProcessReconciler {
  readonly #deps: ReconcilerDeps;
  readonly #queue: WorkQueue;
  readonly #events = new EventEmitter();
  readonly #ready = new Map<string, ReadyProcess[]>();
  readonly #following = new Map<number, Promise<void>>();
  readonly #starting = new Set<number>();
  readonly #failures = new Map<string, Failure>();
  readonly #lastLines = new Map<number, string[]>();
  /** Each key's settings as of its last reconcile, for the proxy's quick checks. */
  readonly #settings = new Map<string, ProcessSettings>();
  /** Draft bundles being previewed, by content: each runs under a key of its own. */
  readonly #previews = new Map<string, Set<number>>();
  /** Rebuilds under way, by bundle: one at a time, however many keys wait for it. */
  readonly #rebuilding = new Map<number, Promise<void>>();
  /** Connections and waiting requests other replicas had on each key at its last pass. */
  readonly #peerDemand = new Map<string, number>();
  readonly #publisher: LoadPublisher;
  /** Ends the following of output when the server goes and leaves its processes running. */
  readonly #closing = new AbortController();
  #resync: NodeJS.Timeout | undefined;
  #alive: NodeJS.Timeout | undefined;

  constructor(deps: ReconcilerDeps) {
    this.#deps = deps;
    this.#events.setMaxListeners(0);
    this.#publisher = new LoadPublisher({
      db: deps.store.db,
      serverId: deps.serverId,
      load: deps.load,
      logger: deps.logger,
    });
    this.#queue = new WorkQueue((guid) => this.#reconcile(guid), {
      workers: 4,
      baseDelayMs: 200,
      maxDelayMs: 30_000,
      onError: (guid, error, retryInMs) =>
        deps.logger.warn({ content: guid, err: error, retryInMs }, "reconcile failed; retrying"),
    });
  }

  /** Adopts what a previous server left running, removes what nobody owns, then keeps watch. */
  async start(): Promise<void> {
    await this.#beAlive();
    this.#alive = setInterval(() => void this.#beAlive(), LEASE_TTL_MS / 3);
    this.#alive.unref();
    await this.#recover();
    this.#resync = setInterval(() => void this.#resyncAll(), RESYNC_MS);
    this.#resync.unref();
  }

  enqueue(guid: string): void {
    this.#queue.add(guid);
  }

  /**
   * Stops the queue, then every process this server runs, unless `leaveRunning`: then they go
   * on for the next server to adopt (a rolling restart, or a test standing for a crash).
   */
  async close(options: { leaveRunning?: boolean } = {}): Promise<void> {
    clearInterval(this.#resync);
    await this.#queue.close();
    clearInterval(this.#alive);
    if (options.leaveRunning) {
      this.#closing.abort();
      await Promise.allSettled(this.#following.values());
      await this.#gone();
      return;
    }
    const rows = (await activeRuns(this.#deps.store.db)).filter(
      (row) => row.kind === "run" && row.server_id === this.#deps.serverId,
    );
    await Promise.allSettled(rows.map((row) => this.#stop(row, "the server is stopping")));
    this.#deps.logger.debug(
      { stopped: rows.map((r) => r.id), following: [...this.#following.keys()] },
      "stopped processes; waiting for their output",
    );
    await Promise.allSettled(this.#following.values());
    await this.#gone();
  }

  /** Gone at once for its peers: what it leaves running is theirs to take over now. */
  async #gone(): Promise<void> {
    const { store, serverId } = this.#deps;
    await this.#publisher.close().catch(() => undefined);
    await releaseLease(store.db, `${SERVER_LEASE}${serverId}`, serverId).catch(() => undefined);
  }

  /**
   * Once a content item is deleted: a reconcile of it stops every process (nothing is desired
   * of content that is gone), then its runs are forgotten.
   */
  async remove(guid: string): Promise<void> {
    await this.#queue.flush(guid);
    await this.#publisher.forget(guid);
    for (const bundleId of this.#previews.get(guid) ?? []) {
      await this.#queue.flush(previewKey(guid, bundleId));
      await this.#publisher.forget(previewKey(guid, bundleId));
    }
    this.#previews.delete(guid);
    this.#peerDemand.delete(guid);
    await deleteContentRuns(this.#deps.store.db, guid);
    await deleteContentLoad(this.#deps.store.db, guid);
    this.#ready.delete(guid);
    this.#settings.delete(guid);
    this.#failures.delete(guid);
    this.#deps.load.forget(guid);
  }

  /**
   * A process to send a request to, started if none is ready: the request waits (it is not
   * refused) until one is, or until it cannot be. Returns the process and a function to call
   * when the request's connection ends.
   */
  async endpoint(guid: string): Promise<Assigned> {
    const ready = this.#ready.get(guid);
    const process =
      ready && ready.length > 0
        ? this.#leastLoaded(guid, ready)
        : await this.#waitForProcess(guid, () => true);
    const done = this.#deps.load.connect(guid, process.runId);
    if (this.#needsMore(guid)) this.#queue.add(guid);
    const settings =
      this.#settings.get(guid) ??
      processSettings(DEFAULT_CONTENT_SETTINGS, this.#deps.settings.Scheduler);
    return {
      process,
      timeouts: { idleMs: settings.connectionTimeoutMs, readMs: settings.readTimeoutMs },
      release: () => {
        // The last connection of a process closing starts its idle clock.
        if (done() === 0) this.#queue.addAfter(guid, this.#idleCheckMs());
      },
    };
  }

  /**
   * A process of a draft bundle, for its preview URL: at most one, started on demand and
   * stopped when idle, beside the live content's processes and never instead of them.
   */
  previewEndpoint(guid: string, bundleId: number): Promise<Assigned> {
    const previews = this.#previews.get(guid) ?? new Set<number>();
    previews.add(bundleId);
    this.#previews.set(guid, previews);
    return this.endpoint(previewKey(guid, bundleId));
  }

  /**
   * Waits for a process of the bundle to be ready, as a deploy does, handing each line it
   * prints meanwhile to `onLine`. Fails with the reason when the process cannot start.
   */
  async awaitReady(
    guid: string,
    bundleId: number,
    onLine: (line: string) => Promise<void> | void,
  ): Promise<ReadyProcess> {
    const lines = (id: string, bundle: number, line: string) => {
      if (id === guid && bundle === bundleId) void onLine(line);
    };
    this.#events.on("line", lines);
    try {
      return await this.#waitForProcess(guid, (p) => p.bundleId === bundleId);
    } finally {
      this.#events.off("line", lines);
    }
  }

  /** Stops one process (the jobs API's DELETE); the content is looked at again, as after a crash. */
  async stopProcess(row: RunRow): Promise<void> {
    await this.#stop(row, "stopped through the jobs API");
    this.#queue.add(this.#keyOf(row));
  }

  /** The proxy could not reach the process: take it out of rotation and look at it again. */
  unreachable(guid: string, runId: number): void {
    this.#outOfRotation(guid, runId);
    this.#queue.add(guid);
  }

  /** Queued work all done (for tests and benchmarks). */
  settled(): Promise<void> {
    return this.#queue.idle();
  }

  /** Reconciles the content now, after any pass under way: one pass per content at a time. */
  reconcile(guid: string): Promise<void> {
    return this.#queue.flush(guid);
  }

  /**
   * One pass over the key, while holding its lease: replicas sharing the database take turns,
   * so two never plan from the same rows and both start the process one was missing.
   */
  async #reconcile(key: string): Promise<{ recheckInMs?: number }> {
    const { store, serverId } = this.#deps;
    const pass = await withLease(store.db, `reconcile:${key}`, serverId, LEASE_TTL_MS, () =>
      this.#pass(key),
    );
    return pass.held ? pass.value : { recheckInMs: LEASE_RETRY_MS };
  }

  async #pass(key: string): Promise<{ recheckInMs?: number }> {
    const { store, load, serverId } = this.#deps;
    const now = Date.now();
    const { guid, previewId } = parseKey(key);
    const content = await findContent(store.db, guid);
    const desired = !content
      ? null
      : previewId === null
        ? await this.#desired(content)
        : await this.#desiredPreview(content, previewId);
    const settings =
      desired?.settings ?? processSettings(DEFAULT_CONTENT_SETTINGS, this.#deps.settings.Scheduler);
    this.#settings.set(key, settings);
    const rows = (await activeRuns(store.db, guid)).filter(
      (row) => row.kind === "run" && this.#keyOf(row) === key,
    );
    await this.#takeOver(rows);
    // The whole cluster's load: a process another replica sends requests to is not idle.
    const peers = await peerLoads(store.db, key, serverId);
    this.#peerDemand.set(
      key,
      peers.reduce((sum, peer) => sum + peer.connections + peer.waiting, 0),
    );
    const contentLoad = clusterLoad(load.load(key), peers);
    const observed = await Promise.all(rows.map((row) => this.#observe(row, contentLoad.runs)));
    const current = observed.filter((o): o is Observed => o !== null);
    const known = new Set((this.#ready.get(key) ?? []).map((p) => p.runId));
    // Only processes of the desired spec serve: an outdated one is stopped below, and one of
    // another root path (an activated draft's preview) would hand out the wrong links.
    const ready = current
      .filter((o) => o.ready && o.process.specHash === desired?.specHash)
      .map((o) => o.ready!);
    this.#ready.set(key, ready);
    // A ready process new to this key (one adopted from another key) is news to its waiters.
    for (const process of ready) {
      if (!known.has(process.runId)) this.#events.emit("ready", key, process);
    }
    const plan = planProcesses(
      {
        specHash: desired?.specHash ?? null,
        settings,
        connections: contentLoad.connections,
        waiting: contentLoad.waiting,
        lastActive: contentLoad.lastActive,
      },
      current.map((o) => o.process),
      now,
    );
    if (plan.actions.length > 0) {
      this.#deps.logger.debug(
        { content: key, actions: plan.actions, wanted: plan.wanted },
        "reconcile",
      );
    }
    // A start that failed holds further starts back for a while, however the plan got there.
    const held = () => (this.#failures.get(key)?.until ?? 0) > Date.now();
    let startedAny = false;
    for (const action of plan.actions) {
      const row = rows.find((r) => r.id === ("id" in action ? action.id : -1));
      if (action.kind === "forget" && row) {
        await this.#forget(row);
      } else if (action.kind === "stop" && row) {
        if (action.why === "not-ready-in-time") {
          this.#fail(
            key,
            `did not answer on its port within ${settings.initTimeoutMs / 1000} s (init_timeout, or Scheduler.InitTimeout)${this.#tail(row.id)}`,
          );
          this.#measureStart(row, "failed");
        }
        await this.#stop(row, stopReasons[action.why]);
      } else if (action.kind === "start" && desired?.start && !held()) {
        if (!(await this.#builtStill(key, desired))) break;
        await this.#startProcess(key, desired.start(action.slot), action.slot);
        startedAny = true;
      }
    }
    const starting = startedAny || current.some((o) => o.process.status === "starting");
    const holding = held() ? this.#failures.get(key)!.until - Date.now() : undefined;
    const waits = [
      starting ? STARTING_RECHECK_MS : undefined,
      holding,
      plan.recheckAt === null ? undefined : Math.max(plan.recheckAt - now, 0) + 10,
    ].filter((ms): ms is number => ms !== undefined);
    return waits.length > 0 ? { recheckInMs: Math.min(...waits) } : {};
  }

  async #desired(content: ContentRow): Promise<Desired | null> {
    const settings = processSettings(content, this.#deps.settings.Scheduler);
    const active = await this.#deps.bundles.of(content);
    if (!active) return { specHash: null, settings };
    // An activated draft's preview process is the content's from now on: outdated, as its
    // root path is the preview's, so one at the content's own path replaces it.
    this.#previews.get(content.guid)?.delete(active.bundle.id);
    return this.#desiredOf(content, active, settings, null);
  }

  /** One process at most for a draft bundle, stopped once idle like any other. */
  async #desiredPreview(content: ContentRow, bundleId: number): Promise<Desired | null> {
    const scheduler = this.#deps.settings.Scheduler;
    const settings = { ...processSettings(content, scheduler), minProcesses: 0, maxProcesses: 1 };
    const draft = await this.#deps.bundles.draft(content, bundleId);
    if (!draft || content.bundle_id === bundleId) {
      this.#previews.get(content.guid)?.delete(bundleId);
      if (content.bundle_id === bundleId) this.#queue.add(content.guid);
      return { specHash: null, settings };
    }
    return this.#desiredOf(content, draft, settings, bundleId);
  }

  async #desiredOf(
    content: ContentRow,
    active: ActiveBundle,
    settings: ProcessSettings,
    draft: number | null,
  ): Promise<Desired> {
    const ctx: JobContext = await jobContext(
      {
        store: this.#deps.store,
        paths: this.#deps.runner.paths,
        instance: this.#deps.instance,
        secrets: this.#deps.secrets,
      },
      content,
      active.bundle,
      active.pick,
    );
    const plan = runPlan(commandInput(ctx, active.needs, active.built, draft));
    if (plan.kind !== "app") return { specHash: null, settings };
    const start = (slot: number) => appJob(ctx, plan, active.built, slot);
    return {
      specHash: start(0).labels["spec-hash"]!,
      settings,
      start,
      bundleId: active.bundle.id,
      built: active.built,
    };
  }

  /**
   * Whether the packages the bundle was built into are still in the cache. When they are not,
   * the bundle is rebuilt (they come back at the same path, which depends only on what they
   * hold) and the key is looked at again once that ends; a rebuild that fails is the start's
   * failure, told to whoever waits.
   */
  async #builtStill(key: string, desired: Desired): Promise<boolean> {
    const { built, bundleId } = desired;
    if (!built || bundleId === undefined) return true;
    const dataDir = this.#deps.settings.Server.DataDir;
    const entries = [built.pythonEnv, built.rLibrary].filter((p): p is string => p !== null);
    const gone: string[] = [];
    for (const subPath of entries) {
      if (!(await isCached(dataDir, { subPath }))) gone.push(subPath);
    }
    if (gone.length === 0) return true;
    if (!this.#rebuilding.has(bundleId)) {
      const { guid } = parseKey(key);
      this.#deps.logger.info(
        { content: guid, bundle: bundleId, gone },
        "rebuilding a bundle whose packages left the cache",
      );
      const done = this.#deps
        .rebuild(guid, bundleId)
        .catch((error: Error) => this.#fail(key, `could not be rebuilt: ${error.message}`))
        .finally(() => {
          this.#rebuilding.delete(bundleId);
          this.#queue.add(key);
        });
      this.#rebuilding.set(bundleId, done);
    }
    return false;
  }

  /** Polls a run and records what changed; null once it has been forgotten. */
  async #observe(
    row: RunRow,
    runs: ReadonlyMap<number, RunLoad> = this.#deps.load.load(this.#keyOf(row)).runs,
  ): Promise<Observed | null> {
    const { store } = this.#deps;
    const base = {
      id: row.id,
      slot: row.slot ?? 0,
      specHash: row.spec_hash,
      created: Date.parse(row.created_time),
    };
    const key = this.#keyOf(row);
    const loadOf = runs.get(row.id);
    const process = (status: ObservedProcess["status"]): ObservedProcess => ({
      ...base,
      status,
      connections: loadOf?.connections ?? 0,
      idleSince: loadOf ? loadOf.idleSince : base.created,
    });
    if (row.handle === null) {
      // Its start is still under way here; a start another server left half-done is gone.
      if (this.#starting.has(row.id)) return { process: process("starting"), ready: null };
      await this.#markExited(row, null, "the server stopped before the process had started");
      return { process: process("exited"), ready: null };
    }
    const state = await this.#deps.runner.poll(JSON.parse(row.handle) as RunHandle);
    if (state.state === "exited") {
      if (row.status === "starting") {
        // Its last lines say why it failed: let the following of its output catch up first.
        await this.#outputRead(row.id);
        const code = state.exitCode === null ? "" : ` with code ${state.exitCode}`;
        const why = state.reason ? ` (${state.reason})` : "";
        this.#fail(key, `exited${code}${why} before it answered on its port${this.#tail(row.id)}`);
        this.#measureStart(row, "failed");
      }
      await this.#markExited(row, state.exitCode, state.reason);
      return { process: process("exited"), ready: null };
    }
    const endpoint = state.endpoints.http;
    if (!state.ready || !endpoint) return { process: process("starting"), ready: null };
    const ready = { runId: row.id, bundleId: row.bundle_id, endpoint };
    if (row.status === "starting") {
      await updateRunStatus(store.db, row.id, {
        status: "ready",
        endpoint: JSON.stringify(endpoint),
        ready_time: new Date().toISOString(),
      });
      this.#measureStart(row, "ready");
      this.#failures.delete(key);
      // In rotation at once, before whoever waits for it hears of it.
      this.#ready.set(key, [...(this.#ready.get(key) ?? []), ready]);
      this.#events.emit("ready", key, ready);
    }
    return { process: process("ready"), ready };
  }

  async #startProcess(key: string, job: ReturnType<typeof appJob>, slot: number): Promise<void> {
    const { store, runner } = this.#deps;
    const { guid, previewId } = parseKey(key);
    const bundleId = Number(job.labels.bundle);
    const row = await insertRun(store.db, {
      key: runKey(),
      name: job.name,
      content_guid: guid,
      bundle_id: bundleId,
      task_id: null,
      kind: "run",
      slot,
      spec_hash: job.labels["spec-hash"]!,
      image: job.image,
      backend: runner.backend,
      preview: previewId === null ? 0 : 1,
      server_id: this.#deps.serverId,
      created_time: new Date().toISOString(),
    });
    this.#starting.add(row.id);
    let handle: RunHandle;
    try {
      handle = await runner.start(job, {
        onProgress: (line) => this.#events.emit("line", guid, bundleId, line),
      });
    } catch (error) {
      this.#fail(key, `could not start: ${(error as Error).message}`);
      this.#measureStart(row, "failed");
      await this.#markExited(row, null, (error as Error).message);
      return;
    } finally {
      this.#starting.delete(row.id);
    }
    await updateRunStatus(store.db, row.id, { handle: JSON.stringify(handle) });
    this.#deps.load.started(key, row.id);
    this.#follow({ ...row, handle: JSON.stringify(handle) }, handle);
  }

  /** Keeps the process's output in its log file, and queues its content when it ends. */
  #follow(row: RunRow, handle: RunHandle): void {
    if (this.#following.has(row.id)) return;
    const done = (async () => {
      let file: WriteStream | undefined;
      try {
        const logFile = path.join(this.#deps.settings.Server.DataDir, runLogSubPath(row.key));
        await mkdir(path.dirname(logFile), { recursive: true });
        file = createWriteStream(logFile, { flags: "a" });
        const tail: string[] = [];
        this.#lastLines.set(row.id, tail);
        const output = outputOf(this.#deps.runner, handle, { follow: true });
        for await (const line of untilAborted(output, this.#closing.signal)) {
          file.write(logLine(line));
          tail.push(line.text);
          if (tail.length > 20) tail.shift();
          this.#events.emit("line", row.content_guid, row.bundle_id, line.text);
        }
      } catch (error) {
        this.#deps.logger.warn({ err: error, run: row.key }, "lost the output of a process");
      } finally {
        file?.end();
        this.#following.delete(row.id);
        this.#queue.add(this.#keyOf(row));
      }
    })();
    this.#following.set(row.id, done);
  }

  async #stop(row: RunRow, why: string): Promise<void> {
    const { store, runner, logger } = this.#deps;
    logger.info({ content: row.content_guid, run: row.key, why }, "stopping a process");
    // Out of rotation before it goes, so no request is sent to a process being stopped.
    this.#outOfRotation(this.#keyOf(row), row.id);
    await updateRunStatus(store.db, row.id, { status: "stopping" });
    if (row.handle) {
      const handle = JSON.parse(row.handle) as RunHandle;
      await runner.stop(handle);
      await runner.remove(handle);
    }
    await this.#markExited(row, null, why);
  }

  /** Once the output of an ended process is all read, or after a few seconds at most. */
  async #outputRead(runId: number): Promise<void> {
    const following = this.#following.get(runId);
    if (!following) return;
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, OUTPUT_CATCH_UP_MS);
    });
    await Promise.race([following, bound]);
    clearTimeout(timer);
  }

  #outOfRotation(key: string, runId: number): void {
    const ready = this.#ready.get(key)?.filter((p) => p.runId !== runId);
    if (ready) this.#ready.set(key, ready);
  }

  async #forget(row: RunRow): Promise<void> {
    if (row.handle) await this.#deps.runner.remove(JSON.parse(row.handle) as RunHandle);
    this.#deps.load.forgetRun(this.#keyOf(row), row.id);
    this.#lastLines.delete(row.id);
  }

  async #markExited(row: RunRow, exitCode: number | null, reason: string | null): Promise<void> {
    await updateRunStatus(this.#deps.store.db, row.id, {
      status: "exited",
      exit_code: exitCode,
      reason,
      ended_time: new Date().toISOString(),
    });
    this.#events.emit("exited", this.#keyOf(row), row.id);
  }

  /** The reconcile key a run belongs to: its content's, or its draft's while previewed. */
  #keyOf(row: RunRow): string {
    return row.preview === 1 && this.#previews.get(row.content_guid)?.has(row.bundle_id)
      ? previewKey(row.content_guid, row.bundle_id)
      : row.content_guid;
  }

  #fail(guid: string, message: string): void {
    const count = (this.#failures.get(guid)?.count ?? 0) + 1;
    const until = Date.now() + Math.min(30_000, 500 * 2 ** (count - 1));
    this.#failures.set(guid, { message, count, until });
    this.#events.emit("failed", guid, `The application ${message}`);
  }

  /** From the run's record, so a start another server began and this one saw end counts too. */
  #measureStart(row: RunRow, result: "ready" | "failed"): void {
    const seconds = (Date.now() - Date.parse(row.created_time)) / 1000;
    this.#deps.metrics?.appStart.observe({ result }, seconds);
  }

  #tail(runId: number): string {
    const lines = this.#lastLines.get(runId) ?? [];
    return lines.length > 0 ? `. Its last output:\n${lines.join("\n")}` : "";
  }

  #leastLoaded(guid: string, ready: readonly ReadyProcess[]): ReadyProcess {
    let best = ready[0]!;
    if (ready.length === 1) return best;
    const runs = this.#deps.load.load(guid).runs;
    for (const process of ready) {
      if ((runs.get(process.runId)?.connections ?? 0) < (runs.get(best.runId)?.connections ?? 0)) {
        best = process;
      }
    }
    return best;
  }

  /**
   * Whether the content's connections, here and at the other replicas as of the last pass,
   * outgrow what its ready processes take at its load factor.
   */
  #needsMore(guid: string): boolean {
    const settings = this.#settings.get(guid);
    if (!settings) return true;
    const ready = this.#ready.get(guid)?.length ?? 0;
    // Checked first: each request asks, and content at its maximum needs no count of its load.
    if (ready >= settings.maxProcesses) return false;
    const share = Math.max(1, settings.loadFactor * settings.maxConnsPerProcess);
    const { connections, waiting } = this.#deps.load.load(guid);
    const demand = connections + waiting + (this.#peerDemand.get(guid) ?? 0);
    return demand > ready * share;
  }

  #idleCheckMs(): number {
    return this.#deps.settings.Scheduler.IdleTimeout * 1000 + 50;
  }

  /** Counts as a waiting request until a matching process is ready or cannot start. */
  #waitForProcess(guid: string, matches: (p: ReadyProcess) => boolean): Promise<ReadyProcess> {
    const release = this.#deps.load.wait(guid);
    const limit = this.#deps.settings.Scheduler.InitTimeout * 1000 + 30_000;
    return new Promise<ReadyProcess>((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        this.#events.off("ready", onReady);
        this.#events.off("failed", onFailed);
        release();
      };
      const onReady = (id: string, process: ReadyProcess) => {
        if (id !== guid || !matches(process)) return;
        finish();
        resolve(process);
      };
      const onFailed = (id: string, message: string) => {
        if (id !== guid) return;
        finish();
        reject(new ApiError("internal", message, { status: 502 }));
      };
      const timer = setTimeout(() => {
        finish();
        reject(
          new ApiError("internal", `The application did not start within ${limit / 1000} s.`, {
            status: 504,
          }),
        );
      }, limit);
      this.#events.on("ready", onReady);
      this.#events.on("failed", onFailed);
      const already = this.#ready.get(guid)?.find(matches);
      if (already) onReady(guid, already);
      else this.#queue.add(guid);
    });
  }

  async #recover(): Promise<void> {
    const { store, runner, logger } = this.#deps;
    const known = new Set<string>();
    const rows = await activeRuns(store.db);
    await this.#recoverPreviews(rows);
    const live = await liveLeases(store.db, SERVER_LEASE);
    for (const row of rows) {
      if (row.server_id !== this.#deps.serverId && live.has(`${SERVER_LEASE}${row.server_id}`)) {
        // A peer replica's work, running or starting: its to look after.
        known.add(row.name);
        continue;
      }
      if (row.kind !== "run") {
        // A build or render outlives its task only when the server running it died.
        const task = row.task_id ? await findTask(store.db, row.task_id) : undefined;
        if (task && task.finished_time === null && row.server_id !== this.#deps.serverId) {
          known.add(row.name);
          continue;
        }
        await this.#stop(row, "its task was abandoned when the server stopped");
        continue;
      }
      const observed = await this.#observe(row);
      if (observed && observed.process.status !== "exited" && row.handle) {
        known.add(row.name);
        logger.info({ content: row.content_guid, run: row.key }, "adopted a running process");
        // Adopted, it is this server's to stop when it goes.
        await updateRunOwner(store.db, row.id, this.#deps.serverId);
        // In rotation at once: the first request after a restart goes straight to it.
        const key = this.#keyOf(row);
        if (observed.ready) {
          this.#ready.set(key, [...(this.#ready.get(key) ?? []), observed.ready]);
        }
        this.#deps.load.started(key, row.id);
        this.#follow(row, JSON.parse(row.handle) as RunHandle);
      }
    }
    for (const handle of await runner.list()) {
      if (known.has(handle.name)) continue;
      logger.info({ job: handle.name }, "removing work that no run records (an orphan)");
      await runner.remove(handle);
    }
    const removed = await removeAbandonedBuilds(this.#deps.settings.Server.DataDir, async (id) => {
      const task = await findTask(store.db, id);
      return task !== undefined && task.finished_time === null;
    });
    if (removed.length > 0) logger.info({ removed }, "removed incomplete package builds");
    await this.#resyncAll();
  }

  /** Drafts whose preview process outlived the last server, unless activated since. */
  async #recoverPreviews(rows: readonly RunRow[]): Promise<void> {
    for (const row of rows) {
      if (row.kind !== "run" || row.preview !== 1) continue;
      const content = await findContent(this.#deps.store.db, row.content_guid);
      if (!content || content.bundle_id === row.bundle_id) continue;
      const previews = this.#previews.get(row.content_guid) ?? new Set<number>();
      previews.add(row.bundle_id);
      this.#previews.set(row.content_guid, previews);
    }
  }

  /**
   * Makes this server the owner of the processes of a replica that is gone (its liveness lease
   * ran out): it follows their output and stops them when it goes. Called under the key's lease,
   * so one replica takes each over.
   */
  async #takeOver(rows: RunRow[]): Promise<void> {
    const { store, serverId, logger } = this.#deps;
    const foreign = rows.filter((row) => row.server_id !== serverId && row.handle);
    if (foreign.length === 0) return;
    const live = await liveLeases(store.db, SERVER_LEASE);
    for (const row of foreign) {
      if (live.has(`${SERVER_LEASE}${row.server_id}`)) continue;
      logger.info(
        { content: row.content_guid, run: row.key, from: row.server_id },
        "took over a process of a server that is gone",
      );
      await updateRunOwner(store.db, row.id, serverId);
      this.#deps.load.started(this.#keyOf(row), row.id);
      this.#follow({ ...row, server_id: serverId }, JSON.parse(row.handle!) as RunHandle);
    }
  }

  /** Says this server is alive, so its peers leave its processes to it. */
  async #beAlive(): Promise<void> {
    const { store, serverId, logger } = this.#deps;
    await takeLease(store.db, `${SERVER_LEASE}${serverId}`, serverId, LEASE_TTL_MS).catch(
      (error: Error) => logger.warn({ err: error }, "could not renew this server's lease"),
    );
  }

  async #resyncAll(): Promise<void> {
    const guids = new Set<string>();
    for (const row of await activeRuns(this.#deps.store.db)) {
      guids.add(row.content_guid);
      // A preview's own key, so an adopted one nobody visits is still stopped once idle.
      if (row.kind === "run") guids.add(this.#keyOf(row));
    }
    const warm = await contentKeptWarm(
      this.#deps.store.db,
      this.#deps.settings.Scheduler.MinProcesses,
    );
    for (const content of warm) guids.add(content.guid);
    for (const guid of guids) this.#queue.add(guid);
  }
}

interface Observed {
  readonly process: ObservedProcess;
  readonly ready: ReadyProcess | null;
}

const stopReasons = {
  outdated: "a newer bundle or setting replaced it",
  idle: "it was idle",
  "not-ready-in-time": "it did not answer in time",
  "not-wanted": "the content no longer runs an application",
} as const;

/** The iterable's items until the signal aborts; then the iterator is closed and iteration ends. */
async function* untilAborted<T>(iterable: AsyncIterable<T>, signal: AbortSignal): AsyncIterable<T> {
  const iterator = iterable[Symbol.asyncIterator]();
  const aborted = new Promise<"aborted">((resolve) => {
    if (signal.aborted) resolve("aborted");
    signal.addEventListener("abort", () => resolve("aborted"), { once: true });
  });
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), aborted]);
      if (next === "aborted" || next.done) return;
      yield next.value;
    }
  } finally {
    void iterator.return?.();
  }
}

/** A draft's reconcile key; content guids never hold a "/". */
function previewKey(guid: string, bundleId: number): string {
  return `${guid}/_bundle${bundleId}`;
}

function parseKey(key: string): { guid: string; previewId: number | null } {
  const at = key.indexOf("/_bundle");
  return at < 0
    ? { guid: key, previewId: null }
    : { guid: key.slice(0, at), previewId: Number(key.slice(at + "/_bundle".length)) };
}
