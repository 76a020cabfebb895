/**
 * Builds and renders run to their end through here, so each is a row in the runs table while it
 * runs: a restarted server finds the jobs of the tasks it abandoned and stops them, a replica
 * stops those of a replica that is gone, and the jobs API lists them with their times, exit
 * codes and images.
 */
import { randomBytes } from "node:crypto";
import { createWriteStream, type WriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import {
  type Job,
  type OutputLine,
  outputOf,
  type RunHandle,
  type Runner,
  type RunOutcome,
} from "../runners/runner.js";
import type { Store } from "../store/database.js";
import { activeTaskRuns, insertRun, updateRunStatus } from "../store/runs.js";
import { runLogSubPath } from "./data-layout.js";
import { logLine } from "./run-log.js";

export interface JobRunsDeps {
  store: Store;
  runner: Runner;
  serverId: string;
  /** Where each run's output is kept too, for the jobs API's log; none keeps only the task log. */
  dataDir?: string;
}

export function runKey(): string {
  return randomBytes(12).toString("base64url");
}

export class JobRuns {
  constructor(private readonly deps: JobRunsDeps) {}

  /** Runs the job to its end, recorded as a run of the task; output lines go to `onLine`. */
  async run(
    job: Job,
    task: { contentGuid: string; bundleId: number; taskId: string },
    onLine: (line: string) => Promise<void> | void,
  ): Promise<RunOutcome> {
    const { store, runner } = this.deps;
    const row = await insertRun(store.db, {
      key: runKey(),
      name: job.name,
      content_guid: task.contentGuid,
      bundle_id: task.bundleId,
      task_id: task.taskId,
      kind: job.kind,
      slot: null,
      spec_hash: job.labels["spec-hash"] ?? "",
      image: job.image,
      backend: runner.backend,
      server_id: this.deps.serverId,
      created_time: new Date().toISOString(),
    });
    const ended = (outcome: RunOutcome) =>
      updateRunStatus(store.db, row.id, {
        status: "exited",
        exit_code: outcome.exitCode,
        reason: outcome.reason,
        ended_time: new Date().toISOString(),
      });
    const log = await this.#logFile(row.key);
    const line = (output: OutputLine) => {
      log?.write(logLine(output));
      return onLine(output.text);
    };
    let progress = Promise.resolve();
    let handle: Awaited<ReturnType<Runner["start"]>>;
    try {
      handle = await runner.start(job, {
        onProgress: (text) => {
          progress = progress.then(() => line({ source: "stdout", text }));
        },
      });
    } catch (error) {
      log?.end();
      await ended({ exitCode: null, reason: (error as Error).message });
      throw error;
    }
    await updateRunStatus(store.db, row.id, { handle: JSON.stringify(handle) });
    try {
      await progress;
      for await (const output of outputOf(runner, handle, { follow: true })) await line(output);
      const state = await runner.poll(handle);
      const outcome =
        state.state === "exited"
          ? { exitCode: state.exitCode, reason: state.reason }
          : { exitCode: null, reason: "still running after its output ended" };
      await ended(outcome);
      return outcome;
    } catch (error) {
      await ended({ exitCode: null, reason: (error as Error).message });
      throw error;
    } finally {
      log?.end();
      await runner.remove(handle);
    }
  }

  /** Stops and removes the task's jobs still running (another server's too), with the reason. */
  async stopJobsOf(taskId: string, reason: string): Promise<number> {
    const { store, runner } = this.deps;
    const rows = await activeTaskRuns(store.db, taskId);
    for (const row of rows) {
      await updateRunStatus(store.db, row.id, { status: "stopping" });
      if (row.handle) await runner.remove(JSON.parse(row.handle) as RunHandle);
      await updateRunStatus(store.db, row.id, {
        status: "exited",
        reason,
        ended_time: new Date().toISOString(),
      });
    }
    return rows.length;
  }

  async #logFile(key: string): Promise<WriteStream | undefined> {
    if (!this.deps.dataDir) return undefined;
    const file = path.join(this.deps.dataDir, runLogSubPath(key));
    await mkdir(path.dirname(file), { recursive: true });
    return createWriteStream(file, { flags: "a" });
  }
}
