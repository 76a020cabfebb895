/**
 * Two server replicas, each its own process, on one PostgreSQL and one data folder (the
 * shared volume): content kept warm (MinProcesses 1) is served by either replica from the one
 * process, never a second, however both reconcile and serve at once; and when the replica
 * that owns the process is SIGKILLed, the other keeps serving it and, once the dead one's
 * lease runs out, takes it over: its to stop when it goes, so nothing is left running.
 * The load either replica proxies counts on both: traffic on one keeps an app alive that the
 * other reconciles, and it idles out once traffic stops everywhere. A replica that is gone for
 * good has its unfinished tasks failed and their jobs stopped by the ones still running; and a
 * bundle deployed through both at once is built and rendered by one task after the other.
 */
import { execFileSync } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalRunner } from "../../src/runners/local/local-backend.js";
import { RUNTIME_DIR } from "../../src/runtime-dir.js";
import { openStore, type Store } from "../../src/store/database.js";
import { releaseLease, SERVER_LEASE, takeLease } from "../../src/store/leases.js";
import { findTask, taskOutput } from "../../src/store/tasks.js";
import { alive, buildingTask } from "../support/abandoned-task.js";
import { tarGz } from "../support/bundles.js";
import { HOST_PYTHON, hostPythonVersion } from "../support/images.js";
import { rmarkdownMissing } from "../support/r-packages.js";
import { unavailable } from "../support/requirements.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";
import { freshDatabase, STORE_DIALECTS, type TestDatabase } from "../support/stores.js";

const noPostgres = STORE_DIALECTS.includes("postgres") ? undefined : "PostgreSQL";

async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 90_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(200);
  }
}

/** Two replicas on a fresh PostgreSQL database, and a store of the test's own on it. */
function replicaPair(scheduler: string[]) {
  const pair = {} as { database: TestDatabase; store: Store; a: ServerProcess; b: ServerProcess };
  beforeAll(async () => {
    pair.database = await freshDatabase("postgres");
    const config = [
      "[Database]",
      "Provider = postgres",
      "[Postgres]",
      `URL = ${pair.database.settings.Postgres.URL}`,
      "[Applications]",
      "HostEnvironment = false",
      "[Scheduler]",
      ...scheduler,
      "",
    ].join("\n");
    pair.a = await startServerProcess(config);
    pair.b = await startServerProcess(config, pair.a);
    pair.store = await openStore(pair.database.settings);
  }, 120_000);
  afterAll(async () => {
    await pair.a?.stop();
    await pair.b?.stop();
    await pair.store?.close();
    await pair.database?.drop();
  });
  return pair;
}

