import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey, createUser } from "../../src/users/accounts.js";
import { createContent, deploy, manifestEntry } from "../support/deploy.js";
import { startTestServer, type TestServer } from "../support/server.js";

type Caller = "administrator" | "publisher" | "viewer" | "none" | "revoked" | "garbage";
const CALLERS: Caller[] = ["administrator", "publisher", "viewer", "none", "revoked", "garbage"];

interface Endpoint {
  method: string;
  path: (guid: string) => string;
  least: "public" | "viewer" | "publisher" | "administrator";
  ok: number;
  body?: (n: number) => unknown;
}

const ENDPOINTS: Endpoint[] = [
  { method: "GET", path: () => "/__ping__", least: "public", ok: 200 },
  { method: "GET", path: () => "/__api__/server_settings", least: "public", ok: 200 },
  { method: "GET", path: () => "/__api__/openapi.json", least: "public", ok: 200 },
  { method: "GET", path: () => "/__api__/v1/user", least: "viewer", ok: 200 },
  { method: "GET", path: () => "/__api__/v1/server_settings/python", least: "publisher", ok: 200 },
  { method: "GET", path: () => "/__api__/v1/server_settings/r", least: "publisher", ok: 200 },
  { method: "GET", path: () => "/__api__/v1/server_settings/quarto", least: "publisher", ok: 200 },
  { method: "GET", path: () => "/__api__/v1/environments", least: "publisher", ok: 200 },
  {
    method: "POST",
    path: () => "/__api__/v1/environments",
    least: "administrator",
    ok: 200,
    body: (n) => ({ name: `example.org/matrix:${n}` }),
  },
  { method: "GET", path: (g) => `/__api__/v1/environments/${g}`, least: "publisher", ok: 200 },
  {
    method: "PUT",
    path: (g) => `/__api__/v1/environments/${g}`,
    least: "administrator",
    ok: 200,
    body: () => ({ title: "changed" }),
  },
  {
    method: "DELETE",
    path: (g) => `/__api__/v1/environments/${g}`,
    least: "administrator",
    ok: 204,
  },
  { method: "GET", path: () => "/__api__/v1/content", least: "viewer", ok: 200 },
  {
    method: "POST",
    path: () => "/__api__/v1/content",
    least: "publisher",
    ok: 200,
    body: (n) => ({ name: `matrix-${n}` }),
  },
  {
    method: "POST",
    path: () => "/__api__/slipway/v1/selection",
    least: "publisher",
    ok: 200,
    body: () => ({ manifest: { metadata: { appmode: "static" } } }),
  },
  { method: "GET", path: () => "/__api__/slipway/v1/session", least: "viewer", ok: 200 },
  {
    method: "GET",
    path: () => "/__api__/slipway/v1/environments/file",
    least: "publisher",
    ok: 200,
  },
  { method: "GET", path: () => "/__api__/v1/packages", least: "publisher", ok: 200 },
  {
    method: "GET",
    path: () => "/__api__/v1/system/caches/runtime",
    least: "administrator",
    ok: 200,
  },
  {
    method: "GET",
    path: () => "/__api__/slipway/v1/environments/retired",
    least: "publisher",
    ok: 200,
  },
  {
    method: "POST",
    path: () => "/__api__/slipway/v1/environments/plan",
    least: "administrator",
    ok: 200,
    body: () => ({ text: "[]" }),
  },
];

const RANK = { viewer: 0, publisher: 1, administrator: 2 } as const;

function expected(endpoint: Endpoint, caller: Caller): { status: number; code?: number } {
  // As Connect does: an invalid key is refused everywhere, public endpoints included.
  if (caller === "revoked" || caller === "garbage") return { status: 401, code: 30 };
  if (endpoint.least === "public") return { status: endpoint.ok };
  if (caller === "none") return { status: 401, code: 24 };
  return RANK[caller] >= RANK[endpoint.least] ? { status: endpoint.ok } : { status: 403, code: 22 };
}

