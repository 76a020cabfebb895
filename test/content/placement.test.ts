/**
 * An environment's placement reaches every job of content that runs in it through the job
 * context, read from the store as the environment is now: so it is part of the job's spec,
 * and a change to it gives the job a new name (the process is replaced, not kept).
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { jobContext } from "../../src/content/bundle-context.js";
import { appJob, type Built } from "../../src/content/jobs.js";
import type { Pick } from "../../src/content/pick.js";
import { SecretBox } from "../../src/content/secret-box.js";
import { EnvironmentService } from "../../src/environments/service.js";
import { findContent } from "../../src/store/content.js";
import { openStore, type Store } from "../../src/store/database.js";
import { retireEnvironment } from "../../src/store/retired-environments.js";
import { insertOwnedContent } from "../support/content-rows.js";
import { freshDatabase, type TestDatabase } from "../support/stores.js";

const GUID = "7c1d3a2e-1c4f-4a9b-8e6d-0f1a2b3c4d5e";
const BUILT: Built = {
  pythonEnv: "cache/x/python-3.11.9/0123abcd",
  pythonPath: "/opt/python/3.11.9/bin/python3",
  rPath: null,
  rLibrary: null,
  quartoPath: null,
};

let database: TestDatabase;
let store: Store;
beforeEach(async () => {
  database = await freshDatabase("sqlite");
  store = await openStore(database.settings);
  await insertOwnedContent(store, { guid: GUID, name: "trainer", app_mode: "python-api" });
});
afterEach(async () => {
  await store.close();
  await database.drop();
});

async function contextIn(environment: { guid: string; name: string }) {
  const pick: Pick = {
    environment: { ...environment, title: null, cluster_name: "Kubernetes", supervisor: null },
    installations: {},
  };
  const deps = {
    store,
    paths: { data: "/data", runtime: "/runtime" },
    instance: "test",
    secrets: SecretBox.fromKey(Buffer.alloc(32, 1)),
  };
  return jobContext(deps, (await findContent(store.db, GUID))!, { id: 1 }, pick);
}

const runOf = async (environment: { guid: string; name: string }) =>
  appJob(
    await contextIn(environment),
    { kind: "app", argv: ["python", "app.py"], env: {} },
    BUILT,
    0,
  );

describe("an environment's placement", () => {
  it("is in the spec of its content's jobs, as the environment is now, retired or not", async () => {
    const environments = new EnvironmentService(store);
    const gpu = await environments.create({
      name: "ghcr.io/org/gpu:1",
      node_selector: { "example.com/pool": "gpu" },
      tolerations: [{ key: "gpu", operator: "Exists", effect: "NoSchedule" }],
      service_account: "trainer",
      image_pull_secrets: ["registry-cred"],
    });
    const plain = await environments.create({ name: "ghcr.io/org/plain:1" });

    const placed = await runOf(gpu);
    expect(placed.placement).toEqual({
      nodeSelector: { "example.com/pool": "gpu" },
      tolerations: [{ key: "gpu", operator: "Exists", effect: "NoSchedule" }],
      serviceAccount: "trainer",
      imagePullSecrets: ["registry-cred"],
    });
    expect(await runOf(plain)).not.toHaveProperty("placement");

    // A change is a new spec: the running process of the old one is replaced.
    await environments.update(gpu.guid, { service_account: null });
    const changed = await runOf(gpu);
    expect(changed.placement).not.toHaveProperty("serviceAccount");
    expect(changed.name).not.toBe(placed.name);
    expect(changed.labels["spec-hash"]).not.toBe(placed.labels["spec-hash"]);

    await retireEnvironment(store.db, gpu.guid, new Date().toISOString());
    expect((await runOf(gpu)).placement?.nodeSelector).toEqual({ "example.com/pool": "gpu" });
  });
});