/** A Python app answering with its pid, deployed through `server`; returns its guid. */
async function deployPidApp(server: ServerProcess, settings: object = {}): Promise<string> {
  const created = await server.call("POST", "/v1/environments", {
    name: "py:replicas",
    cluster_name: "Local",
    python: { installations: [{ version: hostPythonVersion(), path: HOST_PYTHON }] },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(200);
  const item = (await server.call("POST", "/v1/content", { name: "replicated", ...settings })).body;
  const archive = tarGz([
    {
      path: "manifest.json",
      content: JSON.stringify({
        version: 1,
        metadata: { appmode: "python-api", entrypoint: "app:app" },
        python: { version: hostPythonVersion() },
      }),
    },
    {
      path: "app.py",
      content:
        'import os\ndef app(environ, start_response):\n    start_response("200 OK", [])\n    return [str(os.getpid()).encode()]\n',
    },
  ]);
  const deployed = await server.finished(await server.deploy(item.guid, archive));
  expect(deployed.code, deployed.output.join("\n")).toBe(0);
  return item.guid;
}

/** The content's root through `server`: its status and body (the pid of the process). */
function getContent(server: ServerProcess, guid: string) {
  return fetch(`${server.url}/content/${guid}/`, {
    headers: { Authorization: `Key ${server.key}` },
  }).then(async (r) => ({ status: r.status, body: await r.text() }));
}

describe.skipIf(Boolean(noPostgres))("two replicas on one PostgreSQL", { timeout: 300_000 }, () => {
  const pair = replicaPair(["MinProcesses = 1", "IdleTimeout = 3600"]);

  const runs = () =>
    pair.store.db.selectFrom("runs").selectAll().where("kind", "=", "run").orderBy("id").execute();

  it("serve content from one process, and the survivor takes it over when its owner dies", async () => {
    const { a, b } = pair;
    const guid = await deployPidApp(a);
    const get = (server: ServerProcess) => getContent(server, guid);
    // Both replicas at once, many times, across their periodic resyncs.
    const answers = [];
    for (let round = 0; round < 6; round++) {
      answers.push(...(await Promise.all([get(a), get(b), get(a), get(b)])));
      await sleep(2000);
    }
    expect(answers.every((r) => r.status === 200)).toBe(true);
    const pids = new Set(answers.map((r) => r.body));
    expect(pids.size).toBe(1);
    const [only, ...more] = await runs();
    expect(more).toEqual([]);
    expect(only!.status).toBe("ready");
    const pid = Number([...pids][0]);
    const owner = only!.server_id.includes(a.url.split("//")[1]!) ? a : b;
    const survivor = owner === a ? b : a;

    await owner.kill();
    expect(await alive(pid)).toBe(true);
    // The survivor serves it while the dead replica's lease runs out, then takes it over.
    expect(await get(survivor)).toEqual({ status: 200, body: String(pid) });
    const taken = await until("the survivor to take the process over", async () => {
      const rows = await runs();
      return rows.length === 1 && rows[0]!.server_id !== only!.server_id ? rows[0] : undefined;
    });
    expect(taken.server_id).toContain(survivor.url.split("//")[1]);
    expect(taken.id).toBe(only!.id);
    expect(await get(survivor)).toEqual({ status: 200, body: String(pid) });

    // It is the survivor's now: stopping it stops the process, and nothing is left.
    await survivor.stop();
    await until("the process to be stopped", async () => ((await alive(pid)) ? undefined : true));
  });
});

describe.skipIf(Boolean(noPostgres))("load across replicas", { timeout: 300_000 }, () => {
  const pair = replicaPair(["MinProcesses = 0", "IdleTimeout = 3600"]);

  it("keeps an app alive for traffic on the replica that does not reconcile it, and idles it out once traffic stops on both", async () => {
    const { a, b, store } = pair;
    // Deployed through A, A starts the process and holds its idle clock: alone, A would stop
    // it two seconds after its start, whatever B proxies to it.
    const guid = await deployPidApp(a, { idle_timeout: 2, min_processes: 0 });
    const contentRuns = () =>
      store.db
        .selectFrom("runs")
        .selectAll()
        .where("content_guid", "=", guid)
        .where("kind", "=", "run")
        .orderBy("id")
        .execute();
    const [first] = await contentRuns();
    expect(first!.server_id).toContain(a.url.split("//")[1]);

    const answers: { status: number; body: string }[] = [];
    const trafficUntil = Date.now() + 10_000;
    let lastRequest = 0;
    while (Date.now() < trafficUntil) {
      answers.push(await getContent(b, guid));
      lastRequest = Date.now();
      await sleep(300);
    }
    expect(answers.every((r) => r.status === 200)).toBe(true);
    expect(new Set(answers.map((r) => r.body)).size).toBe(1);
    const during = await contentRuns();
    expect(during.map((r) => [r.id, r.status])).toEqual([[first!.id, "ready"]]);

    const stopped = await until("the idle process to be stopped", async () => {
      const [run] = await contentRuns();
      return run?.status === "exited" ? run : undefined;
    });
    expect(stopped.id).toBe(first!.id);
    expect(stopped.reason).toBe("it was idle");
    expect(Date.parse(stopped.ended_time!)).toBeGreaterThanOrEqual(lastRequest + 2000);
    expect(await alive(Number(answers[0]!.body))).toBe(false);
  });
});

describe.skipIf(Boolean(noPostgres))("tasks across replicas", { timeout: 300_000 }, () => {
  const pair = replicaPair(["MinProcesses = 0"]);

  /** A deploy of `serverId` with its build job running, as that server left it. */
  async function buildingTaskOf(serverId: string) {
    const root = await mkdtemp(path.join(tmpdir(), "slipway-gone-build-"));
    const runner = new LocalRunner({
      logDir: path.join(root, "logs"),
      dataDir: path.join(root, "data"),
      runtimeDir: RUNTIME_DIR,
    });
    return buildingTask(pair.store, runner, serverId);
  }

  it("fails a gone replica's unfinished task with the reason and stops its build, and leaves a live one's alone", async () => {
    const { store } = pair;
    // A replica that is alive as far as its lease says: the test holds it for it.
    await takeLease(store.db, `${SERVER_LEASE}live-replica`, "live-replica", 120_000);
    // The live one's first: the sweep that finds the gone one's task finds it too.
    const live = await buildingTaskOf("live-replica");
    const gone = await buildingTaskOf("gone-replica");

    const failed = await until("a running server to fail the gone replica's task", async () => {
      const task = await findTask(store.db, gone.id);
      return task?.finished_time ? task : undefined;
    });
    const reason = "The server running this task (gone-replica) stopped; deploy again to retry.";
    expect(failed).toMatchObject({ code: 1, error: reason });
    expect(await taskOutput(store.db, gone.id, 0)).toEqual([`Error: ${reason}`]);
    expect((await pair.b.call("GET", `/v1/tasks/${gone.id}`)).body).toMatchObject({
      finished: true,
      code: 1,
      error: reason,
    });
    await until("its build to be stopped", async () =>
      (await alive(gone.pid)) ? undefined : true,
    );
    expect((await findTask(store.db, live.id))!.finished_time).toBeNull();
    expect(await alive(live.pid)).toBe(true);

    await releaseLease(store.db, `${SERVER_LEASE}live-replica`, "live-replica");
    await until("the task of the replica gone now to be failed", async () =>
      (await findTask(store.db, live.id))?.finished_time ? true : undefined,
    );
    await until("its build to be stopped", async () =>
      (await alive(live.pid)) ? undefined : true,
    );
  });
  it.skipIf(Boolean(unavailable("The concurrent render test", rmarkdownMissing())))(
    "renders a bundle deployed through both replicas at once one task after the other, never two renders sharing its job",
    async () => {
      const { a, b, store } = pair;
      const r = execFileSync("Rscript", ["-e", "cat(as.character(getRversion()))"]).toString();
      const created = await a.call("POST", "/v1/environments", {
        name: "r:replicas",
        cluster_name: "Local",
        r: { installations: [{ version: r, path: "/usr/lib/R/bin/R" }] },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(200);
      const item = (await a.call("POST", "/v1/content", { name: "report" })).body;
      const uploaded = await fetch(`${a.url}/__api__/v1/content/${item.guid}/bundles`, {
        method: "POST",
        headers: { Authorization: `Key ${a.key}` },
        body: tarGz([
          {
            path: "manifest.json",
            content: JSON.stringify({
              version: 1,
              metadata: { appmode: "rmd-static", primary_rmd: "report.Rmd" },
            }),
          },
          {
            path: "report.Rmd",
            content:
              "---\ntitle: Slow\n---\n\n```{r}\nSys.sleep(3)\n```\n\nThe answer is `r 6 * 7`.\n",
          },
        ]),
      });
      const bundle = (await uploaded.json()) as { id: string };
      const servers = [a, b];
      const started = await Promise.all(
        servers.map((server) =>
          server.call("POST", `/v1/content/${item.guid}/deploy`, { bundle_id: bundle.id }),
        ),
      );
      const tasks = await Promise.all(
        started.map((answer, i) => servers[i]!.finished(answer.body.task_id as string)),
      );
      for (const task of tasks) expect(task.code, task.output.join("\n")).toBe(0);
      const waited = tasks.filter((task) =>
        task.output.some((line) => line.includes("Waiting for another task building")),
      );
      expect(waited).toHaveLength(1);
      const renders = await store.db
        .selectFrom("runs")
        .selectAll()
        .where("content_guid", "=", item.guid)
        .where("kind", "=", "render")
        .orderBy("id")
        .execute();
      expect(renders).toHaveLength(2);
      expect(new Set(renders.map((run) => run.task_id)).size).toBe(2);
      // The second began only once the first had ended.
      expect(Date.parse(renders[1]!.created_time)).toBeGreaterThanOrEqual(
        Date.parse(renders[0]!.ended_time!),
      );
    },
  );
});