describe("authorization matrix", () => {
  let server: TestServer;
  let counter = 0;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  const cases = ENDPOINTS.flatMap((endpoint) => CALLERS.map((caller) => ({ endpoint, caller })));
  it.each(cases)(
    "$endpoint.method $endpoint.least-endpoint as $caller",
    async ({ endpoint, caller }) => {
      const n = ++counter;
      const target = await server.call("POST", "/__api__/v1/environments", {
        body: { name: `example.org/target:${n}` },
      });
      const key =
        caller === "none" ? null : caller === "garbage" ? "not-a-key" : server.keys[caller];
      const result = await server.call(endpoint.method, endpoint.path(target.body.guid), {
        key,
        body: endpoint.body?.(n),
      });
      const want = expected(endpoint, caller);
      expect(result.status).toBe(want.status);
      if (want.code !== undefined) {
        expect(result.body).toMatchObject({ code: want.code, payload: null });
        expect(typeof result.body.error).toBe("string");
      }
      expect(result.headers.get("x-correlation-id")).toBeTruthy();
    },
  );

  it("refuses a malformed Authorization header as an invalid key", async () => {
    const result = await server.call("GET", "/__api__/v1/user", {
      key: null,
      headers: { Authorization: `Bearer ${server.keys.administrator}` },
    });
    expect(result.status).toBe(401);
    expect(result.body.code).toBe(30);
  });

  it("gives a key exactly its owner's current role", async () => {
    const user = await server.call("GET", "/__api__/v1/user", { key: server.keys.publisher });
    expect(user.body).toMatchObject({ username: "pat", user_role: "publisher" });
    await server.server.store.db
      .updateTable("users")
      .set({ user_role: "viewer" })
      .where("username", "=", "pat")
      .execute();
    const after = await server.call("GET", "/__api__/v1/environments", {
      key: server.keys.publisher,
    });
    expect(after.status).toBe(403);
    await server.server.store.db
      .updateTable("users")
      .set({ user_role: "publisher" })
      .where("username", "=", "pat")
      .execute();
  });

  it("echoes the caller's correlation id and makes one otherwise", async () => {
    const echoed = await server.call("GET", "/__ping__", {
      headers: { "X-Correlation-ID": "abc-123" },
    });
    expect(echoed.headers.get("x-correlation-id")).toBe("abc-123");
    const fresh = await server.call("GET", "/__ping__");
    expect(fresh.headers.get("x-correlation-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});

/** Who sees how content is built and run: its owner and administrators, nobody else. */
describe("visibility of bundles and task logs", () => {
  type Who = "owner" | "administrator" | "other publisher" | "viewer" | "none";
  const WHO: Who[] = ["owner", "administrator", "other publisher", "viewer", "none"];
  let server: TestServer;
  let keys: Record<Exclude<Who, "none">, string>;
  let guid: string;
  let bundleId: string;
  let taskId: string;

  beforeAll(async () => {
    server = await startTestServer();
    await createUser(server.server.store, "pia", "publisher");
    keys = {
      owner: server.keys.publisher,
      administrator: server.keys.administrator,
      "other publisher": (await createApiKey(server.server.store, "pia", "matrix")).apiKey,
      viewer: server.keys.viewer,
    };
    // Open to every signed-in user, so that viewing and seeing how it is built differ.
    guid = (
      await createContent(server, "owned-by-pat", server.keys.publisher, {
        access_type: "logged_in",
      })
    ).guid;
    const deployed = await deploy(server, guid, [
      manifestEntry({ metadata: { appmode: "static" } }),
      { path: "index.html", content: "<p>hi</p>" },
    ]);
    bundleId = deployed.bundleId;
    taskId = deployed.task.id;
  }, 120_000);
  afterAll(() => server?.close());

  const READS = [
    { what: "the task log", path: () => `/__api__/v1/tasks/${taskId}` },
    { what: "the newest task", path: () => `/__api__/slipway/v1/content/${guid}/last-task` },
    { what: "the bundle list", path: () => `/__api__/v1/content/${guid}/bundles` },
    { what: "one bundle", path: () => `/__api__/v1/content/${guid}/bundles/${bundleId}` },
    {
      what: "a bundle download",
      path: () => `/__api__/v1/content/${guid}/bundles/${bundleId}/download`,
    },
  ];
  const cases = READS.flatMap((read) => WHO.map((who) => ({ read, who })));

  it.each(cases)("$read.what as $who", async ({ read, who }) => {
    const result = await fetch(`${server.url}${read.path()}`, {
      headers: who === "none" ? {} : { Authorization: `Key ${keys[who]}` },
    });
    const want = who === "owner" || who === "administrator" ? 200 : who === "none" ? 401 : 403;
    expect(result.status).toBe(want);
    if (want !== 200)
      expect(((await result.json()) as { code: number }).code).toBe(want === 401 ? 24 : 22);
  });

  it("still shows the content itself, and serves it, to every signed-in role", async () => {
    for (const who of ["owner", "other publisher", "viewer"] as const) {
      const item = await fetch(`${server.url}/__api__/v1/content/${guid}`, {
        headers: { Authorization: `Key ${keys[who]}` },
      });
      expect(item.status, who).toBe(200);
      const page = await fetch(((await item.json()) as { content_url: string }).content_url, {
        headers: { Authorization: `Key ${keys[who]}` },
      });
      expect(await page.text(), who).toBe("<p>hi</p>");
    }
  });

  it("shows anonymous callers of server_settings only the API level clients check", async () => {
    const anonymous = await server.call("GET", "/__api__/server_settings", { key: null });
    expect(anonymous.body).toEqual({ version: expect.stringMatching(/^\d{4}\.\d{2}\.\d+$/) });
    const viewer = await server.call("GET", "/__api__/server_settings", { key: keys.viewer });
    expect(viewer.body).toMatchObject({
      version: anonymous.body.version,
      hostname: expect.any(String),
    });
  });

  it("lets only administrators change roles", async () => {
    const pia = (await server.call("GET", "/__api__/v1/user", { key: keys["other publisher"] }))
      .body.guid;
    for (const who of ["owner", "viewer"] as const) {
      const refused = await server.call("PUT", `/__api__/v1/users/${pia}`, {
        key: keys[who],
        body: { user_role: "administrator" },
      });
      expect(refused.status, who).toBe(403);
    }
    const done = await server.call("PUT", `/__api__/v1/users/${pia}`, {
      body: { user_role: "viewer" },
    });
    expect(done.body.user_role).toBe("viewer");
    const bad = await server.call("PUT", `/__api__/v1/users/${pia}`, {
      body: { user_role: "root" },
    });
    expect(bad.status).toBe(400);
  });
});
