/**
 * Reads kept for a moment on the content path: fresh at once after a write through the same
 * store, whichever statement made it, and within the moment after a write through another
 * replica's store on the same database. A failed read is never kept.
 */
import { afterEach, describe, expect, it } from "vitest";
import { insertApiKey } from "../../src/store/api-keys.js";
import { openStore, type Store } from "../../src/store/database.js";
import { RecentReads } from "../../src/store/recent-reads.js";
import { findUser, insertUser, setUserRole } from "../../src/store/users.js";
import { freshDatabase, STORE_DIALECTS, type TestDatabase } from "../support/stores.js";

describe("recent reads", () => {
  it("are reused until the moment ends, and read again after", async () => {
    let now = 0;
    const recent = new RecentReads(1000, () => now);
    let loads = 0;
    const load = async () => ++loads;
    expect(await recent.read("a", load)).toBe(1);
    now = 999;
    expect(await recent.read("a", load)).toBe(1);
    expect(await recent.read("b", load)).toBe(2);
    now = 1000;
    expect(await recent.read("a", load)).toBe(3);
  });

  it("share one load between callers that ask at once", async () => {
    const recent = new RecentReads();
    let loads = 0;
    const load = async () => ++loads;
    expect(await Promise.all([recent.read("a", load), recent.read("a", load)])).toEqual([1, 1]);
  });

  it("keep no failure: the next caller reads again", async () => {
    const recent = new RecentReads();
    await expect(recent.read("a", () => Promise.reject(new Error("down")))).rejects.toThrow("down");
    expect(await recent.read("a", async () => "up")).toBe("up");
  });

  it("do not keep a read that ran beside a write", async () => {
    const recent = new RecentReads();
    let finish!: (value: string) => void;
    const slow = recent.read("a", () => new Promise<string>((resolve) => (finish = resolve)));
    recent.written();
    finish("before the write");
    expect(await slow).toBe("before the write");
    expect(await recent.read("a", async () => "after the write")).toBe("after the write");
  });
});

for (const dialect of STORE_DIALECTS) {
  describe(`recent reads on ${dialect}`, () => {
    let database: TestDatabase;
    const stores: Store[] = [];
    afterEach(async () => {
      for (const store of stores.splice(0)) await store.close();
      await database.drop();
    });
    const open = async () => {
      const store = await openStore(database.settings);
      stores.push(store);
      return store;
    };
    const roleOf = (store: Store, guid: string) =>
      store.recent.read(`user:${guid}`, () => findUser(store.db, guid)).then((u) => u?.user_role);

    it("are fresh at once after a write through the same store, of any kind", async () => {
      database = await freshDatabase(dialect);
      const store = await open();
      const user = await insertUser(store.db, { username: "ada", role: "viewer" });
      expect(await roleOf(store, user.guid)).toBe("viewer");
      await setUserRole(store.db, user.guid, "publisher");
      expect(await roleOf(store, user.guid)).toBe("publisher");
      await store.db
        .updateTable("users")
        .set({ user_role: "administrator" })
        .where("guid", "=", user.guid)
        .execute();
      expect(await roleOf(store, user.guid)).toBe("administrator");
      // A write to another table counts too: no write is assumed harmless.
      let loads = 0;
      const counted = () => store.recent.read("counted", async () => ++loads);
      expect([await counted(), await counted()]).toEqual([1, 1]);
      await insertApiKey(store.db, user.guid, "key", "hash");
      expect(await counted()).toBe(2);
    });

    it("see another replica's write once the moment is over", async () => {
      database = await freshDatabase(dialect);
      const [a, b] = [await open(), await open()];
      const user = await insertUser(a.db, { username: "bea", role: "viewer" });
      expect(await roleOf(b, user.guid)).toBe("viewer");
      await setUserRole(a.db, user.guid, "publisher");
      for (;;) {
        if ((await roleOf(b, user.guid)) === "publisher") break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    });
  });
}
