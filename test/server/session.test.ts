import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_TEST_TIMEOUT_MS, runCli } from "../support/cli.js";
import { startTestServer, type TestServer } from "../support/server.js";

describe("dashboard sessions", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let server: TestServer;
  let config: string;
  beforeAll(async () => {
    server = await startTestServer();
    config = server.configFile;
  });
  afterAll(() => server?.close());

  const signIn = (username: string, password: string) =>
    fetch(`${server.url}/__api__/slipway/v1/session`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, password }),
    });

  it("signs in with a password set from standard input, and needs the CSRF token for changes", async () => {
    const added = await runCli(
      ["users", "add", "sam", "--role", "administrator", "--password-stdin", "--config", config],
      {},
      "s3cret-password\n",
    );
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    const stored = await server.server.store.db
      .selectFrom("users")
      .select("password_hash")
      .where("username", "=", "sam")
      .executeTakeFirstOrThrow();
    expect(stored.password_hash).toMatch(/^scrypt\$/);
    expect(stored.password_hash).not.toContain("s3cret");

    expect((await signIn("sam", "wrong-password")).status).toBe(401);
    const ok = await signIn("sam", "s3cret-password");
    expect(ok.status).toBe(200);
    const cookie = ok.headers.get("set-cookie")!;
    expect(cookie).toMatch(
      /^slipway_session=[\w-]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=43200$/,
    );
    const { csrf_token } = (await ok.json()) as { csrf_token: string };
    const session = cookie.split(";")[0]!;

    const me = await fetch(`${server.url}/__api__/v1/user`, { headers: { Cookie: session } });
    expect(((await me.json()) as { username: string }).username).toBe("sam");

    const create = (headers: Record<string, string>) =>
      fetch(`${server.url}/__api__/v1/environments`, {
        method: "POST",
        headers: { Cookie: session, "Content-Type": "application/json", ...headers },
        body: JSON.stringify({ name: `org/session:${Object.keys(headers).length}` }),
      });
    const forged = await create({});
    expect(forged.status).toBe(403);
    expect(((await forged.json()) as { code: number }).code).toBe(22);
    expect((await create({ "X-CSRF-Token": csrf_token })).status).toBe(200);

    const out = await fetch(`${server.url}/__api__/slipway/v1/session`, {
      method: "DELETE",
      headers: { Cookie: session },
    });
    expect(out.status).toBe(204);
    expect(
      (await fetch(`${server.url}/__api__/v1/user`, { headers: { Cookie: session } })).status,
    ).toBe(401);
  });

  it("changes a password with slipway users password", async () => {
    const changed = await runCli(
      ["users", "password", "pat", "--config", config],
      {},
      "another-password\n",
    );
    expect(changed.code).toBe(0);
    expect((await signIn("pat", "another-password")).status).toBe(200);
    const short = await runCli(["users", "password", "pat", "--config", config], {}, "short\n");
    expect(short.code).toBe(1);
    expect(short.stderr).toContain("at least 8 characters");
  });

  /** Signs in and returns the cookie pair and CSRF token of the new session. */
  async function session(username: string, password: string) {
    const response = await signIn(username, password);
    expect(response.status).toBe(200);
    const { csrf_token } = (await response.json()) as { csrf_token: string };
    return { cookie: response.headers.get("set-cookie")!.split(";")[0]!, csrf: csrf_token };
  }
  const whoAmI = async (cookie: string) => {
    const response = await fetch(`${server.url}/__api__/v1/user`, { headers: { Cookie: cookie } });
    return response.status === 200
      ? ((await response.json()) as { username: string }).username
      : response.status;
  };

  it("ends a user's other sessions when they change their password, keeping the one that changed it", async () => {
    await runCli(
      ["users", "add", "pia", "--role", "publisher", "--password-stdin", "--config", config],
      {},
      "first-password\n",
    );
    const laptop = await session("pia", "first-password");
    const phone = await session("pia", "first-password");
    const change = (body: object, csrf = laptop.csrf) =>
      fetch(`${server.url}/__api__/slipway/v1/user/password`, {
        method: "PUT",
        headers: {
          Cookie: laptop.cookie,
          "X-CSRF-Token": csrf,
          "Content-Type": "application/json",
        },
        body: JSON.stringify(body),
      });
    expect(
      (await change({ current_password: "not it", new_password: "second-password" })).status,
    ).toBe(401);
    expect(await whoAmI(phone.cookie)).toBe("pia");
    const changed = await change({
      current_password: "first-password",
      new_password: "second-password",
    });
    expect(changed.status).toBe(200);
    expect(await changed.json()).toEqual({ sessions_ended: 1 });
    expect(await whoAmI(laptop.cookie)).toBe("pia");
    expect(await whoAmI(phone.cookie)).toBe(401);
    expect((await signIn("pia", "first-password")).status).toBe(401);

    // From the command line every session ends: the command belongs to none of them.
    const cli = await runCli(
      ["users", "password", "pia", "--config", config],
      {},
      "third-password\n",
    );
    expect(cli.code).toBe(0);
    expect(cli.stderr).toContain("Password set for pia; 1 session ended.");
    expect(cli.stderr).toContain('"event":"password.changed"');
    expect(await whoAmI(laptop.cookie)).toBe(401);
    expect((await signIn("pia", "third-password")).status).toBe(200);
  }, 180_000);

  it("ends a user's sessions when their role changes, through the API and the command line", async () => {
    await runCli(
      ["users", "add", "rex", "--role", "publisher", "--password-stdin", "--config", config],
      {},
      "rex-password\n",
    );
    const rex = await session("rex", "rex-password");
    const guid = (
      await server.call("GET", "/__api__/v1/user", { key: null, headers: { Cookie: rex.cookie } })
    ).body.guid;
    const refused = await server.call("PUT", `/__api__/v1/users/${guid}`, {
      key: server.keys.publisher,
      body: { user_role: "viewer" },
    });
    expect(refused.status).toBe(403);
    const demoted = await server.call("PUT", `/__api__/v1/users/${guid}`, {
      body: { user_role: "viewer" },
    });
    expect(demoted.status).toBe(200);
    expect(demoted.body).toMatchObject({ username: "rex", user_role: "viewer" });
    expect(demoted.body.password_hash).toBeUndefined();
    expect(await whoAmI(rex.cookie)).toBe(401);

    const again = await session("rex", "rex-password");
    const cli = await runCli(["users", "role", "rex", "publisher", "--config", config]);
    expect(cli.code).toBe(0);
    expect(cli.stderr).toContain("rex is now publisher; 1 session ended.");
    expect(await whoAmI(again.cookie)).toBe(401);
    const bad = await runCli(["users", "role", "rex", "emperor", "--config", config]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('Unknown role "emperor"');
  }, 180_000);

  it("uses a __Host- cookie over HTTPS and believes no plain one there; refuses two session cookies", async () => {
    await runCli(
      ["users", "add", "tia", "--role", "viewer", "--password-stdin", "--config", config],
      {},
      "tia-password\n",
    );
    const secure = await fetch(`${server.url}/__api__/slipway/v1/session`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Forwarded-Proto": "https" },
      body: JSON.stringify({ username: "tia", password: "tia-password" }),
    });
    const cookie = secure.headers.get("set-cookie")!;
    expect(cookie).toMatch(
      /^__Host-slipway_session=[\w-]+; Path=\/; HttpOnly; SameSite=Lax; Max-Age=43200; Secure$/,
    );
    const id = cookie.split(";")[0]!.split("=")[1]!;
    const me = (headers: Record<string, string>) =>
      fetch(`${server.url}/__api__/v1/user`, {
        headers: { "X-Forwarded-Proto": "https", ...headers },
      });
    expect((await me({ Cookie: `__Host-slipway_session=${id}` })).status).toBe(200);
    // A sibling host can set slipway_session for a parent domain, never a __Host- cookie.
    expect((await me({ Cookie: `slipway_session=${id}` })).status).toBe(401);

    const plain = await session("tia", "tia-password");
    const planted = await session("sam", "s3cret-password");
    expect(await whoAmI(`${plain.cookie}; ${planted.cookie}`)).toBe(401);
    expect(await whoAmI(plain.cookie)).toBe("tia");
  }, 180_000);

  it("refuses a cookie-authorized change from another origin, even with the CSRF token", async () => {
    const sam = await session("sam", "s3cret-password");
    const create = (headers: Record<string, string>, n: number) =>
      fetch(`${server.url}/__api__/v1/environments`, {
        method: "POST",
        headers: {
          Cookie: sam.cookie,
          "X-CSRF-Token": sam.csrf,
          "Content-Type": "application/json",
          ...headers,
        },
        body: JSON.stringify({ name: `org/origin-check:${n}` }),
      });
    const host = new URL(server.url).host;
    expect((await create({ Origin: "http://content.example" }, 1)).status).toBe(403);
    expect((await create({ Origin: "null" }, 2)).status).toBe(403);
    expect((await create({ "Sec-Fetch-Site": "same-site" }, 3)).status).toBe(403);
    expect(
      (await create({ Origin: `http://${host}`, "Sec-Fetch-Site": "same-origin" }, 4)).status,
    ).toBe(200);
  });
});
