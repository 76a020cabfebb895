/**
 * The load replicas record on both databases, each replica with a store of its own on the one
 * database: a replica reads its live peers' rows and never its own, a row of a server whose
 * liveness lease ran out is not load (the server is gone, and so are its requests), and a
 * server's rows are replaced, not added to.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { ContentLoad } from "../../src/content/load-tracker.js";
import {
  deleteContentLoad,
  deleteGoneServersLoad,
  deleteServerLoad,
  peerLoads,
  publishLoad,
} from "../../src/store/content-load.js";
import { openStore, type Store } from "../../src/store/database.js";
import { SERVER_LEASE, takeLease } from "../../src/store/leases.js";
import { freshDatabase, STORE_DIALECTS, type TestDatabase } from "../support/stores.js";

const GUID = "6f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";

function load(connections: number, waiting: number, lastActive: number | null): ContentLoad {
  return {
    connections,
    waiting,
    lastActive,
    runs: new Map([[11, { connections, idleSince: connections > 0 ? null : lastActive }]]),
  };
}

for (const dialect of STORE_DIALECTS) {
  describe(`the load replicas record, on ${dialect}`, () => {
    let database: TestDatabase;
    const stores: Store[] = [];
    afterEach(async () => {
      for (const store of stores.splice(0)) await store.close();
      await database.drop();
    });
    const replicas = async () => {
      database = await freshDatabase(dialect);
      for (let i = 0; i < 2; i++) stores.push(await openStore(database.settings));
      return [stores[0]!.db, stores[1]!.db] as const;
    };

    it("is read by the other live replicas, as last recorded, and never by its own", async () => {
      const [a, b] = await replicas();
      const now = Date.now();
      await takeLease(a, `${SERVER_LEASE}a`, "a", 10_000, now);
      await takeLease(b, `${SERVER_LEASE}b`, "b", 10_000, now);
      await publishLoad(a, GUID, "a", load(3, 1, now - 5), now);
      await publishLoad(a, GUID, "a", load(0, 2, now - 1), now);
      await publishLoad(b, GUID, "b", load(1, 0, now), now);
      await publishLoad(a, `${GUID}/_bundle2`, "a", load(9, 9, now), now);
      // Stamps in ms outgrow an integer column: bigints, read back as numbers on PostgreSQL too.
      expect(await peerLoads(b, GUID, "b", now)).toEqual([
        {
          connections: 0,
          waiting: 2,
          lastActive: now - 1,
          runs: new Map([[11, { connections: 0, idleSince: now - 1 }]]),
        },
      ]);
      expect((await peerLoads(a, GUID, "a", now)).map((l) => l.connections)).toEqual([1]);
      expect(await peerLoads(b, "another", "b", now)).toEqual([]);
    });

    it("is not load once its server's lease has run out, and is deleted then", async () => {
      const [a, b] = await replicas();
      const now = Date.now();
      await takeLease(a, `${SERVER_LEASE}gone`, "gone", 1000, now);
      await takeLease(a, `${SERVER_LEASE}alive`, "alive", 10_000, now);
      await publishLoad(a, GUID, "gone", load(4, 0, now), now);
      await publishLoad(a, GUID, "alive", load(1, 0, now), now);
      // A server that never held a lease (it died before its first) counts for nothing either.
      await publishLoad(a, GUID, "never", load(7, 0, now), now);
      expect((await peerLoads(b, GUID, "b", now + 999)).map((l) => l.connections).sort()).toEqual([
        1, 4,
      ]);
      expect((await peerLoads(b, GUID, "b", now + 1001)).map((l) => l.connections)).toEqual([1]);
      expect(await deleteGoneServersLoad(b, now + 1001)).toBe(2);
      expect((await peerLoads(b, GUID, "b", now)).map((l) => l.connections)).toEqual([1]);
    });

    it("goes with its server, and with its content and the content's previews", async () => {
      const [a, b] = await replicas();
      const now = Date.now();
      await takeLease(a, `${SERVER_LEASE}a`, "a", 10_000, now);
      await publishLoad(a, GUID, "a", load(1, 0, now), now);
      await publishLoad(a, `${GUID}/_bundle3`, "a", load(1, 0, now), now);
      await publishLoad(a, "other", "a", load(1, 0, now), now);
      await deleteContentLoad(b, GUID);
      expect(await peerLoads(b, GUID, "b", now)).toEqual([]);
      expect(await peerLoads(b, `${GUID}/_bundle3`, "b", now)).toEqual([]);
      expect(await peerLoads(b, "other", "b", now)).toHaveLength(1);
      await deleteServerLoad(a, "a");
      expect(await peerLoads(b, "other", "b", now)).toEqual([]);
    });
  });
}
