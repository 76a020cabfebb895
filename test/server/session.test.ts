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
});
