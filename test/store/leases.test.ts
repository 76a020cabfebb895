/**
 * Leases on both databases, each replica with a store of its own on the one database: one
 * holder at a time however many take at once, renewal only by the holder, and an expired
 * lease anyone's, so a replica that died holding work gives it up.
 */
import { afterEach, describe, expect, it } from "vitest";
import { openStore, type Store } from "../../src/store/database.js";
import { liveLeases, releaseLease, takeLease, withLease } from "../../src/store/leases.js";
import { freshDatabase, STORE_DIALECTS, type TestDatabase } from "../support/stores.js";

for (const dialect of STORE_DIALECTS) {
  describe(`leases on ${dialect}`, () => {
    let database: TestDatabase;
    const stores: Store[] = [];
    afterEach(async () => {
      for (const store of stores.splice(0)) await store.close();
      await database.drop();
    });
    /** Two replicas' stores on one database. */
    const replicas = async () => {
      database = await freshDatabase(dialect);
      const a = await openStore(database.settings);
      stores.push(a);
      const b = await openStore(database.settings);
      stores.push(b);
      return [a.db, b.db] as const;
    };

    it("has one holder however many take it at once, and only that one renews it", async () => {
      const [a, b] = await replicas();
      const takes = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          takeLease(i % 2 ? a : b, "work", `server-${i}`, 10_000),
        ),
      );
      expect(takes.filter(Boolean)).toHaveLength(1);
      const winner = `server-${takes.indexOf(true)}`;
      expect(await takeLease(a, "work", winner, 10_000)).toBe(true);
      expect(await takeLease(b, "work", "someone-else", 10_000)).toBe(false);
      expect(await liveLeases(b, "wo")).toEqual(new Map([["work", winner]]));
      // Only the holder gives it up.
      await releaseLease(b, "work", "someone-else");
      expect(await takeLease(b, "work", "someone-else", 10_000)).toBe(false);
      await releaseLease(a, "work", winner);
      expect(await takeLease(b, "work", "someone-else", 10_000)).toBe(true);
    });

    it("is anyone's once it has expired: a holder that died gives its work up", async () => {
      const [a, b] = await replicas();
      const now = Date.now();
      expect(await takeLease(a, "work", "dead", 1000, now)).toBe(true);
      expect(await takeLease(b, "work", "alive", 1000, now + 999)).toBe(false);
      expect(await liveLeases(b, "", now + 1001)).toEqual(new Map());
      expect(await takeLease(b, "work", "alive", 1000, now + 1001)).toBe(true);
      expect(await takeLease(a, "work", "dead", 1000, now + 1002)).toBe(false);
    });

    it("runs work under the lease, keeps it renewed while the work lasts, and frees it after", async () => {
      const [a, b] = await replicas();
      let during: boolean | undefined;
      const outcome = await withLease(a, "pass", "one", 300, async () => {
        // Longer than the lease: the renewals keep it.
        await new Promise((resolve) => setTimeout(resolve, 700));
        during = await takeLease(b, "pass", "two", 300);
        const inner = await withLease(b, "pass", "two", 300, async () => "ran");
        return inner.held;
      });
      expect(outcome).toEqual({ held: true, value: false });
      expect(during).toBe(false);
      expect(await withLease(b, "pass", "two", 300, async () => "ran")).toEqual({
        held: true,
        value: "ran",
      });
    });
  });
}
