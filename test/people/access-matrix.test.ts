/**
 * The authorization matrix over every endpoint of users, groups, content access, environment
 * permissions and the audit log, and over the content URL and content API for every access
 * type, for each kind of caller; then the audit log must hold every change the matrix made.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser } from "../../src/users/accounts.js";
import { createContent, deploy, manifestEntry } from "../support/deploy.js";
import { startTestServer, type TestServer } from "../support/server.js";

const CALLERS = [
  "administrator",
  "owner",
  "collaborator",
  "listed viewer",
  "unlisted viewer",
  "anonymous",
  "revoked key",
  "locked user",
] as const;
type Caller = (typeof CALLERS)[number];
type Signed = Exclude<Caller, "anonymous" | "revoked key" | "locked user">;

const EVERYONE: Signed[] = [
  "administrator",
  "owner",
  "collaborator",
  "listed viewer",
  "unlisted viewer",
];
const PUBLISHERS: Signed[] = ["administrator", "owner", "collaborator"];
const ADMIN: Signed[] = ["administrator"];

interface Endpoint {
  name: string;
  method: string;
  ok: number;
  allowed: readonly Signed[];
  /** Makes what the call works on, fresh for each caller, and says where to send it. */
  prepare(n: number): Promise<{ path: string; body?: unknown }>;
}

