/**
 * What a replica that is gone left, on both databases, with real processes for its build jobs:
 * each replica still running has its own store, task runner and local runner. A task of a
 * server whose liveness lease ran out is failed with the reason in its log and its job
 * stopped, once however many replicas sweep at the same time; a task of a live replica, or of
 * the sweeping server itself, is left alone until its server's lease runs out.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { GoneServers } from "../../src/content/gone-servers.js";
import { JobRuns } from "../../src/content/job-runs.js";
import { TaskRunner } from "../../src/content/task-runner.js";
import { LocalRunner } from "../../src/runners/local/local-backend.js";
import { RUNTIME_DIR } from "../../src/runtime-dir.js";
import { openStore, type Store } from "../../src/store/database.js";
import { releaseLease, SERVER_LEASE, takeLease } from "../../src/store/leases.js";
import { findRun } from "../../src/store/runs.js";
import { findTask, taskOutput } from "../../src/store/tasks.js";
import { alive, buildingTask } from "../support/abandoned-task.js";
import { freshDatabase, STORE_DIALECTS, type TestDatabase } from "../support/stores.js";

const logger = pino({ level: "silent" });

for (const dialect of STORE_DIALECTS) {
  describe(`what a gone replica left, on ${dialect}`, () => {
    let database: TestDatabase;
    const stores: Store[] = [];
    const pids: number[] = [];
    afterEach(async () => {
      for (const pid of pids.splice(0)) {
        try {
          process.kill(-pid, "SIGKILL");
        } catch {}
      }
      for (const store of stores.splice(0)) await store.close();
      await database.drop();
    });

    const runnerIn = (root: string) =>
      new LocalRunner({
        logDir: path.join(root, "logs"),
        dataDir: path.join(root, "data"),
        runtimeDir: RUNTIME_DIR,
        stopGraceMs: 1000,
      });

    /** A replica: its own store on the database, holding its liveness lease. */
    const replica = async (serverId: string, root: string) => {
      const store = await openStore(database.settings);
      stores.push(store);
      await takeLease(store.db, `${SERVER_LEASE}${serverId}`, serverId, 60_000);
      const tasks = new TaskRunner(store, serverId, logger);
      const jobs = new JobRuns({ store, runner: runnerIn(root), serverId });
      return { store, tasks, gone: new GoneServers({ store, tasks, jobs, logger }) };
    };

    /** A task of `serverId` with a build job running, as that server left it. */
    const runningTask = async (store: Store, root: string, serverId: string) => {
      const task = await buildingTask(store, runnerIn(root), serverId);
      pids.push(task.pid);
      return task;
    };

    it("fails a gone server's task once however many replicas sweep at once, and stops its job; a live server's is left alone", async () => {
      database = await freshDatabase(dialect);
      const root = await mkdtemp(path.join(tmpdir(), "slipway-gone-"));
      const a = await replica("a", root);
      const b = await replica("b", root);
      // "gone" held its lease once and let it run out; "live" renews its own.
      await takeLease(a.store.db, `${SERVER_LEASE}gone`, "gone", 1, Date.now() - 60_000);
      await takeLease(a.store.db, `${SERVER_LEASE}live`, "live", 60_000);
      const gone = await runningTask(a.store, root, "gone");
      const live = await runningTask(a.store, root, "live");
      const own = await runningTask(a.store, root, "a");

      const swept = await Promise.all([a.gone.sweep(), b.gone.sweep(), a.gone.sweep()]);
      expect(swept.flat()).toEqual([gone.id]);
      const failed = await findTask(a.store.db, gone.id);
      const reason = "The server running this task (gone) stopped; deploy again to retry.";
      expect(failed).toMatchObject({ code: 1, error: reason });
      expect(failed!.finished_time).not.toBeNull();
      expect(await taskOutput(b.store.db, gone.id, 0)).toEqual([`Error: ${reason}`]);
      expect(await a.tasks.get(gone.id)).toMatchObject({ finished: true, code: 1, error: reason });
      expect(await alive(gone.pid)).toBe(false);
      expect(await findRun(a.store.db, gone.runId)).toMatchObject({
        status: "exited",
        reason: "its task was abandoned when the server running it stopped",
      });

      for (const left of [live, own]) {
        expect((await findTask(a.store.db, left.id))!.finished_time).toBeNull();
        expect(await alive(left.pid)).toBe(true);
        expect((await findRun(a.store.db, left.runId))!.status).toBe("starting");
      }

      // Once the live one is gone too, its task goes the same way; the sweeper's own stays.
      await releaseLease(a.store.db, `${SERVER_LEASE}live`, "live");
      expect([...(await b.gone.sweep()), ...(await a.gone.sweep())]).toEqual([live.id]);
      expect(await alive(live.pid)).toBe(false);
      expect((await findTask(a.store.db, own.id))!.finished_time).toBeNull();
      expect(await alive(own.pid)).toBe(true);
    });
  });
}
