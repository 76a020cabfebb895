import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";

const python = (version: string, path: string) => ({ installations: [{ version, path }] });

/** Each bad create body, the Connect code it must get, and a word the message must name. */
const BAD_CREATES: Array<[string, unknown, number, string]> = [
  ["missing name", {}, 171, "name"],
  ["empty name", { name: "" }, 171, "name"],
  ["name with spaces", { name: "not an image" }, 171, "name"],
  ["name not a string", { name: 42 }, 171, "name"],
  ["title not a string", { name: "x.org/a:1", title: 5 }, 168, "title"],
  ["title too long", { name: "x.org/a:1", title: "t".repeat(1025) }, 168, "title"],
  ["description not a string", { name: "x.org/a:1", description: [] }, 169, "description"],
  [
    "cluster other than Kubernetes or Local",
    { name: "x.org/a:1", cluster_name: "Swarm" },
    170,
    "cluster_name",
  ],
  ["unknown matching", { name: "x.org/a:1", matching: "sometimes" }, 172, "matching"],
  ["matching not a string", { name: "x.org/a:1", matching: true }, 172, "matching"],
  [
    "relative installation path",
    { name: "x.org/a:1", python: python("3.11.3", "bin/python3") },
    173,
    "path",
  ],
  ["empty installation path", { name: "x.org/a:1", python: python("3.11.3", "") }, 173, "path"],
  [
    "path with ..",
    { name: "x.org/a:1", r: { installations: [{ version: "4.3.2", path: "/opt/../R" }] } },
    173,
    "path",
  ],
  [
    "missing installation path",
    { name: "x.org/a:1", quarto: { installations: [{ version: "1.4.550" }] } },
    173,
    "path",
  ],
  [
    "version not dotted numbers",
    { name: "x.org/a:1", python: python("3.x", "/p") },
    174,
    "version",
  ],
  [
    "version with a suffix",
    { name: "x.org/a:1", python: python("3.11.3rc1", "/p") },
    174,
    "version",
  ],
  ["empty version", { name: "x.org/a:1", python: python("", "/p") }, 174, "version"],
  [
    "version a number",
    { name: "x.org/a:1", python: { installations: [{ version: 3.11, path: "/p" }] } },
    174,
    "version",
  ],
  ["relative supervisor", { name: "x.org/a:1", supervisor: "scripts/s" }, 177, "supervisor"],
  [
    "installations not a list",
    { name: "x.org/a:1", python: { installations: "3.11" } },
    25,
    "installations",
  ],
  ["body is an array", [], 25, "request"],
];

