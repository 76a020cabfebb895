/**
 * What a replica that is gone (its liveness lease ran out, and it has not come back) left
 * behind, cleaned up by the replicas still running: its unfinished tasks are failed with the
 * reason in their log and their build and render jobs stopped, and the load it recorded is
 * forgotten. A replica that comes back with the same id fails its own abandoned tasks itself
 * (TaskRunner.failAbandoned); this is for one that never does.
 */
import type { FastifyBaseLogger } from "fastify";
import { deleteGoneServersLoad } from "../store/content-load.js";
import type { Store } from "../store/database.js";
import type { JobRuns } from "./job-runs.js";
import type { TaskRunner } from "./task-runner.js";

export interface GoneServersDeps {
  store: Store;
  tasks: TaskRunner;
  jobs: JobRuns;
  logger: FastifyBaseLogger;
  /** How often to look; a gone server is noticed this long after its lease runs out at most. */
  intervalMs?: number;
}

export class GoneServers {
  readonly #deps: GoneServersDeps;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<unknown> | undefined;

  constructor(deps: GoneServersDeps) {
    this.#deps = deps;
  }

  start(): void {
    this.#timer = setInterval(() => {
      if (this.#sweeping) return;
      this.#sweeping = this.sweep()
        .catch((error: Error) =>
          this.#deps.logger.warn({ err: error }, "could not clean up after servers that are gone"),
        )
        .finally(() => {
          this.#sweeping = undefined;
        });
    }, this.#deps.intervalMs ?? 5000);
    this.#timer.unref();
  }

  /** One look: returns the ids of the tasks it failed. */
  async sweep(): Promise<string[]> {
    const { store, tasks, jobs } = this.#deps;
    const failed = await tasks.failTasksOfGoneServers((taskId) =>
      jobs.stopJobsOf(taskId, "its task was abandoned when the server running it stopped"),
    );
    await deleteGoneServersLoad(store.db);
    return failed;
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#sweeping;
  }
}
