/**
 * The runner the server uses hands each job its environment's placement, found by the job's
 * image in a real store: as the environment says now, from a retired environment for content
 * still running in one, and nothing for an environment that sets none or a job on the host.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { placedRunner } from "../../src/content/placed-runner.js";
import { EnvironmentService } from "../../src/environments/service.js";
import type { Job } from "../../src/runners/runner.js";
import { openStore, type Store } from "../../src/store/database.js";
import { retireEnvironment } from "../../src/store/retired-environments.js";
import { fakeFor } from "../runners/broken-backends.js";
import { FakeWorld } from "../runners/fake-backend.js";
import { testJob } from "../support/jobs.js";
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

const job = (name: string, image: string | null): Job =>
  testJob({ name, kind: "build", image, workingDir: "/" });

describe("the placed runner", () => {
  it("gives each job its environment's placement, by image", async () => {
    const environments = new EnvironmentService(store);
    const gpu = await environments.create({
      name: "ghcr.io/org/gpu:1",
      node_selector: { "example.com/pool": "gpu" },
      tolerations: [{ key: "gpu", operator: "Exists", effect: "NoSchedule" }],
      service_account: "trainer",
      image_pull_secrets: ["registry-cred"],
    });
    await environments.create({ name: "ghcr.io/org/plain:1" });
    const world = new FakeWorld();
    const runner = placedRunner(fakeFor(world), store);
    expect(runner.backend).toBe("fake");

    await runner.start(job("gpu", "ghcr.io/org/gpu:1"));
    await runner.start(job("plain", "ghcr.io/org/plain:1"));
    await runner.start(job("host", null));
    expect(world.jobs.get("gpu")!.job.placement).toEqual({
      nodeSelector: { "example.com/pool": "gpu" },
      tolerations: [{ key: "gpu", operator: "Exists", effect: "NoSchedule" }],
      serviceAccount: "trainer",
      imagePullSecrets: ["registry-cred"],
    });
    expect(world.jobs.get("plain")!.job).not.toHaveProperty("placement");
    expect(world.jobs.get("host")!.job).not.toHaveProperty("placement");

    // A change applies to the next start; a retired environment still places its content.
    await environments.update(gpu.guid, { service_account: null });
    await runner.start(job("gpu-2", "ghcr.io/org/gpu:1"));
    expect(world.jobs.get("gpu-2")!.job.placement).not.toHaveProperty("serviceAccount");
    await retireEnvironment(store.db, gpu.guid, new Date().toISOString());
    await runner.start(job("gpu-3", "ghcr.io/org/gpu:1"));
    expect(world.jobs.get("gpu-3")!.job.placement?.nodeSelector).toEqual({
      "example.com/pool": "gpu",
    });
  });
});
