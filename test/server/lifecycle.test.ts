import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EnvironmentService } from "../../src/environments/service.js";
import { openStore } from "../../src/store/database.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { STORE_DIALECTS } from "../support/stores.js";

for (const dialect of STORE_DIALECTS) {
  describe(`server on ${dialect}`, () => {
    let server: TestServer;
    beforeAll(async () => {
      server = await startTestServer(dialect);
    });
    afterAll(() => server?.close());

    it("answers 20 concurrent creates of one image with one 200 and 409s", async () => {
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          server.call("POST", "/__api__/v1/environments", { body: { name: "ghcr.io/org/race:2" } }),
        ),
      );
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      const conflicts = results.filter((r) => r.status === 409);
      expect(conflicts).toHaveLength(19);
      for (const c of conflicts) expect(c.body.code).toBe(175);
      const rows = await server.server.store.db
        .selectFrom("environments")
        .selectAll()
        .where("name", "=", "ghcr.io/org/race:2")
        .execute();
      expect(rows).toHaveLength(1);
    });

    it("keeps environments, users and keys across a restart", async () => {
      const created = await server.call("POST", "/__api__/v1/environments", {
        body: { name: "ghcr.io/org/keep:1", title: "Kept" },
      });
      await server.restart();
      for (const role of ["administrator", "publisher"] as const) {
        const got = await server.call("GET", `/__api__/v1/environments/${created.body.guid}`, {
          key: server.keys[role],
        });
        expect(got.status).toBe(200);
        expect(got.body).toEqual(created.body);
      }
      const viewer = await server.call("GET", "/__api__/v1/user", { key: server.keys.viewer });
      expect(viewer.body.username).toBe("vic");
      const revoked = await server.call("GET", "/__api__/v1/user", { key: server.keys.revoked });
      expect(revoked.status).toBe(401);
    });

    it("lists changes made by another server sharing the database", async () => {
      const before = await server.call("GET", "/__api__/v1/environments");
      const replica = await openStore(server.settings);
      try {
        const other = new EnvironmentService(replica);
        const made = await other.create({ name: "ghcr.io/org/replica:1" });
        const afterCreate = await server.call("GET", "/__api__/v1/environments");
        expect(afterCreate.body).toHaveLength(before.body.length + 1);
        await other.update(made.guid, { title: "From the replica" });
        const afterUpdate = await server.call("GET", "/__api__/v1/environments");
        expect(afterUpdate.body.find((e: { guid: string }) => e.guid === made.guid).title).toBe(
          "From the replica",
        );
        await other.remove(made.guid);
        const afterDelete = await server.call("GET", "/__api__/v1/environments");
        expect(afterDelete.body).toEqual(before.body);
      } finally {
        await replica.close();
      }
    });

    it("lists installations per runtime across environments", async () => {
      await server.call("POST", "/__api__/v1/environments", {
        body: {
          name: "ghcr.io/org/two-r:1",
          r: {
            installations: [
              { version: "4.2.2", path: "/opt/R/4.2.2/bin/R" },
              { version: "4.3.1", path: "/opt/R/4.3.1/bin/R" },
            ],
          },
        },
      });
      const r = await server.call("GET", "/__api__/v1/server_settings/r", {
        key: server.keys.publisher,
      });
      expect(r.body.installations).toEqual(
        expect.arrayContaining([
          { version: "4.2.2", cluster_name: "Kubernetes", image_name: "ghcr.io/org/two-r:1" },
          { version: "4.3.1", cluster_name: "Kubernetes", image_name: "ghcr.io/org/two-r:1" },
        ]),
      );
    });
  });
}
