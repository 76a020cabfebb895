/**
 * The publisher of this replica's load, on a real store, counting its writes with a Kysely
 * plugin that only watches: a burst of requests is two writes whatever its size (the first at
 * once, the rest folded into one that reads the load as it is by then), and a server that
 * goes takes its rows with it.
 */

import type { Kysely, KyselyPlugin } from "kysely";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LoadPublisher } from "../../src/content/load-publisher.js";
import { LoadTracker } from "../../src/content/load-tracker.js";
import { peerLoads } from "../../src/store/content-load.js";
import { openStore, type Store } from "../../src/store/database.js";
import { SERVER_LEASE, takeLease } from "../../src/store/leases.js";
import type { Tables } from "../../src/store/schema.js";
import { freshDatabase, type TestDatabase } from "../support/stores.js";

const GUID = "1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d";

let database: TestDatabase;
let store: Store;
let writes: number;
let db: Kysely<Tables>;

/** Counts the statements that write the content_load table. */
const counting: KyselyPlugin = {
  transformQuery(args) {
    const node = args.node as { kind: string; into?: { table: { identifier: { name: string } } } };
    if (node.kind === "InsertQueryNode" && node.into?.table.identifier.name === "content_load") {
      writes++;
    }
    return args.node;
  },
  transformResult: async (args) => args.result,
};

beforeEach(async () => {
  database = await freshDatabase("sqlite");
  store = await openStore(database.settings);
  db = store.db.withPlugin(counting);
  writes = 0;
  await takeLease(store.db, `${SERVER_LEASE}here`, "here", 60_000);
});

afterEach(async () => {
  await store.close();
  await database.drop();
});

async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  // Generous: a busy machine may keep the timers of a second's throttle waiting.
  for (let i = 0; i < 1200; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe("the load publisher", () => {
  it("writes a burst of requests twice: at its start, and once a second later with the load as it is then", async () => {
    const load = new LoadTracker();
    const publisher = new LoadPublisher({
      db,
      serverId: "here",
      load,
      logger: pino({ level: "silent" }),
    });
    const held = Array.from({ length: 50 }, () => load.connect(GUID, 1));
    await until(async () => writes === 1, "the burst's first write");
    const waits = Array.from({ length: 20 }, () => load.wait(GUID));
    for (const release of [...held, ...waits]) release();
    // The wait released last: the process went idle a moment before the content did.
    const { lastActive, runs } = load.load(GUID);
    const { idleSince } = runs.get(1)!;
    await until(
      async () => (await peerLoads(store.db, GUID, "elsewhere"))[0]?.lastActive === lastActive,
      "the burst's end to be written",
    );
    expect(writes).toBe(2);
    expect(await peerLoads(store.db, GUID, "elsewhere")).toEqual([
      {
        connections: 0,
        waiting: 0,
        lastActive,
        runs: new Map([[1, { connections: 0, idleSince }]]),
      },
    ]);
    await publisher.close();
  });

  it("deletes its server's rows when the server goes, and writes nothing after", async () => {
    const load = new LoadTracker();
    const publisher = new LoadPublisher({
      db,
      serverId: "here",
      load,
      logger: pino({ level: "silent" }),
    });
    const release = load.connect(GUID, 1);
    load.connect("another", 2);
    await until(
      async () => (await store.db.selectFrom("content_load").selectAll().execute()).length === 2,
      "both keys to be written",
    );
    release();
    await publisher.close();
    expect(await store.db.selectFrom("content_load").selectAll().execute()).toEqual([]);
    const before = writes;
    load.connect(GUID, 1);
    expect(writes).toBe(before);
  });
});
