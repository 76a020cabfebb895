/**
 * The pre-puller follows the catalog in a real store: the runner is handed the catalog's
 * images (not the host's own environments, not disabled ones) at start and again once an
 * environment is added.
 */
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { keepImagesPulled } from "../../src/environments/image-prepull.js";
import { EnvironmentService } from "../../src/environments/service.js";
import type { PrePull, Runner } from "../../src/runners/runner.js";
import { openStore, type Store } from "../../src/store/database.js";
import { fakeFor } from "../runners/broken-backends.js";
import { freshDatabase, type TestDatabase } from "../support/stores.js";

let database: TestDatabase;
let store: Store;
beforeEach(async () => {
  database = await freshDatabase("sqlite");
  store = await openStore(database.settings);
});
afterEach(async () => {
  await store.close();
  await database.drop();
});

describe("keeping the catalog's images pulled", () => {
  it("hands the runner the catalog's images at start and after each change", async () => {
    const environments = new EnvironmentService(store);
    await environments.create({ name: "ghcr.io/org/a:1", image_pull_secrets: ["cred"] });
    await environments.create({ name: "ghcr.io/org/off:1", matching: "none" });
    await environments.create({ name: "host:1", cluster_name: "Local" });
    const lists: PrePull[][] = [];
    const runner: Runner = Object.assign(fakeFor(), {
      prePull: async (images: readonly PrePull[]) => {
        lists.push([...images]);
      },
    });
    const follower = keepImagesPulled(store, runner, pino({ level: "silent" }));
    try {
      await expect.poll(() => lists.length).toBe(1);
      expect(lists[0]).toEqual([{ image: "ghcr.io/org/a:1", pullSecrets: ["cred"] }]);
      await environments.create({
        name: "ghcr.io/org/b:1",
        tolerations: [{ key: "gpu", operator: "Exists" }],
      });
      await expect.poll(() => lists.length, { timeout: 20_000 }).toBe(2);
      expect(lists[1]).toEqual([
        { image: "ghcr.io/org/a:1", pullSecrets: ["cred"] },
        { image: "ghcr.io/org/b:1", tolerations: [{ key: "gpu", operator: "Exists" }] },
      ]);
    } finally {
      follower.stop();
    }
  }, 30_000);
});
