/**
 * `/v1/content/{guid}/environment` on both stores: the shapes posit-sdk's `EnvVars`
 * (src/posit/connect/env.py: `find()` reads a list of names, `update()`/`create()`/`delete()`
 * PATCH `[{name, value}]`, `clear()` PUTs `[]`) and rsconnect-python's deploy
 * (`-E NAME=value`, a PATCH after creating the content) read; who may call it; values
 * sealed at rest and never returned; every refusal in Connect's error shape.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser } from "../../src/users/accounts.js";
import { createContent } from "../support/deploy.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { STORE_DIALECTS } from "../support/stores.js";

describe.each(STORE_DIALECTS)("content environment variables (%s)", (dialect) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(dialect);
  });
  afterAll(() => server?.close());

  const env = (guid: string) => `/__api__/v1/content/${guid}/environment`;

  it("lists names only, sets, removes with null and replaces with PUT", async () => {
    const item = await createContent(server, "vars-basic");
    const empty = await server.call("GET", env(item.guid), { key: server.keys.publisher });
    expect(empty).toMatchObject({ status: 200, body: [] });

    const set = await server.call("PATCH", env(item.guid), {
      key: server.keys.publisher,
      body: [
        { name: "DB_URL", value: "postgres://secret@db/x" },
        { name: "TOKEN", value: "t0ps3cret" },
      ],
    });
    expect(set).toMatchObject({ status: 200, body: ["DB_URL", "TOKEN"] });
    const listed = await server.call("GET", env(item.guid), { key: server.keys.publisher });
    expect(listed.body).toEqual(["DB_URL", "TOKEN"]);
    expect(JSON.stringify(listed.body)).not.toContain("secret");

    const removed = await server.call("PATCH", env(item.guid), {
      key: server.keys.publisher,
      body: [{ name: "TOKEN", value: null }],
    });
    expect(removed.body).toEqual(["DB_URL"]);

    const replaced = await server.call("PUT", env(item.guid), {
      key: server.keys.publisher,
      body: [{ name: "ONLY", value: "1" }],
    });
    expect(replaced).toMatchObject({ status: 200, body: ["ONLY"] });
    const cleared = await server.call("PUT", env(item.guid), {
      key: server.keys.publisher,
      body: [],
    });
    expect(cleared).toMatchObject({ status: 200, body: [] });
  });

  it("keeps values encrypted at rest and counts every write, even one that changes nothing", async () => {
    const item = await createContent(server, "vars-rest");
    const revision = async () =>
      (
        await server.server.store.db
          .selectFrom("content")
          .select("variables_revision")
          .where("guid", "=", item.guid)
          .executeTakeFirstOrThrow()
      ).variables_revision;
    const before = await revision();
    await server.call("PATCH", env(item.guid), {
      key: server.keys.publisher,
      body: [{ name: "PASSWORD", value: "hunter2-plain" }],
    });
    const rows = await server.server.store.db
      .selectFrom("content_variables")
      .selectAll()
      .where("content_guid", "=", item.guid)
      .execute();
    expect(rows).toHaveLength(1);
    expect(rows[0]!.value).not.toContain("hunter2");
    expect(rows[0]!.value).toMatch(/^v1\./);
    // posit-sdk's restart: create a variable and delete it again; both writes count.
    await server.call("PATCH", env(item.guid), {
      key: server.keys.publisher,
      body: [{ name: "_CONNECT_RESTART_TMP_1", value: "1" }],
    });
    await server.call("PATCH", env(item.guid), {
      key: server.keys.publisher,
      body: [{ name: "_CONNECT_RESTART_TMP_1", value: null }],
    });
    expect(await revision()).toBe(before + 3);
  });

  it("lets the owner and administrators in, and never viewers or other publishers", async () => {
    const item = await createContent(server, "vars-roles");
    const other = (await createUser(server.server.store, "other-pub", "publisher")).apiKey;
    const asAdmin = await server.call("PATCH", env(item.guid), {
      key: server.keys.administrator,
      body: [{ name: "A", value: "1" }],
    });
    expect(asAdmin.status).toBe(200);
    for (const method of ["GET", "PATCH", "PUT"]) {
      const viewer = await server.call(method, env(item.guid), {
        key: server.keys.viewer,
        ...(method === "GET" ? {} : { body: [] }),
      });
      expect(viewer.status).toBe(403);
      expect(viewer.body).toMatchObject({ code: expect.any(Number), error: expect.any(String) });
    }
    const stranger = await server.call("GET", env(item.guid), { key: other });
    expect(stranger.status).toBe(403);
    const strangerWrite = await server.call("PATCH", env(item.guid), {
      key: other,
      body: [{ name: "B", value: "2" }],
    });
    expect(strangerWrite.status).toBe(403);
    const anonymous = await server.call("GET", env(item.guid), { key: null });
    expect(anonymous.status).toBe(401);
  });

  it("lets collaborators read and write, and refuses viewers with Connect's codes even when they may see the content", async () => {
    const item = await createContent(server, "vars-collaborators");
    const collaborator = await createUser(server.server.store, "vars-collab", "publisher");
    const listedViewer = await createUser(server.server.store, "vars-listed", "viewer");
    const guidOf = async (key: string) =>
      (await server.call("GET", "/__api__/v1/user", { key })).body.guid as string;
    for (const [key, role] of [
      [collaborator.apiKey, "owner"],
      [listedViewer.apiKey, "viewer"],
    ] as const) {
      const added = await server.call("POST", `/__api__/v1/content/${item.guid}/permissions`, {
        key: server.keys.publisher,
        body: { principal_guid: await guidOf(key), principal_type: "user", role },
      });
      expect(added.status, JSON.stringify(added.body)).toBe(200);
    }

    const set = await server.call("PATCH", env(item.guid), {
      key: collaborator.apiKey,
      body: [
        { name: "FROM_COLLABORATOR", value: "c" },
        { name: "GONE", value: "g" },
      ],
    });
    expect(set).toMatchObject({ status: 200, body: ["FROM_COLLABORATOR", "GONE"] });
    const removed = await server.call("PATCH", env(item.guid), {
      key: collaborator.apiKey,
      body: [{ name: "GONE", value: null }],
    });
    expect(removed.body).toEqual(["FROM_COLLABORATOR"]);
    expect(await server.call("GET", env(item.guid), { key: collaborator.apiKey })).toMatchObject({
      status: 200,
      body: ["FROM_COLLABORATOR"],
    });
    // What a collaborator set, the owner sees too.
    expect((await server.call("GET", env(item.guid), { key: server.keys.publisher })).body).toEqual(
      ["FROM_COLLABORATOR"],
    );
    const replaced = await server.call("PUT", env(item.guid), {
      key: collaborator.apiKey,
      body: [{ name: "REPLACED", value: "r" }],
    });
    expect(replaced).toMatchObject({ status: 200, body: ["REPLACED"] });

    // Viewers may see the content (listed, or everyone signed in) but never its variables.
    const opened = await server.call("PATCH", `/__api__/v1/content/${item.guid}`, {
      key: server.keys.publisher,
      body: { access_type: "logged_in" },
    });
    expect(opened.status, JSON.stringify(opened.body)).toBe(200);
    for (const key of [listedViewer.apiKey, server.keys.viewer]) {
      const seen = await server.call("GET", `/__api__/v1/content/${item.guid}`, { key });
      expect(seen.status).toBe(200);
      for (const method of ["GET", "PATCH", "PUT"]) {
        const refused = await server.call(method, env(item.guid), {
          key,
          ...(method === "GET" ? {} : { body: [{ name: "REPLACED", value: "x" }] }),
        });
        expect(refused.status, `${method} as a viewer`).toBe(403);
        expect(refused.body).toMatchObject({ code: 22, error: expect.any(String), payload: null });
      }
    }
    expect((await server.call("GET", env(item.guid), { key: collaborator.apiKey })).body).toEqual([
      "REPLACED",
    ]);
    const anonymous = await server.call("GET", env(item.guid), { key: null });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ code: expect.any(Number), error: expect.any(String) });
  });

  it("refuses bad names, long values, duplicates and malformed bodies, changing nothing", async () => {
    const item = await createContent(server, "vars-errors");
    await server.call("PATCH", env(item.guid), {
      key: server.keys.publisher,
      body: [{ name: "KEEP", value: "1" }],
    });
    const cases: Array<{ body: unknown; status: number; mentions: string }> = [
      { body: [{ name: "1BAD", value: "x" }], status: 400, mentions: "[0].name" },
      { body: [{ name: "has-dash", value: "x" }], status: 400, mentions: "not an identifier" },
      { body: [{ name: "", value: "x" }], status: 400, mentions: "[0].name" },
      {
        body: [
          { name: "OK", value: "x" },
          { name: "BIG", value: "x".repeat(64 * 1024 + 1) },
        ],
        status: 400,
        mentions: "[1].value",
      },
      {
        body: [
          { name: "TWICE", value: "1" },
          { name: "TWICE", value: "2" },
        ],
        status: 400,
        mentions: "named twice",
      },
      { body: [{ name: "NOVALUE" }], status: 400, mentions: "value" },
      { body: { name: "X", value: "1" }, status: 400, mentions: "array" },
      { body: [{ name: "X", value: 5 }], status: 400, mentions: "value" },
    ];
    for (const { body, status, mentions } of cases) {
      const answer = await server.call("PATCH", env(item.guid), {
        key: server.keys.publisher,
        body,
      });
      expect(answer.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      expect(answer.body).toMatchObject({ code: expect.any(Number), error: expect.any(String) });
      expect(answer.body.error).toContain(mentions);
    }
    const putNull = await server.call("PUT", env(item.guid), {
      key: server.keys.publisher,
      body: [{ name: "GONE", value: null }],
    });
    expect(putNull.status).toBe(400);
    expect(putNull.body.error).toContain("[0].value");
    const missing = await server.call("GET", env("00000000-0000-0000-0000-000000000000"), {
      key: server.keys.publisher,
    });
    expect(missing.status).toBe(404);
    // Nothing of the refused writes landed.
    const after = await server.call("GET", env(item.guid), { key: server.keys.publisher });
    expect(after.body).toEqual(["KEEP"]);
  });

  it("keeps its key across restarts, so values stay readable", async () => {
    const item = await createContent(server, "vars-restart");
    await server.call("PATCH", env(item.guid), {
      key: server.keys.publisher,
      body: [{ name: "SURVIVES", value: "yes" }],
    });
    await server.restart();
    const { variableValues } = await import("../../src/content/content-variables.js");
    const { SecretBox } = await import("../../src/content/secret-box.js");
    const box = await SecretBox.open(server.settings.Server.DataDir, "");
    expect(await variableValues(server.server.store, box, item.guid)).toEqual({ SURVIVES: "yes" });
  });
});
