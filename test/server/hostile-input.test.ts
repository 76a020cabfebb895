/**
 * Each request a fuzzing run once answered with a 500, kept as its own regression case on
 * both databases: every one must now be a 4xx in Connect's error shape.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tarGzOf } from "../support/bundles.js";
import { expectConnectError } from "../support/connect-error.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { STORE_DIALECTS } from "../support/stores.js";

const MANIFEST = JSON.stringify({ version: 1, metadata: { appmode: "static" }, files: {} });

describe.each(STORE_DIALECTS)("hostile input on %s", (dialect) => {
  let server: TestServer;
  let environment: string;
  let content: string;
  let bundle: string;
  beforeAll(async () => {
    server = await startTestServer(dialect);
    environment = (
      await server.call("POST", "/__api__/v1/environments", {
        body: { name: "ghcr.io/org/hostile:1" },
      })
    ).body.guid;
    content = (await server.call("POST", "/__api__/v1/content", { body: { name: "hostile" } })).body
      .guid;
    const upload = await fetch(`${server.url}/__api__/v1/content/${content}/bundles`, {
      method: "POST",
      headers: { Authorization: `Key ${server.keys.administrator}` },
      body: tarGzOf({ "manifest.json": MANIFEST, "index.html": "<p>hi</p>" }),
    });
    bundle = ((await upload.json()) as { id: string }).id;
  });
  afterAll(() => server?.close());

  it.each(["/__api__/v1/user", "/__api__/v1/content", "/__api__/slipway/v1/session"])(
    "answers an undecodable session cookie on %s with 401",
    async (path) => {
      const result = await server.call("GET", path, {
        key: null,
        headers: { Cookie: "slipway_session=%" },
      });
      expectConnectError(result, 401);
    },
  );

  it("signs out with an undecodable session cookie without failing", async () => {
    const result = await server.call("DELETE", "/__api__/slipway/v1/session", {
      key: null,
      headers: { Cookie: "slipway_session=%E0%A4%A" },
    });
    expect(result.status).toBe(204);
  });

  it.each(["constructor", "toString", "hasOwnProperty", "__defineGetter__", "valueOf"])(
    "takes only known fields from a PUT body with the key %s",
    async (key) => {
      const result = await server.call("PUT", `/__api__/v1/environments/${environment}`, {
        rawBody: `{"${key}": "x", "title": "after ${key}"}`,
      });
      expect(result.status).toBe(200);
      expect(result.body.title).toBe(`after ${key}`);
      expect(result.body).not.toHaveProperty(key, "x");
    },
  );

  it("ignores inherited names in a content PATCH body", async () => {
    const result = await server.call("PATCH", `/__api__/v1/content/${content}`, {
      rawBody: '{"constructor": 1, "toString": "x", "hasOwnProperty": null, "title": "kept"}',
    });
    expect(result.status).toBe(200);
    expect(result.body.title).toBe("kept");
  });

  it("refuses a bundle POST with no body and no content type", async () => {
    const response = await fetch(`${server.url}/__api__/v1/content/${content}/bundles`, {
      method: "POST",
      headers: { Authorization: `Key ${server.keys.administrator}` },
    });
    expectConnectError({ status: response.status, body: await response.json() }, 400);
  });

  it.each([
    ["a path", (c: string) => `/__api__/v1/content/${c}%00`],
    ["a path parameter alone", () => "/__api__/v1/environments/%00"],
    ["a query", () => "/__api__/v1/content?name=a%00b"],
    ["a query name", () => "/__api__/v1/content?na%00me=a"],
    ["a task id", () => "/__api__/v1/tasks/abc%00def"],
  ])("refuses a NUL byte in %s at the edge", async (_, path) => {
    const result = await server.call("GET", path(content));
    expectConnectError(result, 400);
    expect(result.body.error).toContain("NUL");
  });

  it.each([
    [
      "a content title",
      "POST",
      () => "/__api__/v1/content",
      '{"name": "nul", "title": "a\\u0000b"}',
    ],
    ["a content patch", "PATCH", (c: string) => `/__api__/v1/content/${c}`, '{"title": "\\u0000"}'],
    [
      "an environment description",
      "PUT",
      (_c: string, e: string) => `/__api__/v1/environments/${e}`,
      '{"description": "x\\u0000"}',
    ],
    ["a key", "POST", () => "/__api__/v1/content", '{"name": "nul2", "a\\u0000": 1}'],
  ])("refuses a NUL byte in %s", async (_, method, path, rawBody) => {
    const result = await server.call(method, path(content, environment), { rawBody });
    expectConnectError(result, 400);
    expect(result.body.error).toContain("NUL");
  });

  it.each([
    ["/__api__/v1/content", "[", "]"],
    ["/__api__/slipway/v1/selection", '{"manifest": [', "]}"],
    [
      "/__api__/v1/environments",
      '{"name": "ghcr.io/org/deep:1", "python": {"installations": [',
      "]}}",
    ],
  ])("answers a body nested 100,000 deep on %s with 400", async (path, start, end) => {
    const depth = 100_000;
    const body = `${start}${"[".repeat(depth)}1${"]".repeat(depth)}${end}`;
    const result = await server.call("POST", path, { rawBody: body });
    expectConnectError(result, 400);
  });

  it.each([
    ["a bundle id", (c: string) => `/__api__/v1/content/${c}/bundles/2147483648`],
    ["a huge bundle id", (c: string) => `/__api__/v1/content/${c}/bundles/999999999999999`],
    ["a bundle download", (c: string) => `/__api__/v1/content/${c}/bundles/4294967296/download`],
    ["a task's first=", () => "/__api__/v1/tasks/abcdef?first=2147483648"],
    ["a task id", () => "/__api__/v1/tasks/2147483648"],
  ])("refuses an integer of 2^31 or more in %s before SQL", async (_, path) => {
    const result = await server.call("GET", path(content));
    expect(result.status).toBeGreaterThanOrEqual(400);
    expect(result.status).toBeLessThan(500);
    expectConnectError(result, result.status);
  });

  it.each([2147483648, "2147483648", "99999999999"])(
    "refuses the deploy bundle_id %s before SQL",
    async (bundleId) => {
      const result = await server.call("POST", `/__api__/v1/content/${content}/deploy`, {
        body: { bundle_id: bundleId },
      });
      expectConnectError(result, 400);
    },
  );

  it("still answers the largest valid bundle id with 404", async () => {
    const result = await server.call("GET", `/__api__/v1/content/${content}/bundles/2147483647`);
    expectConnectError(result, 404);
    expect(
      (await server.call("GET", `/__api__/v1/content/${content}/bundles/${bundle}`)).status,
    ).toBe(200);
  });
});
