/**
 * The reconciler against the in-memory fake backend and the deliberately broken ones, with a
 * real store: one reconcile at a time, asserting the exact backend calls it made (as
 * sample-controller's tests assert actions). Create when missing, nothing when converged,
 * replace on drift, remove what nobody owns, stop what is gone — and how slow, never-ready,
 * crashing and forgetful backends are handled.
 */
import { randomBytes } from "node:crypto";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Settings } from "../../src/config/settings.js";
import { ActiveBundles } from "../../src/content/active-bundle.js";
import { LoadTracker } from "../../src/content/load-tracker.js";
import { ProcessReconciler } from "../../src/content/process-reconciler.js";
import { SecretBox } from "../../src/content/secret-box.js";
import type { Runner } from "../../src/runners/runner.js";
import { insertBundle } from "../../src/store/bundles.js";
import { deleteContent, updateContent } from "../../src/store/content.js";
import { openStore, type Store } from "../../src/store/database.js";
import { activeRuns, contentRuns } from "../../src/store/runs.js";
import {
  CrashingRunner,
  ForgetfulRunner,
  fakeFor,
  NeverReadyRunner,
  SlowRunner,
} from "../runners/broken-backends.js";
import { FakeWorld } from "../runners/fake-backend.js";
import { insertOwnedContent } from "../support/content-rows.js";
import { testJob } from "../support/jobs.js";
import { freshDatabase, type TestDatabase } from "../support/stores.js";

const GUID = "0b7d3a2e-1c4f-4a9b-8e6d-0f1a2b3c4d5e";

let database: TestDatabase;
let store: Store;
let settings: Settings;

beforeEach(async () => {
  database = await freshDatabase("sqlite");
  settings = database.settings;
  settings.Scheduler.InitTimeout = 2;
  settings.Scheduler.IdleTimeout = 1;
  store = await openStore(settings);
  await insertOwnedContent(store, { guid: GUID, name: "app", app_mode: "python-api" });
  await activate(await builtBundle("app:app"));
});

afterEach(async () => {
  await store.close();
  await database.drop();
});

/** A bundle of the content, selected and built, as a deploy leaves it. */
async function builtBundle(entrypoint: string): Promise<number> {
  const bundle = await insertBundle(store.db, {
    content_guid: GUID,
    created_time: new Date().toISOString(),
    size: 1,
    manifest: JSON.stringify({ version: 1, metadata: { appmode: "python-api", entrypoint } }),
    r_version: null,
    py_version: "3.11.2",
    quarto_version: null,
    image_name: null,
    environment_guid: null,
    cluster_name: null,
    pick: JSON.stringify({
      environment: null,
      installations: { python: { version: "3.11.2", path: "/usr/bin/python3" } },
    }),
    build: JSON.stringify({
      pythonEnv: null,
      pythonPath: "/usr/bin/python3",
      rPath: null,
      rLibrary: null,
      quartoPath: null,
    }),
  });
  return bundle.id;
}

async function activate(bundleId: number): Promise<void> {
  await updateContent(store.db, GUID, { bundle_id: bundleId });
}

function reconcilerOn(runner: Runner, serverId = "server-1"): ProcessReconciler {
  return new ProcessReconciler({
    store,
    runner,
    settings,
    logger: pino({ level: "silent" }),
    serverId,
    instance: "test-instance",
    load: new LoadTracker(),
    bundles: new ActiveBundles(store),
    secrets: SecretBox.fromKey(randomBytes(32)),
    rebuild: () => Promise.reject(new Error("these bundles build nothing into the cache")),
  });
}

/** The backend's writes (starts, stops, removes), without the reads. */
function writes(world: FakeWorld): string[] {
  return world.calls.map((call) => call.replace(/-[0-9a-f]{8}$/, ""));
}

