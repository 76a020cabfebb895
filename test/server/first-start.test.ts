import { afterEach, describe, expect, it } from "vitest";
import { startServer } from "../../src/server/start.js";
import { freshDatabase, STORE_DIALECTS, type TestDatabase } from "../support/stores.js";

for (const dialect of STORE_DIALECTS) {
  describe(`first start on ${dialect}`, () => {
    let database: TestDatabase;
    afterEach(() => database?.drop());

    it("creates an administrator once and shows its key only that once", async () => {
      database = await freshDatabase(dialect);
      database.settings.Server.BootstrapAdministrator = true;
      const announced: string[] = [];
      const first = await startServer(database.settings, { announce: (t) => announced.push(t) });
      const key = /API key is\s+(\S+)/.exec(announced.join(""))?.[1];
      expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const me = await fetch(`${first.url}/__api__/v1/user`, {
        headers: { Authorization: `Key ${key}` },
      });
      expect(await me.json()).toMatchObject({ username: "admin", user_role: "administrator" });
      await first.close();

      const second = await startServer(database.settings, { announce: (t) => announced.push(t) });
      await second.close();
      expect(announced).toHaveLength(1);
    });
  });
}
