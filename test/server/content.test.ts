import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";

describe("content API", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const create = (name: string, key = server.keys.publisher, extra: object = {}) =>
    server.call("POST", "/__api__/v1/content", { key, body: { name, ...extra } });

  it("creates content owned by the caller with URLs and null environment fields", async () => {
    const created = await create("report-one", server.keys.publisher, { title: "Report" });
    expect(created.status).toBe(200);
    const me = await server.call("GET", "/__api__/v1/user", { key: server.keys.publisher });
    expect(created.body).toMatchObject({
      name: "report-one",
      title: "Report",
      owner_guid: me.body.guid,
      bundle_id: null,
      app_mode: "unknown",
      default_environment_guid: null,
      default_image_name: null,
      image_name: null,
      environment_guid: null,
    });
    expect(created.body.content_url).toBe(`${server.url}/content/${created.body.guid}/`);
    expect(typeof created.body.dashboard_url).toBe("string");
  });

  it("filters the list by name and owner for real", async () => {
    // Open to every signed-in user, so the viewer sees it in the list.
    await create("alpha", server.keys.publisher, { access_type: "logged_in" });
    await create("beta", server.keys.administrator);
    const byName = await server.call("GET", "/__api__/v1/content?name=alpha", {
      key: server.keys.viewer,
    });
    expect(byName.body.map((c: { name: string }) => c.name)).toEqual(["alpha"]);
    const none = await server.call("GET", "/__api__/v1/content?name=gamma", {
      key: server.keys.viewer,
    });
    expect(none.body).toEqual([]);
    const admin = await server.call("GET", "/__api__/v1/user");
    const byOwner = await server.call("GET", `/__api__/v1/content?owner_guid=${admin.body.guid}`);
    expect(byOwner.body.map((c: { name: string }) => c.name)).toEqual(["beta"]);
  });

  it("refuses viewers creating content and a second item of the same name", async () => {
    expect((await create("viewer-made", server.keys.viewer)).status).toBe(403);
    await create("dup");
    const again = await create("dup");
    expect(again.status).toBe(409);
    expect((await create("bad name!")).body.code).toBe(25);
  });

  it("lets only the owner or an administrator change or delete content", async () => {
    const item = (await create("guarded")).body;
    const other = await server.call("POST", "/__api__/v1/content", {
      key: server.keys.administrator,
      body: { name: "admins" },
    });
    const patchOthers = await server.call("PATCH", `/__api__/v1/content/${other.body.guid}`, {
      key: server.keys.publisher,
      body: { title: "mine now" },
    });
    expect(patchOthers.status).toBe(403);
    expect(patchOthers.body.code).toBe(22);
    const adminPatch = await server.call("PATCH", `/__api__/v1/content/${item.guid}`, {
      body: { title: "by admin" },
    });
    expect(adminPatch.body.title).toBe("by admin");
    const removed = await server.call("DELETE", `/__api__/v1/content/${item.guid}`, {
      key: server.keys.publisher,
    });
    expect(removed.status).toBe(204);
    expect((await server.call("GET", `/__api__/v1/content/${item.guid}`)).status).toBe(404);
  });

  it("validates the default environment against the catalog and hides it from viewers", async () => {
    const item = (await create("picky", server.keys.publisher, { access_type: "logged_in" })).body;
    const env = await server.call("POST", "/__api__/v1/environments", {
      body: { name: "ghcr.io/org/picky:1" },
    });
    const unknownGuid = await server.call("PATCH", `/__api__/v1/content/${item.guid}`, {
      key: server.keys.publisher,
      body: { default_environment_guid: "00000000-0000-0000-0000-000000000000" },
    });
    expect(unknownGuid.body.code).toBe(106);
    const unknownImage = await server.call("PATCH", `/__api__/v1/content/${item.guid}`, {
      key: server.keys.publisher,
      body: { default_image_name: "ghcr.io/org/none:1" },
    });
    expect(unknownImage.body.code).toBe(193);
    const chosen = await server.call("PATCH", `/__api__/v1/content/${item.guid}`, {
      key: server.keys.publisher,
      body: { default_environment_guid: env.body.guid },
    });
    expect(chosen.body.default_environment_guid).toBe(env.body.guid);
    const asViewer = await server.call("GET", `/__api__/v1/content/${item.guid}`, {
      key: server.keys.viewer,
    });
    expect(asViewer.body.default_environment_guid).toBeNull();

    // In use as a default, so a delete retires it, and force then erases it.
    const retired = await server.call("DELETE", `/__api__/v1/environments/${env.body.guid}`);
    expect(retired.status).toBe(204);
    const listed = await server.call("GET", "/__api__/slipway/v1/environments/retired");
    expect(listed.body.map((e: { guid: string }) => e.guid)).toEqual([env.body.guid]);
    const forced = await server.call(
      "DELETE",
      `/__api__/v1/environments/${env.body.guid}?force=true`,
    );
    expect(forced.status).toBe(204);
    expect((await server.call("GET", "/__api__/slipway/v1/environments/retired")).body).toEqual([]);

    const automatic = await server.call("PATCH", `/__api__/v1/content/${item.guid}`, {
      key: server.keys.publisher,
      body: { default_environment_guid: null },
    });
    expect(automatic.body.default_environment_guid).toBeNull();
  });
});