async function until(condition: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe("the process reconciler", () => {
  it("starts the missing process when a request comes, and hands out its endpoint", async () => {
    const world = new FakeWorld();
    const reconciler = reconcilerOn(fakeFor(world));
    await reconciler.start();
    const { process, release } = await reconciler.endpoint(GUID);
    expect(
      await (await fetch(`http://${process.endpoint.host}:${process.endpoint.port}/`)).text(),
    ).toMatch(/^ok from run-0b7d3a2e-b\d+-process-0-/);
    release();
    expect(writes(world)).toEqual([`start run-0b7d3a2e-b1-process-0`]);
    const [run] = await activeRuns(store.db, GUID);
    expect(run).toMatchObject({ kind: "run", status: "ready", slot: 0, backend: "fake" });
    await reconciler.close();
  });

  it("makes no backend call when nothing differs", async () => {
    const world = new FakeWorld();
    const reconciler = reconcilerOn(fakeFor(world));
    await reconciler.start();
    (await reconciler.endpoint(GUID)).release();
    const before = world.calls.length;
    await reconciler.reconcile(GUID);
    await reconciler.reconcile(GUID);
    expect(world.calls.slice(before)).toEqual([]);
    await reconciler.close();
  });

  it("replaces the process when the active bundle changes", async () => {
    const world = new FakeWorld();
    const reconciler = reconcilerOn(fakeFor(world));
    await reconciler.start();
    const first = await reconciler.endpoint(GUID);
    first.release();
    await activate(await builtBundle("other:app"));
    world.calls.length = 0;
    // As a deploy does once it has activated the bundle.
    reconciler.enqueue(GUID);
    await reconciler.settled();
    const second = await reconciler.endpoint(GUID);
    second.release();
    expect(second.process.bundleId).not.toBe(first.process.bundleId);
    expect(writes(world)).toEqual([
      "stop run-0b7d3a2e-b1-process-0",
      "remove run-0b7d3a2e-b1-process-0",
      "start run-0b7d3a2e-b2-process-0",
    ]);
    await reconciler.close();
  });

  it("adopts running work after a restart, and removes work no run records", async () => {
    settings.Scheduler.IdleTimeout = 600;
    const world = new FakeWorld();
    const runner = fakeFor(world);
    const first = reconcilerOn(runner);
    await first.start();
    (await first.endpoint(GUID)).release();
    // Work this installation made that no run records: a server that died before writing it.
    await runner.start(
      testJob({
        name: "run-stray",
        argv: ["serve"],
        workingDir: "/",
        labels: { instance: "test-instance", "spec-hash": "x" },
      }),
    );
    world.calls.length = 0;
    await first.close({ leaveRunning: true });

    // A second server over the same store and backend, as after a crash.
    const restarted = reconcilerOn(fakeFor(world), "server-2");
    await restarted.start();
    const { process, release } = await restarted.endpoint(GUID);
    release();
    expect(writes(world)).toEqual(["remove run-stray"]);
    expect((await fetch(`http://${process.endpoint.host}:${process.endpoint.port}/`)).status).toBe(
      200,
    );
    await restarted.close();
  });

  it("adopts a draft's preview process after a restart as the draft's, never the live content's", async () => {
    settings.Scheduler.IdleTimeout = 600;
    const world = new FakeWorld();
    const first = reconcilerOn(fakeFor(world));
    await first.start();
    const live = await first.endpoint(GUID);
    live.release();
    const draft = await builtBundle("draft:app");
    const preview = await first.previewEndpoint(GUID, draft);
    preview.release();
    await first.close({ leaveRunning: true });
    world.calls.length = 0;

    const restarted = reconcilerOn(fakeFor(world), "server-2");
    await restarted.start();
    await restarted.settled();
    // Taken for an outdated process of the content, the draft's would be stopped here.
    expect(writes(world)).toEqual([]);
    for (let i = 0; i < 4; i++) {
      const again = await restarted.endpoint(GUID);
      again.release();
      expect(again.process.runId).toBe(live.process.runId);
    }
    const previewed = await restarted.previewEndpoint(GUID, draft);
    previewed.release();
    expect(previewed.process.runId).toBe(preview.process.runId);
    await restarted.reconcile(GUID);
    await restarted.settled();
    expect(writes(world)).toEqual([]);

    // Activated while no server ran, the draft's process gives way to one at the content's own
    // root path, and the live one of the old bundle goes.
    await restarted.close({ leaveRunning: true });
    await activate(draft);
    const third = reconcilerOn(fakeFor(world), "server-3");
    await third.start();
    await third.settled();
    const activated = await third.endpoint(GUID);
    activated.release();
    expect(activated.process.runId).not.toBe(preview.process.runId);
    expect(activated.process.bundleId).toBe(draft);
    expect(writes(world)).toEqual([
      "stop run-0b7d3a2e-b1-process-0",
      "remove run-0b7d3a2e-b1-process-0",
      "stop run-0b7d3a2e-b2-process-0",
      "remove run-0b7d3a2e-b2-process-0",
      "start run-0b7d3a2e-b2-process-0",
    ]);
    await third.close();
  });

  it("stops and forgets every process of a deleted content item", async () => {
    const world = new FakeWorld();
    const reconciler = reconcilerOn(fakeFor(world));
    await reconciler.start();
    (await reconciler.endpoint(GUID)).release();
    world.calls.length = 0;
    await deleteContent(store.db, GUID);
    await reconciler.remove(GUID);
    expect(writes(world)).toEqual([
      "stop run-0b7d3a2e-b1-process-0",
      "remove run-0b7d3a2e-b1-process-0",
    ]);
    expect(await contentRuns(store.db, GUID)).toEqual([]);
    await reconciler.close();
  });

  it("stops an idle process once its idle timeout has passed, and starts one for the next request", async () => {
    const world = new FakeWorld();
    const reconciler = reconcilerOn(fakeFor(world));
    await reconciler.start();
    (await reconciler.endpoint(GUID)).release();
    await until(() => world.calls.some((c) => c.startsWith("stop ")), "the idle stop");
    expect(await activeRuns(store.db, GUID)).toEqual([]);
    const again = await reconciler.endpoint(GUID);
    again.release();
    expect(writes(world).filter((c) => c.startsWith("start"))).toHaveLength(2);
    await reconciler.close();
  });

  it("keeps min_processes running however idle", async () => {
    await updateContent(store.db, GUID, { min_processes: 1 });
    const world = new FakeWorld();
    const reconciler = reconcilerOn(fakeFor(world));
    await reconciler.start();
    await until(
      async () => (await activeRuns(store.db, GUID)).some((r) => r.status === "ready"),
      "a warm process",
    );
    await reconciler.reconcile(GUID);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await reconciler.reconcile(GUID);
    expect(writes(world)).toEqual(["start run-0b7d3a2e-b1-process-0"]);
    await reconciler.close();
  });

  it("starts more processes under load, up to max_processes, and spreads connections over them", async () => {
    await updateContent(store.db, GUID, {
      max_processes: 3,
      max_conns_per_process: 1,
      load_factor: 1,
    });
    const world = new FakeWorld();
    const reconciler = reconcilerOn(fakeFor(world));
    await reconciler.start();
    const held = [];
    for (let i = 0; i < 6; i++) {
      held.push(await reconciler.endpoint(GUID));
      await reconciler.settled();
    }
    await until(
      async () =>
        (await activeRuns(store.db, GUID)).filter((r) => r.status === "ready").length === 3,
      "three processes",
    );
    // New connections go to the processes that have the fewest.
    const busiest = held[0]!.process.runId;
    const later = [await reconciler.endpoint(GUID), await reconciler.endpoint(GUID)];
    expect(later.map((h) => h.process.runId)).not.toContain(busiest);
    expect(new Set(later.map((h) => h.process.runId)).size).toBe(2);
    for (const h of [...held, ...later]) h.release();
    expect(writes(world).filter((c) => c.startsWith("start"))).toHaveLength(3);
    await reconciler.close();
  });

  it("plans for the load of every replica: connections split over two start a second process, and a process one replica serves is not idle for the other", async () => {
    await updateContent(store.db, GUID, {
      max_processes: 3,
      max_conns_per_process: 1,
      load_factor: 1,
    });
    const world = new FakeWorld();
    const a = reconcilerOn(fakeFor(world), "server-a");
    const b = reconcilerOn(fakeFor(world), "server-b");
    await a.start();
    await b.start();
    const readyRuns = async () =>
      (await activeRuns(store.db, GUID)).filter((r) => r.status === "ready");
    const onA = await a.endpoint(GUID);
    const onB = await b.endpoint(GUID);
    // One connection on each replica: neither needs a second process for its own.
    await until(async () => (await readyRuns()).length === 2, "a second process");
    onA.release();
    // Past the idle timeout, A alone would stop both: B still has a connection to one.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    await a.reconcile(GUID);
    const kept = await readyRuns();
    expect(kept.map((r) => r.id)).toContain(onB.process.runId);
    onB.release();
    await until(async () => (await activeRuns(store.db, GUID)).length === 0, "both to idle out");
    expect(writes(world).filter((c) => c.startsWith("start"))).toHaveLength(2);
    await a.close();
    await b.close();
  });

  describe("on broken backends", () => {
    it("makes a request wait for a backend that is slow to start", async () => {
      const runner = new SlowRunner();
      const reconciler = reconcilerOn(runner);
      await reconciler.start();
      let answered = false;
      const pending = reconciler.endpoint(GUID).then((e) => {
        answered = true;
        return e;
      });
      await until(
        async () => (await activeRuns(store.db, GUID)).length === 1,
        "the start to begin",
      );
      expect(answered).toBe(false);
      runner.release();
      (await pending).release();
      await reconciler.close();
    });

    it("stops a process that never answers, and tells the waiting request which setting to raise", async () => {
      const world = new FakeWorld();
      const reconciler = reconcilerOn(new NeverReadyRunner(world));
      await reconciler.start();
      await expect(reconciler.endpoint(GUID)).rejects.toThrow(
        /did not answer on its port within 2 s \(init_timeout, or Scheduler.InitTimeout\)[\s\S]*thinking/,
      );
      await reconciler.settled();
      expect(writes(world)).toEqual([
        "start run-0b7d3a2e-b1-process-0",
        "stop run-0b7d3a2e-b1-process-0",
        "remove run-0b7d3a2e-b1-process-0",
      ]);
      await reconciler.close();
    });

    it("fails the waiting request with the output of a process that crashed, and backs off", async () => {
      const world = new FakeWorld();
      const reconciler = reconcilerOn(new CrashingRunner(world));
      await reconciler.start();
      await expect(reconciler.endpoint(GUID)).rejects.toThrow(
        /exited with code 1 before it answered on its port[\s\S]*ImportError/,
      );
      const starts = () => writes(world).filter((c) => c.startsWith("start")).length;
      expect(starts()).toBe(1);
      // Within the backoff, another request fails without a new start.
      await reconciler.reconcile(GUID);
      expect(starts()).toBe(1);
      await reconciler.close();
    });

    it("replaces a process the backend lost", async () => {
      const runner = new ForgetfulRunner();
      const reconciler = reconcilerOn(runner);
      await reconciler.start();
      (await reconciler.endpoint(GUID)).release();
      runner.loseEverything();
      await reconciler.reconcile(GUID);
      const { process, release } = await reconciler.endpoint(GUID);
      release();
      expect(
        (await fetch(`http://${process.endpoint.host}:${process.endpoint.port}/`)).status,
      ).toBe(200);
      expect(writes(runner.world).filter((c) => c.startsWith("start"))).toHaveLength(2);
      await reconciler.close();
    });
  });
});

describe("two replicas on one database", () => {
  // Kept warm, so nothing is stopped as idle while the replicas hand it over.
  beforeEach(() => {
    settings.Scheduler.MinProcesses = 1;
  });

  it("start the one process both need once, and serve both from it", async () => {
    // Slow starts keep each start's pass open long enough for the other replica to race it.
    const world = new FakeWorld();
    const runners = [new SlowRunner(world), new SlowRunner(world)];
    const [a, b] = [reconcilerOn(runners[0]!, "replica-a"), reconcilerOn(runners[1]!, "replica-b")];
    await a.start();
    await b.start();
    const requests = [a.endpoint(GUID), b.endpoint(GUID), a.endpoint(GUID), b.endpoint(GUID)];
    await until(async () => (await activeRuns(store.db, GUID)).length > 0, "a start under way");
    // The other replica keeps trying meanwhile, and must find the start under way.
    await new Promise((resolve) => setTimeout(resolve, 600));
    for (const runner of runners) runner.release();
    const served = await Promise.all(requests);
    for (const { release } of served) release();
    expect(new Set(served.map((s) => s.process.runId)).size).toBe(1);
    expect(writes(world).filter((c) => c.startsWith("start"))).toHaveLength(1);
    const runs = (await activeRuns(store.db, GUID)).filter((r) => r.kind === "run");
    expect(runs).toHaveLength(1);

    // The replica that started it leaves it running (a rolling restart): the other takes it over.
    const owner = runs[0]!.server_id;
    const [leaving, staying] = owner === "replica-a" ? [a, b] : [b, a];
    await leaving.close({ leaveRunning: true });
    await staying.reconcile(GUID);
    expect((await activeRuns(store.db, GUID))[0]!.server_id).toBe(
      owner === "replica-a" ? "replica-b" : "replica-a",
    );
    expect(writes(world).filter((c) => c.startsWith("stop"))).toHaveLength(0);
    // Its now: the server that stays stops it when it goes.
    await staying.close();
    expect(writes(world).filter((c) => c.startsWith("stop"))).toHaveLength(1);
  });

  it("leaves a live replica's processes to it when starting, and takes over those of one that died", async () => {
    const world = new FakeWorld();
    const a = reconcilerOn(fakeFor(world), "replica-a");
    await a.start();
    (await a.endpoint(GUID)).release();
    // A second replica starting now adopts nothing and removes nothing: replica-a is alive.
    const b = reconcilerOn(fakeFor(world), "replica-b");
    await b.start();
    await b.reconcile(GUID);
    expect((await activeRuns(store.db, GUID))[0]!.server_id).toBe("replica-a");
    expect(writes(world).filter((c) => !c.startsWith("start"))).toEqual([]);
    // replica-a dies (no close, no renewal): once its lease has run out, replica-b takes over.
    await a.close({ leaveRunning: true });
    await store.db
      .insertInto("leases")
      .values({ name: "server:replica-a", holder: "replica-a", expires_ms: Date.now() + 1500 })
      .execute();
    await b.reconcile(GUID);
    expect((await activeRuns(store.db, GUID))[0]!.server_id).toBe("replica-a");
    await until(async () => {
      await b.reconcile(GUID);
      return (await activeRuns(store.db, GUID))[0]!.server_id === "replica-b";
    }, "replica-b to take over");
    expect(writes(world).filter((c) => c.startsWith("start"))).toHaveLength(1);
    await b.close();
  });
});
