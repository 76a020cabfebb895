/**
 * The smaller gaps, on both stores: `app_mode: "unknown"` before the first deploy (what
 * rsconnect-python's AppModes.get_by_ordinal/name falls back to), `include=owner,tags,
 * vanity_url` on content get and list (connectapi's `get_content()` and posit-sdk ask for
 * them), documented PATCH fields Slipway lacks refused by name (never a 200 that changed
 * nothing), the timeouts applied, and `/v1/server_settings/tensorflow`.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createContent } from "../support/deploy.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { STORE_DIALECTS } from "../support/stores.js";

describe.each(STORE_DIALECTS)("content fields (%s)", (dialect) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(dialect);
  });
  afterAll(() => server?.close());

  it("says unknown for the app mode until a bundle is deployed", async () => {
    const item = await createContent(server, "fields-new");
    const got = await server.call("GET", `/__api__/v1/content/${item.guid}`);
    expect(got.body.app_mode).toBe("unknown");
  });

  it("numbers content with numeric-string ids, one apart, never reused by a refused create", async () => {
    const first = (await createContent(server, "fields-id-1")) as unknown as { id: string };
    const clash = await server.call("POST", "/__api__/v1/content", {
      key: server.keys.publisher,
      body: { name: "fields-id-1" },
    });
    expect(clash.status).toBe(409);
    const second = (await createContent(server, "fields-id-2")) as unknown as { id: string };
    expect(first.id).toMatch(/^[1-9][0-9]*$/);
    expect(Number(second.id)).toBe(Number(first.id) + 1);
    // Creates at once each get their own id.
    const many = await Promise.all(
      [1, 2, 3, 4, 5].map((n) => createContent(server, `fields-id-many-${n}`)),
    );
    const ids = many.map((c) => (c as unknown as { id: string }).id);
    expect(new Set(ids).size).toBe(5);
  });

  it("includes the owner, tags and vanity URL when asked, on get and list", async () => {
    const item = await createContent(server, "fields-include");
    const plain = await server.call("GET", `/__api__/v1/content/${item.guid}`);
    expect(plain.body).not.toHaveProperty("owner");
    const got = await server.call(
      "GET",
      `/__api__/v1/content/${item.guid}?include=owner,tags,vanity_url`,
      { key: server.keys.viewer },
    );
    expect(got.status).toBe(200);
    expect(got.body).toMatchObject({
      owner: { guid: plain.body.owner_guid, username: "pat" },
      tags: [],
      vanity_url: null,
    });
    const listed = await server.call(
      "GET",
      "/__api__/v1/content?name=fields-include&include=owner",
    );
    expect(listed.body[0].owner.username).toBe("pat");
    expect(listed.body[0]).not.toHaveProperty("tags");
    const bad = await server.call("GET", `/__api__/v1/content/${item.guid}?include=owner,colour`);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ payload: { field: "include" } });
    expect(bad.body.error).toContain("colour");
  });

  it("refuses documented fields it cannot apply, by name, and changes nothing", async () => {
    const item = await createContent(server, "fields-patch");
    const patch = (body: object) =>
      server.call("PATCH", `/__api__/v1/content/${item.guid}`, {
        key: server.keys.publisher,
        body,
      });
    for (const [field, value] of [
      ["locked", true],
      ["locked_message", "closed"],
      ["run_as", "rstudio-connect"],
      ["run_as_current_user", true],
      ["service_account_name", "robot"],
    ] as const) {
      const refused = await patch({ title: "changed?", [field]: value });
      expect(refused.status, field).toBe(400);
      expect(refused.body).toMatchObject({ code: 25, payload: { field } });
      expect(refused.body.error).toContain(field);
    }
    const created = await server.call("POST", "/__api__/v1/content", {
      key: server.keys.publisher,
      body: { name: "fields-locked", locked: true },
    });
    expect(created.status).toBe(400);
    expect((await server.call("GET", "/__api__/v1/content?name=fields-locked")).body).toEqual([]);
    // Restating what is so passes; the timeouts are applied.
    const ok = await patch({
      title: "kept",
      access_type: "acl",
      locked: false,
      run_as: null,
      init_timeout: 45,
      idle_timeout: 120,
      connection_timeout: 30,
      read_timeout: 40,
    });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({
      title: "kept",
      access_type: "acl",
      init_timeout: 45,
      idle_timeout: 120,
      connection_timeout: 30,
      read_timeout: 40,
    });
    const after = await server.call("GET", `/__api__/v1/content/${item.guid}`);
    expect(after.body.title).toBe("kept");
  });

  it("lists TensorFlow installations like the other runtimes", async () => {
    const none = await server.call("GET", "/__api__/v1/server_settings/tensorflow", {
      key: server.keys.publisher,
    });
    expect(none).toMatchObject({ status: 200, body: { installations: [] } });
    const made = await server.call("POST", "/__api__/v1/environments", {
      body: {
        name: "ghcr.io/example/tf:2.15",
        cluster_name: "Kubernetes",
        tensorflow: {
          installations: [{ version: "2.15.0", path: "/usr/bin/tensorflow_model_server" }],
        },
      },
    });
    expect(made.status).toBe(200);
    const listed = await server.call("GET", "/__api__/v1/server_settings/tensorflow", {
      key: server.keys.publisher,
    });
    expect(listed.body.installations).toEqual([
      { version: "2.15.0", cluster_name: "Kubernetes", image_name: "ghcr.io/example/tf:2.15" },
    ]);
  });
});
