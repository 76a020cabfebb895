import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
