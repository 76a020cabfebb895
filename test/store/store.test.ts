import { afterEach, describe, expect, it } from "vitest";
import { EnvironmentService } from "../../src/environments/service.js";
import { findApiKeyByHash, listApiKeys, revokeApiKey } from "../../src/store/api-keys.js";
import { openStore, type Store } from "../../src/store/database.js";
import { countUsers, findUserByName } from "../../src/store/users.js";
import { createApiKey, createUser } from "../../src/users/accounts.js";
import { hashApiKey } from "../../src/users/api-key.js";
import { freshDatabase, STORE_DIALECTS, type TestDatabase } from "../support/stores.js";

for (const dialect of STORE_DIALECTS) {
  describe(`store on ${dialect}`, () => {
    let database: TestDatabase;
    let store: Store | undefined;
    afterEach(async () => {
      await store?.close();
      await database.drop();
    });
    const open = async () => {
      database = await freshDatabase(dialect);
      store = await openStore(database.settings);
      return store;
    };

    it("migrates an empty database and again without change", async () => {
      const s = await open();
      await s.close();
      store = await openStore(database.settings);
      expect(await countUsers(store.db)).toBe(0);
    });

    it("stores only a hash of each key and finds users by it", async () => {
      const s = await open();
      const { user, apiKey } = await createUser(s, "alice", "publisher");
      const rows = await s.db.selectFrom("api_keys").selectAll().execute();
      expect(rows).toHaveLength(1);
      expect(JSON.stringify(rows)).not.toContain(apiKey);
      expect(rows[0]!.key_hash).toBe(hashApiKey(apiKey));
      const found = await findApiKeyByHash(s.db, hashApiKey(apiKey));
      expect(found?.user.guid).toBe(user.guid);
    });

    it("refuses a second user with the same name without writing a key", async () => {
      const s = await open();
      await createUser(s, "bob", "viewer");
      await expect(createUser(s, "bob", "administrator")).rejects.toMatchObject({ status: 409 });
      expect(await countUsers(s.db)).toBe(1);
      expect(await listApiKeys(s.db)).toHaveLength(1);
    });

    it("revokes keys idempotently", async () => {
      const s = await open();
      await createUser(s, "carol", "administrator");
      const { guid } = await createApiKey(s, "carol", "ci");
      expect(await revokeApiKey(s.db, guid)).toBe(true);
      expect(await revokeApiKey(s.db, guid)).toBe(true);
      expect(await revokeApiKey(s.db, "no-such-key")).toBe(false);
      const keys = await listApiKeys(s.db, (await findUserByName(s.db, "carol"))!.guid);
      expect(keys.find((k) => k.guid === guid)?.revoked_time).toBeTruthy();
    });

    it("round-trips every environment field and keeps ids increasing", async () => {
      const s = await open();
      const service = new EnvironmentService(s);
      const body = {
        name: "ghcr.io/org/a:1",
        title: "A",
        description: "first",
        matching: "exact" as const,
        supervisor: "/opt/supervisor",
        python: { installations: [{ version: "3.11.3", path: "/opt/python/3.11.3/bin/python3" }] },
        r: { installations: [{ version: "4.2.2", path: "/opt/R/4.2.2/bin/R" }] },
        quarto: { installations: [{ version: "1.3.340", path: "/opt/quarto/1.3.340/bin/quarto" }] },
        volume_mounts: [
          {
            source: { volume_type: "pvc" as const, pvc_name: "data" },
            target: { path: "/data", read_only: true },
          },
        ],
        image_pull_policy: "always" as const,
        node_selector: { "example.com/pool": "gpu", "kubernetes.io/os": "linux" },
        tolerations: [
          { key: "gpu", operator: "Exists" as const, effect: "NoSchedule" as const },
          { key: "spot", operator: "Equal" as const, value: "yes", tolerationSeconds: 30 },
        ],
        service_account: "content-reader",
        image_pull_secrets: ["registry-cred"],
      };
      const a = await service.create(body);
      const b = await service.create({ name: "ghcr.io/org/b:1" });
      expect(Number(b.id)).toBeGreaterThan(Number(a.id));
      expect(await service.get(a.guid)).toEqual({ ...a });
      expect(a).toMatchObject({ ...body, tensorflow: null, nodejs: null, managed_by: null });
      expect((await service.list()).map((e) => e.name)).toEqual([
        "ghcr.io/org/a:1",
        "ghcr.io/org/b:1",
      ]);
      expect(b).toMatchObject({
        image_pull_policy: null,
        node_selector: null,
        tolerations: null,
        service_account: null,
        image_pull_secrets: null,
      });
      const cleared = await service.update(a.guid, {
        node_selector: null,
        tolerations: null,
        service_account: null,
        image_pull_secrets: null,
      });
      expect(cleared).toMatchObject({
        image_pull_policy: "always",
        node_selector: null,
        tolerations: null,
        service_account: null,
        image_pull_secrets: null,
      });
    });

    it("lets exactly one of 20 concurrent creates of one image succeed", async () => {
      const s = await open();
      const service = new EnvironmentService(s);
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () => service.create({ name: "ghcr.io/org/race:1" })),
      );
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      const refused = results.filter((r) => r.status === "rejected");
      expect(refused).toHaveLength(19);
      for (const r of refused)
        expect((r as PromiseRejectedResult).reason).toMatchObject({ code: 175 });
      expect(await service.list()).toHaveLength(1);
    });
  });
}
