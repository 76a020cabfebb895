import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createContent } from "../support/deploy.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { STORE_DIALECTS } from "../support/stores.js";

describe.each(STORE_DIALECTS)("tags on %s", (dialect) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(dialect);
  }, 60_000);
  afterAll(() => server?.close());

  const tag = (name: string, parent_id?: string) =>
    server.call("POST", "/__api__/v1/tags", { body: parent_id ? { name, parent_id } : { name } });

  it("keeps a tree that connectapi reads, and tags content for those who may change it", async () => {
    const root = await tag("Example");
    expect(root.status).toBe(200);
    expect(root.body).toMatchObject({
      id: expect.stringMatching(/^\d+$/),
      name: "Example",
      parent_id: null,
    });
    const child = await tag("Permissions", root.body.id);
    expect(child.body.parent_id).toBe(root.body.id);
    const grandchild = await tag("Deep", child.body.id);
    const all = await server.call("GET", "/__api__/v1/tags", { key: server.keys.viewer });
    expect(all.body.map((t: { name: string }) => t.name)).toEqual([
      "Example",
      "Permissions",
      "Deep",
    ]);
    const byParent = await server.call("GET", `/__api__/v1/tags?parent_id=${root.body.id}`);
    expect(byParent.body.map((t: { name: string }) => t.name)).toEqual(["Permissions"]);

    const open = await createContent(server, "tagged");
    const hidden = await createContent(server, "tagged-private", server.keys.publisher, {});
    for (const item of [open, hidden]) {
      const added = await server.call("POST", `/__api__/v1/content/${item.guid}/tags`, {
        key: server.keys.publisher,
        body: { tag_id: child.body.id },
      });
      expect(added.status).toBe(200);
    }
    const again = await server.call("POST", `/__api__/v1/content/${open.guid}/tags`, {
      key: server.keys.publisher,
      body: { tag_id: child.body.id },
    });
    expect(again).toMatchObject({ status: 409, body: { code: 25 } });
    const byViewer = await server.call("POST", `/__api__/v1/content/${open.guid}/tags`, {
      key: server.keys.viewer,
      body: { tag_id: root.body.id },
    });
    expect(byViewer.status).toBe(403);
    const ghost = await server.call("POST", `/__api__/v1/content/${open.guid}/tags`, {
      body: { tag_id: "999999" },
    });
    expect(ghost).toMatchObject({ status: 404, body: { code: 25 } });

    const onContent = await server.call("GET", `/__api__/v1/content/${open.guid}/tags`, {
      key: server.keys.viewer,
    });
    expect(onContent.body.map((t: { name: string }) => t.name)).toEqual(["Permissions"]);
    // The viewer sees only the content they may see, by tag and in the filtered list.
    const tagged = await server.call("GET", `/__api__/v1/tags/${child.body.id}/content`, {
      key: server.keys.viewer,
    });
    expect(tagged.body.map((c: { name: string }) => c.name)).toEqual(["tagged"]);
    const filtered = await server.call("GET", `/__api__/v1/content?tag_id=${child.body.id}`);
    expect(filtered.body.map((c: { name: string }) => c.name)).toEqual([
      "tagged",
      "tagged-private",
    ]);
    expect((await server.call("GET", `/__api__/v1/content?tag_id=${root.body.id}`)).body).toEqual(
      [],
    );

    const off = await server.call(
      "DELETE",
      `/__api__/v1/content/${open.guid}/tags/${child.body.id}`,
      {
        key: server.keys.publisher,
      },
    );
    expect(off.status).toBe(204);
    const twice = await server.call(
      "DELETE",
      `/__api__/v1/content/${open.guid}/tags/${child.body.id}`,
    );
    expect(twice.status).toBe(404);

    // Deleting a tag deletes its descendants and takes them off content.
    expect((await server.call("DELETE", `/__api__/v1/tags/${root.body.id}`)).status).toBe(204);
    for (const id of [root.body.id, child.body.id, grandchild.body.id]) {
      expect((await server.call("GET", `/__api__/v1/tags/${id}`)).status).toBe(404);
    }
    expect((await server.call("GET", `/__api__/v1/content/${hidden.guid}/tags`)).body).toEqual([]);
  });

  it("renames a tag and moves it within the tree, never under itself", async () => {
    const top = (await tag("Fruit")).body;
    const middle = (await tag("Citrus", top.id)).body;
    const leaf = (await tag("Lemon", middle.id)).body;
    const patch = (id: string, body: object, key = server.keys.administrator) =>
      server.call("PATCH", `/__api__/v1/tags/${id}`, { key, body });

    const renamed = await patch(leaf.id, { name: "Lime" });
    expect(renamed).toMatchObject({ status: 200, body: { name: "Lime", parent_id: middle.id } });
    expect(renamed.body.updated_time >= leaf.updated_time).toBe(true);
    expect((await patch(leaf.id, { parent_id: top.id })).body).toMatchObject({
      name: "Lime",
      parent_id: top.id,
    });
    expect((await patch(leaf.id, { parent_id: null })).body.parent_id).toBeNull();

    expect(await patch(top.id, { parent_id: top.id })).toMatchObject({ status: 400 });
    expect(await patch(top.id, { parent_id: middle.id })).toMatchObject({
      status: 400,
      body: { code: 25, error: expect.stringContaining("under itself") },
    });
    expect(await patch(middle.id, { name: "Lime", parent_id: null })).toMatchObject({
      status: 409,
    });
    expect(await patch(middle.id, { name: "a/b" })).toMatchObject({ status: 400 });
    expect(await patch(middle.id, { parent_id: "999999" })).toMatchObject({ status: 404 });
    expect(await patch("999999", { name: "Ghost" })).toMatchObject({ status: 404 });
    expect(await patch(middle.id, { name: "Mine" }, server.keys.publisher)).toMatchObject({
      status: 403,
    });
    const tree = (await server.call("GET", "/__api__/v1/tags")).body.filter((t: { id: string }) =>
      [top.id, middle.id, leaf.id].includes(t.id),
    );
    expect(
      tree.map((t: { name: string; parent_id: string | null }) => [t.name, t.parent_id]),
    ).toEqual([
      ["Fruit", null],
      ["Citrus", top.id],
      ["Lime", null],
    ]);
    await server.call("DELETE", `/__api__/v1/tags/${top.id}`);
    await server.call("DELETE", `/__api__/v1/tags/${leaf.id}`);
  });

  it("refuses bad tags with clear 4xx answers", async () => {
    await tag("Unique");
    expect((await tag("Unique")).status).toBe(409);
    expect((await tag("a/b")).status).toBe(400);
    expect((await tag(" padded")).status).toBe(400);
    expect((await tag("Orphan", "999999")).status).toBe(404);
    expect((await tag("Bad", "x")).status).toBe(400);
    const byPublisher = await server.call("POST", "/__api__/v1/tags", {
      key: server.keys.publisher,
      body: { name: "Mine" },
    });
    expect(byPublisher.status).toBe(403);
    expect((await server.call("DELETE", "/__api__/v1/tags/999999")).status).toBe(404);
    const names = (await server.call("GET", "/__api__/v1/tags")).body.map(
      (t: { name: string }) => t.name,
    );
    expect(names).toEqual(["Unique"]);
  });
});