describe("authorization matrix of people and access", () => {
  let server: TestServer;
  let keys: Record<Caller, string | null>;
  let guids: Record<"pia" | "vic" | "gus", string>;
  let content: { guid: string; url: string };
  let environment: string;
  const changes: string[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    const store = server.server.store;
    const pia = (await createUser(store, "pia", "publisher")).apiKey;
    const gus = (await createUser(store, "gus", "viewer")).apiKey;
    const lou = (await createUser(store, "lou", "publisher")).apiKey;
    const whoami = async (key: string) =>
      (await server.call("GET", "/__api__/v1/user", { key })).body.guid as string;
    guids = {
      pia: await whoami(pia),
      vic: await whoami(server.keys.viewer),
      gus: await whoami(gus),
    };
    const louGuid = await whoami(lou);
    await server.call("POST", `/__api__/v1/users/${louGuid}/lock`, { body: { locked: true } });
    keys = {
      administrator: server.keys.administrator,
      owner: server.keys.publisher,
      collaborator: pia,
      "listed viewer": server.keys.viewer,
      "unlisted viewer": gus,
      anonymous: null,
      "revoked key": server.keys.revoked,
      "locked user": lou,
    };
    const item = await createContent(server, "matrix-content", server.keys.publisher, {});
    content = { guid: item.guid, url: item.content_url };
    await deploy(server, item.guid, [
      manifestEntry({ metadata: { appmode: "static" } }),
      { path: "index.html", content: "<p>matrix</p>" },
    ]);
    for (const [principal, role] of [
      [guids.pia, "owner"],
      [guids.vic, "viewer"],
    ] as const) {
      await server.call("POST", `/__api__/v1/content/${item.guid}/permissions`, {
        key: server.keys.publisher,
        body: { principal_guid: principal, principal_type: "user", role },
      });
    }
    environment = (
      await server.call("POST", "/__api__/v1/environments", { body: { name: "org/matrix:1" } })
    ).body.guid;
  }, 120_000);
  afterAll(() => server?.close());

  const admin = <T = unknown>(method: string, path: string, body?: unknown) =>
    server.call(method, path, { body }).then((r) => r.body as T);
  const freshUser = async (n: number) =>
    (await admin<{ guid: string }>("POST", "/__api__/v1/users", { username: `matrix-${n}` })).guid;
  const freshGroup = async (n: number) =>
    (await admin<{ guid: string }>("POST", "/__api__/v1/groups", { name: `matrix-group-${n}` }))
      .guid;
  const freshPermission = async (n: number) => {
    const user = await freshUser(n);
    const p = await admin<{ id: string }>(
      "POST",
      `/__api__/v1/content/${content.guid}/permissions`,
      {
        principal_guid: user,
        principal_type: "user",
        role: "viewer",
      },
    );
    return { id: p.id, user };
  };
  const freshEnvironmentPermission = async (n: number) => {
    const user = await freshUser(n);
    const p = await admin<{ guid: string }>(
      "POST",
      `/__api__/v1/environments/${environment}/permissions`,
      { user_guid: user },
    );
    return p.guid;
  };
  const freshTag = async (n: number) =>
    (await admin<{ id: string }>("POST", "/__api__/v1/tags", { name: `fresh-tag-${n}` })).id;
  const at = (path: string, body?: unknown) => async () => ({ path, body });

  const ENDPOINTS: Endpoint[] = [
    { name: "GET /me", method: "GET", ok: 200, allowed: EVERYONE, prepare: at("/__api__/me") },
    {
      name: "GET /v1/users",
      method: "GET",
      ok: 200,
      allowed: EVERYONE,
      prepare: at("/__api__/v1/users"),
    },
    {
      name: "GET /v1/users/{guid}",
      method: "GET",
      ok: 200,
      allowed: EVERYONE,
      prepare: async () => ({ path: `/__api__/v1/users/${guids.gus}` }),
    },
    {
      name: "POST /v1/users",
      method: "POST",
      ok: 200,
      allowed: ADMIN,
      prepare: async (n) => ({ path: "/__api__/v1/users", body: { username: `made-${n}` } }),
    },
    {
      name: "PUT /v1/users/{guid}",
      method: "PUT",
      ok: 200,
      allowed: ADMIN,
      prepare: async (n) => ({
        path: `/__api__/v1/users/${await freshUser(n)}`,
        body: { first_name: "Changed" },
      }),
    },
    {
      name: "POST /v1/users/{guid}/lock",
      method: "POST",
      ok: 200,
      allowed: ADMIN,
      prepare: async (n) => ({
        path: `/__api__/v1/users/${await freshUser(n)}/lock`,
        body: { locked: true },
      }),
    },
    {
      name: "GET /v1/groups",
      method: "GET",
      ok: 200,
      allowed: EVERYONE,
      prepare: at("/__api__/v1/groups"),
    },
    {
      name: "POST /v1/groups",
      method: "POST",
      ok: 200,
      allowed: PUBLISHERS,
      prepare: async (n) => ({ path: "/__api__/v1/groups", body: { name: `by-caller-${n}` } }),
    },
    {
      name: "GET /v1/groups/{guid}",
      method: "GET",
      ok: 200,
      allowed: EVERYONE,
      prepare: async (n) => ({ path: `/__api__/v1/groups/${await freshGroup(n)}` }),
    },
    {
      name: "DELETE /v1/groups/{guid}",
      method: "DELETE",
      ok: 204,
      allowed: ADMIN,
      prepare: async (n) => ({ path: `/__api__/v1/groups/${await freshGroup(n)}` }),
    },
    {
      name: "GET /v1/groups/{guid}/members",
      method: "GET",
      ok: 200,
      allowed: EVERYONE,
      prepare: async (n) => ({ path: `/__api__/v1/groups/${await freshGroup(n)}/members` }),
    },
    {
      name: "POST /v1/groups/{guid}/members",
      method: "POST",
      ok: 200,
      allowed: ADMIN,
      prepare: async (n) => ({
        path: `/__api__/v1/groups/${await freshGroup(n)}/members`,
        body: { user_guid: guids.gus },
      }),
    },
    {
      name: "DELETE /v1/groups/{guid}/members/{user_guid}",
      method: "DELETE",
      ok: 204,
      allowed: ADMIN,
      prepare: async (n) => {
        const group = await freshGroup(n);
        await admin("POST", `/__api__/v1/groups/${group}/members`, { user_guid: guids.gus });
        return { path: `/__api__/v1/groups/${group}/members/${guids.gus}` };
      },
    },
    {
      name: "GET /v1/content",
      method: "GET",
      ok: 200,
      allowed: EVERYONE,
      prepare: at("/__api__/v1/content"),
    },
    {
      name: "PATCH /v1/content/{guid}",
      method: "PATCH",
      ok: 200,
      allowed: PUBLISHERS,
      prepare: async (n) => ({
        path: `/__api__/v1/content/${content.guid}`,
        body: { title: `Title ${n}` },
      }),
    },
    {
      name: "GET /v1/content/{guid}/bundles",
      method: "GET",
      ok: 200,
      allowed: PUBLISHERS,
      prepare: async () => ({ path: `/__api__/v1/content/${content.guid}/bundles` }),
    },
    {
      name: "GET /v1/content/{guid}/permissions",
      method: "GET",
      ok: 200,
      allowed: PUBLISHERS,
      prepare: async () => ({ path: `/__api__/v1/content/${content.guid}/permissions` }),
    },
    {
      name: "POST /v1/content/{guid}/permissions",
      method: "POST",
      ok: 200,
      allowed: PUBLISHERS,
      prepare: async (n) => ({
        path: `/__api__/v1/content/${content.guid}/permissions`,
        body: { principal_guid: await freshUser(n), principal_type: "user", role: "viewer" },
      }),
    },
    {
      name: "GET /v1/content/{guid}/permissions/{id}",
      method: "GET",
      ok: 200,
      allowed: PUBLISHERS,
      prepare: async (n) => ({
        path: `/__api__/v1/content/${content.guid}/permissions/${(await freshPermission(n)).id}`,
      }),
    },
    {
      name: "PUT /v1/content/{guid}/permissions/{id}",
      method: "PUT",
      ok: 200,
      allowed: PUBLISHERS,
      prepare: async (n) => {
        const { id, user } = await freshPermission(n);
        return {
          path: `/__api__/v1/content/${content.guid}/permissions/${id}`,
          body: { principal_guid: user, principal_type: "user", role: "viewer" },
        };
      },
    },
    {
      name: "DELETE /v1/content/{guid}/permissions/{id}",
      method: "DELETE",
      ok: 204,
      allowed: PUBLISHERS,
      prepare: async (n) => ({
        path: `/__api__/v1/content/${content.guid}/permissions/${(await freshPermission(n)).id}`,
      }),
    },
    {
      name: "GET /v1/environments/{guid}/permissions",
      method: "GET",
      ok: 200,
      allowed: ADMIN,
      prepare: async () => ({ path: `/__api__/v1/environments/${environment}/permissions` }),
    },
    {
      name: "POST /v1/environments/{guid}/permissions",
      method: "POST",
      ok: 200,
      allowed: ADMIN,
      prepare: async (n) => ({
        path: `/__api__/v1/environments/${environment}/permissions`,
        body: { user_guid: await freshUser(n) },
      }),
    },
    {
      name: "GET /v1/environments/{guid}/permissions/{guid}",
      method: "GET",
      ok: 200,
      allowed: ADMIN,
      prepare: async (n) => ({
        path: `/__api__/v1/environments/${environment}/permissions/${await freshEnvironmentPermission(n)}`,
      }),
    },
    {
      name: "DELETE /v1/environments/{guid}/permissions/{guid}",
      method: "DELETE",
      ok: 204,
      allowed: ADMIN,
      prepare: async (n) => ({
        path: `/__api__/v1/environments/${environment}/permissions/${await freshEnvironmentPermission(n)}`,
      }),
    },
    {
      name: "GET /v1/tags",
      method: "GET",
      ok: 200,
      allowed: EVERYONE,
      prepare: at("/__api__/v1/tags"),
    },
    {
      name: "POST /v1/tags",
      method: "POST",
      ok: 200,
      allowed: ADMIN,
      prepare: async (n) => ({ path: "/__api__/v1/tags", body: { name: `tag-${n}` } }),
    },
    {
      name: "GET /v1/tags/{id}",
      method: "GET",
      ok: 200,
      allowed: EVERYONE,
      prepare: async (n) => ({ path: `/__api__/v1/tags/${await freshTag(n)}` }),
    },
    {
      name: "DELETE /v1/tags/{id}",
      method: "DELETE",
      ok: 204,
      allowed: ADMIN,
      prepare: async (n) => ({ path: `/__api__/v1/tags/${await freshTag(n)}` }),
    },
    {
      name: "GET /v1/tags/{id}/content",
      method: "GET",
      ok: 200,
      allowed: EVERYONE,
      prepare: async (n) => ({ path: `/__api__/v1/tags/${await freshTag(n)}/content` }),
    },
    {
      name: "GET /v1/content/{guid}/tags",
      method: "GET",
      ok: 200,
      allowed: EVERYONE.filter((c) => c !== "unlisted viewer"),
      prepare: async () => ({ path: `/__api__/v1/content/${content.guid}/tags` }),
    },
    {
      name: "POST /v1/content/{guid}/tags",
      method: "POST",
      ok: 200,
      allowed: PUBLISHERS,
      prepare: async (n) => ({
        path: `/__api__/v1/content/${content.guid}/tags`,
        body: { tag_id: await freshTag(n) },
      }),
    },
    {
      name: "DELETE /v1/content/{guid}/tags/{id}",
      method: "DELETE",
      ok: 204,
      allowed: PUBLISHERS,
      prepare: async (n) => {
        const id = await freshTag(n);
        await admin("POST", `/__api__/v1/content/${content.guid}/tags`, { tag_id: id });
        return { path: `/__api__/v1/content/${content.guid}/tags/${id}` };
      },
    },
    {
      name: "GET /v1/vanities",
      method: "GET",
      ok: 200,
      allowed: EVERYONE,
      prepare: at("/__api__/v1/vanities"),
    },
    {
      name: "PUT /v1/content/{guid}/vanity",
      method: "PUT",
      ok: 200,
      allowed: PUBLISHERS,
      prepare: async (n) => ({
        path: `/__api__/v1/content/${content.guid}/vanity`,
        body: { path: `matrix/${n}` },
      }),
    },
    {
      name: "GET /v1/content/{guid}/vanity",
      method: "GET",
      ok: 200,
      allowed: EVERYONE.filter((c) => c !== "unlisted viewer"),
      prepare: async (n) => {
        await admin("PUT", `/__api__/v1/content/${content.guid}/vanity`, { path: `seen/${n}` });
        return { path: `/__api__/v1/content/${content.guid}/vanity` };
      },
    },
    {
      name: "DELETE /v1/content/{guid}/vanity",
      method: "DELETE",
      ok: 204,
      allowed: PUBLISHERS,
      prepare: async (n) => {
        await admin("PUT", `/__api__/v1/content/${content.guid}/vanity`, { path: `gone/${n}` });
        return { path: `/__api__/v1/content/${content.guid}/vanity` };
      },
    },
    {
      name: "GET /v1/audit_logs",
      method: "GET",
      ok: 200,
      allowed: ADMIN,
      prepare: at("/__api__/v1/audit_logs"),
    },
  ];

  function expected(endpoint: Endpoint, caller: Caller): { status: number; code?: number } {
    if (caller === "revoked key" || caller === "locked user") return { status: 401, code: 30 };
    if (caller === "anonymous") return { status: 401, code: 24 };
    return endpoint.allowed.includes(caller) ? { status: endpoint.ok } : { status: 403, code: 22 };
  }

  let counter = 0;
  const cases = ENDPOINTS.flatMap((endpoint) => CALLERS.map((caller) => ({ endpoint, caller })));
  it.each(cases)("$endpoint.name as $caller", async ({ endpoint, caller }) => {
    const { path, body } = await endpoint.prepare(++counter);
    const result = await server.call(endpoint.method, path, { key: keys[caller], body });
    const want = expected(endpoint, caller);
    expect(result.status, JSON.stringify(result.body)).toBe(want.status);
    if (want.code !== undefined)
      expect(result.body).toMatchObject({ code: want.code, payload: null });
    if (endpoint.method !== "GET" && result.status < 300)
      changes.push(`${endpoint.method} ${path}`);
  });

  describe.each(["acl", "logged_in", "all"] as const)("content with access_type %s", (access) => {
    beforeAll(async () => {
      const set = await server.call("PATCH", `/__api__/v1/content/${content.guid}`, {
        key: server.keys.publisher,
        body: { access_type: access },
      });
      expect(set.body.access_type).toBe(access);
      changes.push(`PATCH /__api__/v1/content/${content.guid}`);
    });

    const see = (caller: Caller, api: boolean): number => {
      if (caller === "revoked key" || caller === "locked user") return 401;
      if (caller === "anonymous") return api || access !== "all" ? 401 : 200;
      if (caller === "unlisted viewer" && access === "acl") return 403;
      return 200;
    };

    it.each(CALLERS)("the content URL as %s", async (caller) => {
      const key = keys[caller];
      const page = await fetch(content.url, {
        redirect: "manual",
        headers: key ? { Authorization: `Key ${key}` } : {},
      });
      const text = await page.text();
      expect(page.status, text).toBe(see(caller, false));
      if (page.status === 200) expect(text).toBe("<p>matrix</p>");
      else expect(JSON.parse(text).code).toBe(page.status === 403 ? 22 : key ? 30 : 24);
    });

    it.each(CALLERS)("the content API as %s", async (caller) => {
      const result = await server.call("GET", `/__api__/v1/content/${content.guid}`, {
        key: keys[caller],
      });
      expect(result.status).toBe(see(caller, true));
      const list = await server.call("GET", "/__api__/v1/content", { key: keys[caller] });
      if (result.status === 200) {
        expect(list.body.map((c: { guid: string }) => c.guid)).toContain(content.guid);
      } else if (list.status === 200) {
        expect(list.body.map((c: { guid: string }) => c.guid)).not.toContain(content.guid);
      }
    });
  });

  it("holds every change the matrix made in the audit log, with its actor", async () => {
    const entries: { event_description: string; user_description: string }[] = [];
    let next: string | null = null;
    do {
      const page = await server.call(
        "GET",
        `/__api__/v1/audit_logs?limit=500${next ? `&next=${next}` : ""}`,
      );
      entries.push(...page.body.results);
      next = page.body.paging.cursors.next;
    } while (next);
    expect(changes.length).toBeGreaterThanOrEqual(20);
    const described = entries.map((e) => e.event_description);
    for (const change of changes) {
      expect(
        described.some((d) => d.includes(change)),
        change,
      ).toBe(true);
    }
    expect(entries.some((e) => /locked lou/.test(e.event_description))).toBe(true);
    // Refused calls changed nothing and are not recorded as changes.
    expect(described.filter((d) => d.startsWith("vic POST"))).toEqual([]);
  });
});