describe("environment validation", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it.each(BAD_CREATES)("refuses %s", async (_, body, code, word) => {
    const result = await server.call("POST", "/__api__/v1/environments", { body });
    expect(result.status).toBe(400);
    expect(result.body.code).toBe(code);
    expect(result.body.error).toContain(word);
    const list = await server.call("GET", "/__api__/v1/environments");
    expect(list.body).toEqual([]);
  });

  it("refuses malformed JSON with code 121", async () => {
    const result = await server.call("POST", "/__api__/v1/environments", { rawBody: '{"name": ' });
    expect(result.status).toBe(400);
    expect(result.body.code).toBe(121);
  });

  it("refuses an oversized body with 413 and Connect's shape", async () => {
    const result = await server.call("POST", "/__api__/v1/environments", {
      body: { name: "x.org/a:1", description: "d".repeat(2 * 1024 * 1024) },
    });
    expect(result.status).toBe(413);
    expect(result.body).toMatchObject({ code: 2, payload: null });
  });

  it("answers unknown guids with 404 code 4", async () => {
    for (const method of ["GET", "PUT", "DELETE"]) {
      const result = await server.call(
        method,
        "/__api__/v1/environments/00000000-0000-0000-0000-000000000000",
        {
          body: method === "PUT" ? { title: "x" } : undefined,
        },
      );
      expect(result.status).toBe(404);
      expect(result.body.code).toBe(4);
    }
  });

  it("answers unknown paths in Connect's error shape", async () => {
    const result = await server.call("GET", "/__api__/v1/nothing-here");
    expect(result.status).toBe(404);
    expect(result.body).toMatchObject({ code: 4, payload: null });
  });

  it("creates with defaults and serializes every editable field", async () => {
    const created = await server.call("POST", "/__api__/v1/environments", {
      body: {
        name: "ghcr.io/org/content:r4.2.2-py3.11.3",
        python: python("3.11.3", "/opt/python/3.11.3/bin/python3"),
      },
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      name: "ghcr.io/org/content:r4.2.2-py3.11.3",
      cluster_name: "Kubernetes",
      environment_type: "Kubernetes",
      matching: "any",
      title: null,
      description: null,
      supervisor: null,
      managed_by: null,
      r: null,
      quarto: null,
      tensorflow: null,
      nodejs: null,
      volume_mounts: [],
      python: python("3.11.3", "/opt/python/3.11.3/bin/python3"),
    });
    expect(created.body.id).toMatch(/^\d+$/);
    expect(created.body.guid).toMatch(/^[0-9a-f-]{36}$/);

    const again = await server.call("POST", "/__api__/v1/environments", {
      body: { name: "ghcr.io/org/content:r4.2.2-py3.11.3" },
    });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe(175);
  });

  it("keeps omitted fields on a partial PUT and refuses changing name or cluster", async () => {
    const created = await server.call("POST", "/__api__/v1/environments", {
      body: {
        name: "x.org/put:1",
        title: "T",
        description: "D",
        matching: "exact",
        r: { installations: [{ version: "4.3.2", path: "/opt/R/4.3.2/bin/R" }] },
      },
    });
    const guid = created.body.guid;
    const put = await server.call("PUT", `/__api__/v1/environments/${guid}`, {
      body: { description: "new" },
    });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({
      title: "T",
      description: "new",
      matching: "exact",
      r: created.body.r,
    });
    expect(put.body.updated_time >= created.body.updated_time).toBe(true);

    const cleared = await server.call("PUT", `/__api__/v1/environments/${guid}`, {
      body: { title: null, r: null },
    });
    expect(cleared.body).toMatchObject({ title: null, r: null, description: "new" });

    const sameName = await server.call("PUT", `/__api__/v1/environments/${guid}`, {
      body: { name: "x.org/put:1", cluster_name: "Kubernetes" },
    });
    expect(sameName.status).toBe(200);
    const rename = await server.call("PUT", `/__api__/v1/environments/${guid}`, {
      body: { name: "x.org/other:1" },
    });
    expect(rename.body.code).toBe(171);
    const recluster = await server.call("PUT", `/__api__/v1/environments/${guid}`, {
      body: { cluster_name: "Local" },
    });
    expect(recluster.body.code).toBe(170);
    const badPut = await server.call("PUT", `/__api__/v1/environments/${guid}`, {
      body: { matching: "never", title: "half" },
    });
    expect(badPut.body.code).toBe(172);
    const after = await server.call("GET", `/__api__/v1/environments/${guid}`);
    expect(after.body.title).toBeNull();
  });

  it("refuses to change or delete an environment a file manages, naming the file", async () => {
    const created = await server.call("POST", "/__api__/v1/environments", {
      body: { name: "x.org/managed:1" },
    });
    await server.server.store.db
      .updateTable("environments")
      .set({ managed_by: "/etc/slipway/environments.yaml" })
      .where("guid", "=", created.body.guid)
      .execute();
    for (const method of ["PUT", "DELETE"]) {
      const result = await server.call(method, `/__api__/v1/environments/${created.body.guid}`, {
        body: method === "PUT" ? { title: "x" } : undefined,
      });
      expect(result.status).toBe(409);
      expect(result.body.code).toBe(265);
      expect(result.body.error).toContain("/etc/slipway/environments.yaml");
    }
  });

  it("deletes with 204 and the environment is gone", async () => {
    const created = await server.call("POST", "/__api__/v1/environments", {
      body: { name: "x.org/delete:1" },
    });
    const removed = await server.call("DELETE", `/__api__/v1/environments/${created.body.guid}`);
    expect(removed.status).toBe(204);
    const after = await server.call("GET", `/__api__/v1/environments/${created.body.guid}`);
    expect(after.status).toBe(404);
  });
});
