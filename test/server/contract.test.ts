import { readFileSync } from "node:fs";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_CODES } from "../../src/errors.js";
import { buildApp } from "../../src/server/app.js";
import { openStore, type Store } from "../../src/store/database.js";
import { FakeRunner } from "../runners/fake-backend.js";
import { freshDatabase, type TestDatabase } from "../support/stores.js";

describe("API contract", () => {
  let database: TestDatabase;
  let store: Store;
  let app: Awaited<ReturnType<typeof buildApp>>;

  beforeAll(async () => {
    database = await freshDatabase("sqlite");
    store = await openStore(database.settings);
    app = await buildApp({
      store,
      settings: database.settings,
      logger: pino({ level: "silent" }),
      slipwayVersion: "test",
      runner: new FakeRunner(),
      serverId: "contract-test",
    });
    await app.ready();
  });
  afterAll(async () => {
    await app?.close();
    await store?.close();
    await database?.drop();
  });

  it("pins the error code table to the documented list, both ways", () => {
    const spec = readFileSync(new URL("../../../shared/spec/api.md", import.meta.url), "utf8");
    const documented = new Set(
      [...spec.matchAll(/\|\s*(\d+)\s*\|\s*[a-z]/g)].map((m) => Number(m[1])),
    );
    const ours = new Set<number>(Object.values(ERROR_CODES).map((e) => e.code));
    expect([...ours].filter((c) => !documented.has(c))).toEqual([]);
    expect([...documented].filter((c) => !ours.has(c))).toEqual([]);
  });

  it("documents every route with its responses in the OpenAPI document", async () => {
    const document = (await app.inject({ method: "GET", url: "/__api__/openapi.json" })).json();
    const paths = Object.keys(document.paths);
    expect(paths).toEqual(
      expect.arrayContaining([
        "/__ping__",
        "/__api__/server_settings",
        "/__api__/v1/user",
        "/__api__/v1/server_settings/{runtime}",
        "/__api__/v1/environments",
        "/__api__/v1/environments/{guid}",
      ]),
    );
    for (const [path, operations] of Object.entries<Record<string, { responses?: object }>>(
      document.paths,
    )) {
      for (const [method, operation] of Object.entries(operations)) {
        expect(Object.keys(operation.responses ?? {}), `${method} ${path}`).not.toHaveLength(0);
      }
    }
    const create = document.paths["/__api__/v1/environments"].post;
    expect(create.requestBody.content["application/json"].schema.required).toEqual(["name"]);
  });
});
