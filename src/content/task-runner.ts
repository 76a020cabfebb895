/**
 * Durable tasks: the row and every log line are written as the work proceeds, so clients can
 * follow a deploy from any server sharing the database, a restarted server knows which of its
 * tasks it abandoned, and a replica which tasks a replica that is gone abandoned.
 */
import { randomBytes } from "node:crypto";
import { EventEmitter } from "node:events";
import type { FastifyBaseLogger } from "fastify";
import { ApiError, isApiError } from "../errors.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Store } from "../store/database.js";
import {
  appendTaskOutput,
  claimTask,
  findTask,
  finishTask,
  insertTask,
  latestTask,
  taskOutput,
  tasksOfGoneServers,
  unfinishedTasks,
} from "../store/tasks.js";
import type { Task } from "./model.js";

export interface TaskLog {
  /** Appends a line to the task's output. */
  line(text: string): Promise<void>;
  /** Runs one phase between "==>" and "<==" lines that give its duration. */
  phase<T>(name: string, work: () => Promise<T>): Promise<T>;
}

export interface TaskMeta {
  kind: string;
  contentGuid?: string;
  bundleId?: number;
  userGuid?: string;
}

const POLL_MS = 200;

export class TaskRunner {
  readonly #events = new EventEmitter();
  readonly #running = new Set<Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly serverId: string,
    private readonly logger: FastifyBaseLogger,
    private readonly metrics?: Metrics,
  ) {
    this.#events.setMaxListeners(0);
  }

  /** Records a task and starts `work` in the background; returns the task id at once. */
  async start(
    meta: TaskMeta,
    work: (log: TaskLog, taskId: string) => Promise<unknown>,
  ): Promise<string> {
    const id = randomBytes(12).toString("base64url");
    await insertTask(this.store.db, {
      id,
      kind: meta.kind,
      content_guid: meta.contentGuid ?? null,
      bundle_id: meta.bundleId ?? null,
      user_guid: meta.userGuid ?? null,
      created_time: new Date().toISOString(),
      code: 0,
      error: "",
      server_id: this.serverId,
    });
    const run = this.#run(id, meta, work).finally(() => this.#running.delete(run));
    this.#running.add(run);
    return id;
  }

  async #run(
    id: string,
    meta: TaskMeta,
    work: (log: TaskLog, taskId: string) => Promise<unknown>,
  ): Promise<void> {
    const logger = this.logger.child({ task: id, kind: meta.kind, content: meta.contentGuid });
    let seq = 0;
    // Lines are written one at a time, in order, even when phases log concurrently.
    let chain = Promise.resolve();
    const log: TaskLog = {
      line: (text) => {
        const lines = text.split(/\r?\n/);
        const at = seq;
        seq += lines.length;
        chain = chain.then(() => appendTaskOutput(this.store.db, id, at, lines));
        this.#events.emit(id);
        return chain;
      },
      phase: async (name, phaseWork) => {
        const started = performance.now();
        await log.line(`==> ${name}`);
        try {
          const result = await phaseWork();
          await log.line(`<== ${name} (${seconds(started)})`);
          return result;
        } catch (error) {
          await log.line(`<!! ${name} failed after ${seconds(started)}`);
          throw error;
        }
      },
    };
    let outcome: { code: number; error: string; result: unknown };
    try {
      const result = await work(log, id);
      outcome = { code: 0, error: "", result: result ?? null };
    } catch (error) {
      const apiError = isApiError(error) ? error : undefined;
      if (!apiError) logger.error({ err: error }, "task failed unexpectedly");
      const message = error instanceof Error ? error.message : String(error);
      await log.line(`Error: ${message}`).catch(() => {});
      outcome = { code: apiError?.code ?? 1, error: message, result: apiError?.payload ?? null };
    }
    await chain.catch(() => {});
    await finishTask(this.store.db, id, outcome);
    this.metrics?.tasks.inc({
      kind: meta.kind,
      result: outcome.code === 0 ? "success" : "failure",
    });
    logger.info({ code: outcome.code, error: outcome.error || undefined }, "task finished");
    this.#events.emit(id);
  }

  /**
   * The task as Connect shows it, with output lines from `first` on. With `waitSeconds`,
   * holds the answer until the task finishes or the time is up.
   */
  async get(id: string, first = 0, waitSeconds = 0): Promise<Task> {
    const deadline = Date.now() + Math.min(waitSeconds, 60) * 1000;
    let row = await findTask(this.store.db, id);
    if (!row) throw new ApiError("taskNotFound", `Task ${id} does not exist.`, { payload: { id } });
    while (row.finished_time === null && Date.now() < deadline) {
      await this.#nextEvent(id, Math.min(POLL_MS, deadline - Date.now()));
      row = (await findTask(this.store.db, id))!;
    }
    const output = await taskOutput(this.store.db, id, first);
    return {
      id,
      output,
      result: row.result ? JSON.parse(row.result) : null,
      finished: row.finished_time !== null,
      code: row.code,
      error: row.error,
      last: first + output.length,
      user_id: 0,
    };
  }

  latestFor(contentGuid: string): Promise<string | undefined> {
    return latestTask(this.store.db, contentGuid);
  }

  /** Marks tasks this server left unfinished when it last stopped as failed, with the reason. */
  async failAbandoned(): Promise<number> {
    const abandoned = await unfinishedTasks(this.store.db, this.serverId);
    for (const task of abandoned) {
      await this.#fail(
        task.id,
        "The server stopped while this task was running; deploy again to retry.",
      );
    }
    return abandoned.length;
  }

  /**
   * Fails the unfinished tasks of other servers that are gone (their liveness lease ran out),
   * once `stopJobs` has stopped each one's jobs. Each is first made this server's, in the
   * statement that checks its server is still gone, so of several replicas sweeping at once one
   * fails it; if this one dies before it has, the task is its own abandoned task, failed at its
   * restart or by another replica. Returns the ids of the tasks it failed.
   */
  async failTasksOfGoneServers(stopJobs: (taskId: string) => Promise<unknown>): Promise<string[]> {
    const failed: string[] = [];
    for (const task of await tasksOfGoneServers(this.store.db, this.serverId)) {
      if (!(await claimTask(this.store.db, task.id, task.server_id, this.serverId))) continue;
      this.logger.info(
        { task: task.id, from: task.server_id },
        "failing a task of a server that is gone",
      );
      await stopJobs(task.id).catch((error: Error) =>
        this.logger.warn({ err: error, task: task.id }, "could not stop the jobs of a task"),
      );
      await this.#fail(
        task.id,
        `The server running this task (${task.server_id}) stopped; deploy again to retry.`,
      );
      this.#events.emit(task.id);
      failed.push(task.id);
    }
    return failed;
  }

  async #fail(id: string, reason: string): Promise<void> {
    const last = (await taskOutput(this.store.db, id, 0)).length;
    await appendTaskOutput(this.store.db, id, last, [`Error: ${reason}`]);
    await finishTask(this.store.db, id, { code: 1, error: reason, result: null });
  }

  /** Waits for every task started by this runner to end. */
  async drain(): Promise<void> {
    await Promise.allSettled([...this.#running]);
  }

  #nextEvent(id: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#events.off(id, done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(ms, 0));
      this.#events.on(id, done);
    });
  }
}

function seconds(started: number): string {
  return `${((performance.now() - started) / 1000).toFixed(2)} s`;
}
