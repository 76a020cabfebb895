/**
 * Two server replicas, each its own process, on one PostgreSQL and one data folder (the
 * shared volume): content kept warm (MinProcesses 1) is served by either replica from the one
 * process, never a second, however both reconcile and serve at once; and when the replica
 * that owns the process is SIGKILLed, the other keeps serving it and, once the dead one's
 * lease runs out, takes it over: its to stop when it goes, so nothing is left running.
 */
import { readFile } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore, type Store } from "../../src/store/database.js";
import { tarGz } from "../support/bundles.js";
import { HOST_PYTHON, hostPythonVersion } from "../support/images.js";
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

/** Whether the process is alive (not a zombie). */
async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  return stat !== "" && stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
}

describe.skipIf(Boolean(noPostgres))("two replicas on one PostgreSQL", { timeout: 300_000 }, () => {
  let database: TestDatabase;
  let store: Store;
  let a: ServerProcess;
  let b: ServerProcess;

  beforeAll(async () => {
    database = await freshDatabase("postgres");
    const config = [
      "[Database]",
      "Provider = postgres",
      "[Postgres]",
      `URL = ${database.settings.Postgres.URL}`,
      "[Applications]",
      "HostEnvironment = false",
      "[Scheduler]",
      "MinProcesses = 1",
      "IdleTimeout = 3600",
      "",
    ].join("\n");
    a = await startServerProcess(config);
    b = await startServerProcess(config, a);
    store = await openStore(database.settings);
  }, 120_000);

  afterAll(async () => {
    await a?.stop();
    await b?.stop();
    await store?.close();
    await database?.drop();
  });

  const runs = () =>
    store.db.selectFrom("runs").selectAll().where("kind", "=", "run").orderBy("id").execute();

  it("serve content from one process, and the survivor takes it over when its owner dies", async () => {
    const created = await a.call("POST", "/v1/environments", {
      name: "py:replicas",
      cluster_name: "Local",
      python: { installations: [{ version: hostPythonVersion(), path: HOST_PYTHON }] },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
    const item = (await a.call("POST", "/v1/content", { name: "replicated" })).body;
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
    const deployed = await a.finished(await a.deploy(item.guid, archive));
    expect(deployed.code, deployed.output.join("\n")).toBe(0);

    const get = (server: ServerProcess) =>
      fetch(`${server.url}/content/${item.guid}/`, {
        headers: { Authorization: `Key ${a.key}` },
      }).then(async (r) => ({ status: r.status, body: await r.text() }));
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
