import { writeFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_TEST_TIMEOUT_MS, runCli } from "../support/cli.js";
import { startTestServer, type TestServer } from "../support/server.js";

describe("slipway CLI", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let server: TestServer;
  let config: string;
  beforeAll(async () => {
    server = await startTestServer();
    config = server.configFile;
  });
  afterAll(() => server?.close());

  it("adds a user and prints only its key, which then works against the server", async () => {
    const added = await runCli(["users", "add", "dora", "--role", "publisher", "--config", config]);
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    const me = await server.call("GET", "/__api__/v1/user", { key: added.stdout.trim() });
    expect(me.body).toMatchObject({ username: "dora", user_role: "publisher" });

    const bad = await runCli(["users", "add", "eve", "--role", "superuser", "--config", config]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("Unknown role");
    expect(bad.stdout).toBe("");
  });

  it("creates, lists and revokes keys without ever showing stored keys", async () => {
    const created = await runCli(["keys", "create", "ada", "--name", "laptop", "--config", config]);
    const key = created.stdout.trim();
    expect((await server.call("GET", "/__api__/v1/user", { key })).status).toBe(200);
    const listed = await runCli(["keys", "list", "ada", "--json", "--config", config]);
    const keys = JSON.parse(listed.stdout) as Array<{ guid: string; name: string }>;
    expect(listed.stdout).not.toContain(key);
    const laptop = keys.find((k) => k.name === "laptop")!;
    const revoked = await runCli(["keys", "revoke", laptop.guid, "--config", config]);
    expect(revoked.code).toBe(0);
    const after = await server.call("GET", "/__api__/v1/user", { key });
    expect(after.status).toBe(401);
    expect(after.body.code).toBe(30);
    // The key's life is in the audit log, never the key itself.
    const audit = await server.call("GET", "/__api__/v1/audit_logs?limit=500");
    const described = audit.body.results.map(
      (e: { event_description: string }) => e.event_description,
    );
    expect(described).toContain(`cli created API key ${laptop.guid} (laptop) for ada`);
    expect(described).toContain(`cli revoked API key ${laptop.guid}`);
    expect(JSON.stringify(audit.body)).not.toContain(key);
  });

  it("manages environments against a running server", async () => {
    const env = { CONNECT_SERVER: server.url, CONNECT_API_KEY: server.keys.administrator };
    const added = await runCli(
      [
        "environments",
        "add",
        "--name",
        "ghcr.io/org/cli:1",
        "--title",
        "CLI",
        "--python",
        "3.11.3=/opt/python/3.11.3/bin/python3",
        "--r",
        "4.2.2=/opt/R/4.2.2/bin/R",
        "--json",
      ],
      env,
    );
    expect(added.code).toBe(0);
    const created = JSON.parse(added.stdout);
    expect(created).toMatchObject({
      name: "ghcr.io/org/cli:1",
      title: "CLI",
      r: { installations: [{ version: "4.2.2" }] },
    });

    const table = await runCli(["environments", "list"], env);
    expect(table.stdout).toMatch(/IMAGE\s+TITLE/);
    expect(table.stdout).toMatch(/ghcr\.io\/org\/cli:1\s+CLI\s+3\.11\.3\s+4\.2\.2/);

    const edited = await runCli(
      ["environments", "edit", created.guid, "--matching", "exact", "--json"],
      env,
    );
    expect(JSON.parse(edited.stdout)).toMatchObject({ matching: "exact", title: "CLI" });

    const bad = await runCli(["environments", "edit", created.guid, "--python", "three=/x"], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("code 174");

    const viewer = await runCli(["environments", "list", "--api-key", server.keys.viewer], env);
    expect(viewer.stderr).toContain("code 22");

    const removed = await runCli(["environments", "remove", created.guid], env);
    expect(removed.code).toBe(0);
    const shown = await runCli(["environments", "show", created.guid], env);
    expect(shown.stderr).toContain("code 4");
  });

  it("stops the server start on a bad configuration with file:line", async () => {
    const bad = path.join(server.settings.Server.DataDir, "bad.gcfg");
    writeFileSync(bad, "[Server]\nAddres = 1.2.3.4:5\n");
    const result = await runCli(["server", "--config", bad]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `${bad}:2: unknown key Addres in [Server] (did you mean Address?)`,
    );
  });
});
