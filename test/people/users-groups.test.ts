import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApiKey } from "../../src/users/accounts.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { STORE_DIALECTS } from "../support/stores.js";

describe.each(STORE_DIALECTS)("users and groups on %s", (dialect) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(dialect);
  }, 60_000);
  afterAll(() => server?.close());

  const signIn = async (username: string, password: string) => {
    const response = await fetch(`${server.url}/__api__/slipway/v1/session`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { csrf_token: string };
    return { cookie: response.headers.get("set-cookie")!.split(";")[0]!, csrf: body.csrf_token };
  };
  const withCookie = (cookie: string, path: string) =>
    fetch(`${server.url}${path}`, { headers: { Cookie: cookie } });

  it("creates a password user as connectapi does, finds them by prefix, role and status", async () => {
    const created = await server.call("POST", "/__api__/v1/users", {
      body: {
        email: "una@example.org",
        first_name: "Una",
        last_name: "Lind",
        password: "a long password",
        user_must_set_password: false,
        user_role: "publisher",
        username: "una",
        unique_id: null,
      },
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      username: "una",
      email: "una@example.org",
      first_name: "Una",
      user_role: "publisher",
      locked: false,
    });
    expect(created.body).not.toHaveProperty("password_hash");
    await signIn("una", "a long password");

    const byPrefix = await server.call("GET", "/__api__/v1/users?prefix=UN&page_size=500", {
      key: server.keys.viewer,
    });
    expect(byPrefix.status).toBe(200);
    expect(byPrefix.body.results.map((u: { username: string }) => u.username)).toEqual(["una"]);
    expect(byPrefix.body).toMatchObject({ current_page: 1, total: 1 });

    const byRole = await server.call("GET", "/__api__/v1/users?user_role=administrator|viewer");
    expect(byRole.body.results.map((u: { username: string }) => u.username)).toEqual([
      "ada",
      "vic",
    ]);
    const paged = await server.call("GET", "/__api__/v1/users?page_size=2&page_number=2");
    expect(paged.body).toMatchObject({ current_page: 2, total: 4 });
    expect(paged.body.results.map((u: { username: string }) => u.username)).toEqual(["una", "vic"]);
    const one = await server.call("GET", `/__api__/v1/users/${created.body.guid}`, {
      key: server.keys.viewer,
    });
    expect(one.body.username).toBe("una");
    const me = await server.call("GET", "/__api__/me", { key: server.keys.viewer });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({ username: "vic", user_role: "viewer" });
  });

  it("refuses bad users with clear 4xx answers and writes nothing", async () => {
    const bad = [
      [{ username: "una", password: "a long password" }, 409, 25],
      [{ username: "new", user_role: "superuser" }, 400, 25],
      [{ username: "new", password: "short" }, 400, 25],
      [{ username: "../x" }, 400, 25],
      [{ email: "x@example.org" }, 400, 12],
    ] as const;
    for (const [body, status, code] of bad) {
      const result = await server.call("POST", "/__api__/v1/users", { body });
      expect(result.status, JSON.stringify(body)).toBe(status);
      expect(result.body.code).toBe(code);
    }
    const publisher = await server.call("POST", "/__api__/v1/users", {
      key: server.keys.publisher,
      body: { username: "sneaky" },
    });
    expect(publisher.status).toBe(403);
    const all = await server.call("GET", "/__api__/v1/users?page_size=500");
    expect(all.body.total).toBe(4);
    const missing = await server.call(
      "GET",
      "/__api__/v1/users/00000000-0000-0000-0000-000000000000",
    );
    expect(missing).toMatchObject({ status: 404, body: { code: 4 } });
  });

  it("lets users change their own names but not their role, nor anyone else", async () => {
    const vic = (await server.call("GET", "/__api__/v1/user", { key: server.keys.viewer })).body;
    const ada = (await server.call("GET", "/__api__/v1/user")).body;
    const own = await server.call("PUT", `/__api__/v1/users/${vic.guid}`, {
      key: server.keys.viewer,
      body: { first_name: "Victor", email: "vic@example.org" },
    });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ first_name: "Victor", email: "vic@example.org" });
    const promote = await server.call("PUT", `/__api__/v1/users/${vic.guid}`, {
      key: server.keys.viewer,
      body: { user_role: "administrator" },
    });
    expect(promote).toMatchObject({ status: 403, body: { code: 22 } });
    const other = await server.call("PUT", `/__api__/v1/users/${ada.guid}`, {
      key: server.keys.publisher,
      body: { first_name: "Mallory" },
    });
    expect(other).toMatchObject({ status: 403, body: { code: 22 } });
    const lock = await server.call("POST", `/__api__/v1/users/${ada.guid}/lock`, {
      key: server.keys.publisher,
      body: { locked: true },
    });
    expect(lock).toMatchObject({ status: 403, body: { code: 22 } });
    const badRole = await server.call("PUT", `/__api__/v1/users/${vic.guid}`, {
      body: { user_role: "owner" },
    });
    expect(badRole).toMatchObject({ status: 400, body: { code: 25 } });
    const after = (await server.call("GET", `/__api__/v1/users/${vic.guid}`)).body;
    expect(after).toMatchObject({ user_role: "viewer", first_name: "Victor" });
  });

  it("applies a role change and a lock to existing keys and sessions at once", async () => {
    const created = await server.call("POST", "/__api__/v1/users", {
      body: { username: "rho", password: "a long password", user_role: "publisher" },
    });
    const guid = created.body.guid;
    const key = (await createApiKey(server.server.store, "rho", "test")).apiKey;
    const { cookie } = await signIn("rho", "a long password");
    expect((await server.call("GET", "/__api__/v1/environments", { key })).status).toBe(200);
    expect((await withCookie(cookie, "/__api__/v1/environments")).status).toBe(200);

    const demoted = await server.call("PUT", `/__api__/v1/users/${guid}`, {
      body: { user_role: "viewer" },
    });
    expect(demoted.body.user_role).toBe("viewer");
    expect((await server.call("GET", "/__api__/v1/environments", { key })).status).toBe(403);
    // The role change ended the session, which was made for the old role.
    expect((await withCookie(cookie, "/__api__/v1/user")).status).toBe(401);

    const again = await signIn("rho", "a long password");
    expect((await withCookie(again.cookie, "/__api__/v1/user")).status).toBe(200);
    const locked = await server.call("POST", `/__api__/v1/users/${guid}/lock`, {
      body: { locked: true },
    });
    expect(locked.body.locked).toBe(true);
    expect((await server.call("GET", "/__api__/v1/user", { key })).body.code).toBe(30);
    expect((await withCookie(again.cookie, "/__api__/v1/user")).status).toBe(401);
    const locked2 = await server.call("GET", "/__api__/v1/users?account_status=locked");
    expect(locked2.body.results.map((u: { username: string }) => u.username)).toEqual(["rho"]);

    await server.call("POST", `/__api__/v1/users/${guid}/lock`, { body: { locked: false } });
    expect((await server.call("GET", "/__api__/v1/user", { key })).status).toBe(200);
    // A lock ended the sessions for good: unlocking does not bring them back.
    expect((await withCookie(again.cookie, "/__api__/v1/user")).status).toBe(401);
    const self = await server.call("GET", "/__api__/v1/user");
    const selfLock = await server.call("POST", `/__api__/v1/users/${self.body.guid}/lock`, {
      body: { locked: true },
    });
    expect(selfLock).toMatchObject({ status: 400, body: { code: 25 } });
  });

  it("keeps groups and members as connectapi calls them", async () => {
    const group = await server.call("POST", "/__api__/v1/groups", {
      key: server.keys.publisher,
      body: { name: "analysts" },
    });
    expect(group.status).toBe(200);
    expect(group.body).toMatchObject({ name: "analysts", guid: expect.any(String) });
    const g = group.body.guid;
    const vic = (await server.call("GET", "/__api__/v1/user", { key: server.keys.viewer })).body;

    const add = await server.call("POST", `/__api__/v1/groups/${g}/members`, {
      key: server.keys.publisher,
      body: { user_guid: vic.guid },
    });
    expect(add.status).toBe(200);
    const duplicate = await server.call("POST", `/__api__/v1/groups/${g}/members`, {
      key: server.keys.publisher,
      body: { user_guid: vic.guid },
    });
    expect(duplicate).toMatchObject({ status: 409, body: { code: 25 } });
    const ghost = await server.call("POST", `/__api__/v1/groups/${g}/members`, {
      body: { user_guid: "00000000-0000-0000-0000-000000000000" },
    });
    expect(ghost).toMatchObject({ status: 404, body: { code: 25 } });
    const byViewer = await server.call("POST", `/__api__/v1/groups/${g}/members`, {
      key: server.keys.viewer,
      body: { user_guid: vic.guid },
    });
    expect(byViewer.status).toBe(403);

    const members = await server.call("GET", `/__api__/v1/groups/${g}/members`, {
      key: server.keys.viewer,
    });
    expect(members.body).toMatchObject({ total: 1, results: [{ username: "vic" }] });
    const listed = await server.call("GET", "/__api__/v1/groups?prefix=ANA", {
      key: server.keys.viewer,
    });
    expect(listed.body).toMatchObject({ total: 1, results: [{ name: "analysts" }] });
    expect(
      (await server.call("POST", "/__api__/v1/groups", { body: { name: "analysts" } })).status,
    ).toBe(409);
    expect(
      (await server.call("POST", "/__api__/v1/groups", { body: { name: " padded" } })).status,
    ).toBe(400);

    const removed = await server.call("DELETE", `/__api__/v1/groups/${g}/members/${vic.guid}`, {
      key: server.keys.publisher,
    });
    expect(removed.status).toBe(204);
    const twice = await server.call("DELETE", `/__api__/v1/groups/${g}/members/${vic.guid}`);
    expect(twice).toMatchObject({ status: 404, body: { code: 4 } });
    expect((await server.call("DELETE", `/__api__/v1/groups/${g}`)).status).toBe(204);
    expect((await server.call("GET", `/__api__/v1/groups/${g}`)).status).toBe(404);
  });

  it("pages the audit log with cursors, both ways, in both orders", async () => {
    for (let i = 0; i < 5; i++) {
      await server.call("POST", "/__api__/v1/groups", { body: { name: `paging-${i}` } });
    }
    const all: string[] = [];
    let next: string | null = null;
    do {
      const page = await server.call(
        "GET",
        `/__api__/v1/audit_logs?limit=3${next ? `&next=${next}` : ""}`,
      );
      expect(page.status).toBe(200);
      all.push(...page.body.results.map((e: { id: string }) => e.id));
      next = page.body.paging.cursors.next;
    } while (next);
    const ids = all.map(Number);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);

    const newest = await server.call("GET", "/__api__/v1/audit_logs?limit=2&ascOrder=false");
    expect(newest.body.results.map((e: { id: string }) => Number(e.id))).toEqual(
      ids.slice(-2).reverse(),
    );
    expect(newest.body.results[0]).toMatchObject({
      user_description: "ada",
      action: "create /v1/groups",
      event_description: "ada POST /__api__/v1/groups (fields: name)",
    });
    const older = await server.call(
      "GET",
      `/__api__/v1/audit_logs?limit=2&ascOrder=false&next=${newest.body.paging.cursors.next}`,
    );
    const back = await server.call(
      "GET",
      `/__api__/v1/audit_logs?limit=2&ascOrder=false&previous=${older.body.paging.cursors.previous}`,
    );
    expect(back.body.results).toEqual(newest.body.results);
    expect(back.body.paging.cursors.previous).toBeNull();

    expect((await server.call("GET", "/__api__/v1/audit_logs?next=bogus")).status).toBe(400);
    const viewer = await server.call("GET", "/__api__/v1/audit_logs", { key: server.keys.viewer });
    expect(viewer.status).toBe(403);
  });
});
