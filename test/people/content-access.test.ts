import { request } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setPasswordHash } from "../../src/store/sessions.js";
import { createApiKey, createUser } from "../../src/users/accounts.js";
import { hashPassword } from "../../src/users/passwords.js";
import { createContent, deploy, manifestEntry } from "../support/deploy.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { STORE_DIALECTS } from "../support/stores.js";

/** A GET carrying a JSON body, as requests sends it for posit-sdk; fetch refuses to. */
function getWithBody(url: string, key: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: "GET",
        headers: {
          Authorization: `Key ${key}`,
          "Content-Type": "application/json",
          "Content-Length": "2",
        },
      },
      (res) => {
        let body = "";
        res.on("data", (c) => {
          body += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end("{}");
  });
}

describe.each(STORE_DIALECTS)("content access on %s", (dialect) => {
  let server: TestServer;
  let guid: string;
  let url: string;
  let keys: { pia: string; gus: string };
  let guids: Record<"vic" | "pia" | "gus", string>;

  beforeAll(async () => {
    server = await startTestServer(dialect);
    const store = server.server.store;
    keys = {
      pia: (await createUser(store, "pia", "publisher")).apiKey,
      gus: (await createUser(store, "gus", "viewer")).apiKey,
    };
    const whoami = async (key: string) =>
      (await server.call("GET", "/__api__/v1/user", { key })).body.guid as string;
    guids = {
      vic: await whoami(server.keys.viewer),
      pia: await whoami(keys.pia),
      gus: await whoami(keys.gus),
    };
    const item = await createContent(server, "private", server.keys.publisher, {});
    guid = item.guid;
    url = item.content_url;
    await deploy(server, guid, [
      manifestEntry({ metadata: { appmode: "static" } }),
      { path: "index.html", content: "<p>secret</p>" },
    ]);
  }, 120_000);
  afterAll(() => server?.close());

  const view = (key: string | null, headers: Record<string, string> = {}) =>
    fetch(url, {
      redirect: "manual",
      headers: { ...(key ? { Authorization: `Key ${key}` } : {}), ...headers },
    });
  const listed = async (key: string) =>
    (await server.call("GET", "/__api__/v1/content", { key })).body.map(
      (c: { guid: string }) => c.guid,
    );

  it("is acl by default: the owner and administrators see it, nobody else", async () => {
    const item = await server.call("GET", `/__api__/v1/content/${guid}`);
    expect(item.body).toMatchObject({ access_type: "acl", app_role: "owner" });
    expect(await (await view(server.keys.publisher)).text()).toBe("<p>secret</p>");
    expect((await view(server.keys.administrator)).status).toBe(200);
    for (const key of [server.keys.viewer, keys.pia]) {
      const api = await server.call("GET", `/__api__/v1/content/${guid}`, { key });
      expect(api).toMatchObject({ status: 403, body: { code: 22 } });
      const page = await view(key);
      expect(page.status).toBe(403);
      expect(((await page.json()) as { code: number }).code).toBe(22);
      expect(await listed(key)).not.toContain(guid);
    }
    expect((await view(null)).status).toBe(401);
    // A browser that is not signed in is sent to sign in.
    const browser = await view(null, { Accept: "text/html" });
    expect(browser.status).toBe(302);
    expect(browser.headers.get("location")).toBe(
      `/connect/?return=${encodeURIComponent(new URL(url).pathname)}`,
    );
  });

  it("lets listed users and groups' members view, and collaborators change", async () => {
    const add = await server.call("POST", `/__api__/v1/content/${guid}/permissions`, {
      key: server.keys.publisher,
      body: { principal_guid: guids.vic, principal_type: "user", role: "viewer" },
    });
    expect(add.status).toBe(200);
    expect(add.body).toMatchObject({
      id: expect.stringMatching(/^\d+$/),
      content_guid: guid,
      principal_guid: guids.vic,
      principal_type: "user",
      role: "viewer",
    });
    expect((await view(server.keys.viewer)).status).toBe(200);
    expect(await listed(server.keys.viewer)).toContain(guid);
    const asViewer = await server.call("GET", `/__api__/v1/content/${guid}`, {
      key: server.keys.viewer,
    });
    expect(asViewer.body.app_role).toBe("viewer");
    // A viewer still may not change it, nor see its bundles.
    const patch = await server.call("PATCH", `/__api__/v1/content/${guid}`, {
      key: server.keys.viewer,
      body: { title: "mine" },
    });
    expect(patch.status).toBe(403);

    const group = await server.call("POST", "/__api__/v1/groups", { body: { name: "readers" } });
    await server.call("POST", `/__api__/v1/groups/${group.body.guid}/members`, {
      body: { user_guid: guids.gus },
    });
    expect((await view(keys.gus)).status).toBe(403);
    await server.call("POST", `/__api__/v1/content/${guid}/permissions`, {
      key: server.keys.publisher,
      body: { principal_guid: group.body.guid, principal_type: "group", role: "viewer" },
    });
    expect((await view(keys.gus)).status).toBe(200);
    expect(await listed(keys.gus)).toEqual([guid]);
    await server.call("DELETE", `/__api__/v1/groups/${group.body.guid}/members/${guids.gus}`);
    expect((await view(keys.gus)).status).toBe(403);

    const collaborator = await server.call("POST", `/__api__/v1/content/${guid}/permissions`, {
      key: server.keys.publisher,
      body: { principal_guid: guids.pia, principal_type: "user", role: "owner" },
    });
    expect(collaborator.status).toBe(200);
    const changed = await server.call("PATCH", `/__api__/v1/content/${guid}`, {
      key: keys.pia,
      body: { title: "Shared" },
    });
    expect(changed.body).toMatchObject({ title: "Shared", app_role: "editor" });
    const bundles = await server.call("GET", `/__api__/v1/content/${guid}/bundles`, {
      key: keys.pia,
    });
    expect(bundles.status).toBe(200);
    // posit-sdk sends an empty JSON body with its GET.
    const sdk = await getWithBody(`${server.url}/__api__/v1/content/${guid}/permissions`, keys.pia);
    expect(sdk.status, sdk.body).toBe(200);
    expect(JSON.parse(sdk.body)).toHaveLength(3);
    const list = await server.call("GET", `/__api__/v1/content/${guid}/permissions`, {
      key: keys.pia,
    });
    expect(list.body.map((p: { principal_type: string }) => p.principal_type)).toEqual([
      "user",
      "group",
      "user",
    ]);

    const demote = await server.call(
      "PUT",
      `/__api__/v1/content/${guid}/permissions/${collaborator.body.id}`,
      {
        key: server.keys.publisher,
        body: { principal_guid: guids.pia, principal_type: "user", role: "viewer" },
      },
    );
    expect(demote.body.role).toBe("viewer");
    const refused = await server.call("PATCH", `/__api__/v1/content/${guid}`, {
      key: keys.pia,
      body: { title: "again" },
    });
    expect(refused.status).toBe(403);
    const gone = await server.call(
      "DELETE",
      `/__api__/v1/content/${guid}/permissions/${collaborator.body.id}`,
      { key: server.keys.publisher },
    );
    expect(gone.status).toBe(204);
    expect((await view(keys.pia)).status).toBe(403);
  });

  it("refuses bad permissions with clear 4xx answers and writes nothing", async () => {
    const before = await server.call("GET", `/__api__/v1/content/${guid}/permissions`);
    const path = `/__api__/v1/content/${guid}/permissions`;
    const cases = [
      [{ principal_guid: guids.vic, principal_type: "user", role: "viewer" }, 409, 25],
      [{ principal_guid: guids.gus, principal_type: "user", role: "owner" }, 400, 25],
      [
        {
          principal_guid: "00000000-0000-0000-0000-000000000000",
          principal_type: "user",
          role: "viewer",
        },
        404,
        25,
      ],
      [
        {
          principal_guid: "00000000-0000-0000-0000-000000000000",
          principal_type: "group",
          role: "viewer",
        },
        404,
        25,
      ],
      [{ principal_guid: guids.gus, principal_type: "user", role: "admin" }, 400, 25],
      [{ principal_guid: guids.gus, principal_type: "robot", role: "viewer" }, 400, 25],
    ] as const;
    for (const [body, status, code] of cases) {
      const result = await server.call("POST", path, { body });
      expect(result.status, JSON.stringify(body)).toBe(status);
      expect(result.body.code).toBe(code);
    }
    expect((await server.call("GET", `${path}/999999`)).status).toBe(404);
    expect((await server.call("DELETE", `${path}/0`)).status).toBe(400);
    const missing = await server.call(
      "GET",
      "/__api__/v1/content/00000000-0000-0000-0000-000000000000/permissions",
    );
    expect(missing).toMatchObject({ status: 404, body: { code: 4 } });
    const after = await server.call("GET", path);
    expect(after.body).toEqual(before.body);
  });

  it("opens viewing to signed-in users (logged_in) and to anyone (all)", async () => {
    const other = await createApiKey(server.server.store, "gus", "second");
    await server.call("PATCH", `/__api__/v1/content/${guid}`, {
      key: server.keys.publisher,
      body: { access_type: "logged_in" },
    });
    expect((await view(other.apiKey)).status).toBe(200);
    expect(await listed(other.apiKey)).toContain(guid);
    expect((await view(null)).status).toBe(401);
    await server.call("PATCH", `/__api__/v1/content/${guid}`, {
      key: server.keys.publisher,
      body: { access_type: "all" },
    });
    const anonymous = await view(null);
    expect(anonymous.status).toBe(200);
    expect(await anonymous.text()).toBe("<p>secret</p>");
    const bad = await server.call("PATCH", `/__api__/v1/content/${guid}`, {
      key: server.keys.publisher,
      body: { access_type: "everyone" },
    });
    expect(bad).toMatchObject({ status: 400, body: { code: 25 } });
    await server.call("PATCH", `/__api__/v1/content/${guid}`, {
      key: server.keys.publisher,
      body: { access_type: "acl" },
    });
    expect((await view(other.apiKey)).status).toBe(403);
  });

  it("shows a signed-in browser that may not view it a page saying so", async () => {
    await setPasswordHash(server.server.store.db, "gus", await hashPassword("gus password"));
    const signIn = await fetch(`${server.url}/__api__/slipway/v1/session`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: "gus", password: "gus password" }),
    });
    const cookie = signIn.headers.get("set-cookie")!.split(";")[0]!;
    let answer = await view(null, { Cookie: cookie, Accept: "text/html" });
    // Static content hands the browser a content pass first.
    if (answer.status === 302) {
      answer = await fetch(new URL(answer.headers.get("location")!, url), {
        redirect: "manual",
        headers: { Cookie: cookie, Accept: "text/html" },
      });
    }
    expect(answer.status).toBe(403);
    expect(answer.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await answer.text()).toContain("You do not have access to this content");
  });

  it("lets only administrators hand content to another publisher", async () => {
    const path = `/__api__/v1/content/${guid}`;
    const byOwner = await server.call("PATCH", path, {
      key: server.keys.publisher,
      body: { owner_guid: guids.pia },
    });
    expect(byOwner).toMatchObject({ status: 403, body: { code: 22 } });
    const toViewer = await server.call("PATCH", path, { body: { owner_guid: guids.vic } });
    expect(toViewer).toMatchObject({ status: 400, body: { code: 25 } });
    const toNobody = await server.call("PATCH", path, {
      body: { owner_guid: "00000000-0000-0000-0000-000000000000" },
    });
    expect(toNobody.status).toBe(404);
    const handed = await server.call("PATCH", path, { body: { owner_guid: guids.pia } });
    expect(handed.body.owner_guid).toBe(guids.pia);
    expect((await view(keys.pia)).status).toBe(200);
    expect((await view(server.keys.publisher)).status).toBe(403);
  });
});
