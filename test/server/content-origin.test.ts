/**
 * How content answers on each host, with one shared content origin: the dashboard origin
 * sends browsers there with a pass, the content host takes only passes and serves only
 * content, and documents are sandboxed on every host. Plain HTTP with Host headers of our
 * choosing, so no browser and no DNS are needed.
 */
import { request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setPasswordHash } from "../../src/store/sessions.js";
import { hashPassword } from "../../src/users/passwords.js";
import { createContent, deploy, manifestEntry } from "../support/deploy.js";
import { startTestServer, type TestServer } from "../support/server.js";

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(port: number, host: string, path: string, headers: Record<string, string> = {}) {
  return new Promise<Answer>((resolve, reject) => {
    const req = httpRequest(
      { host: "127.0.0.1", port, path, headers: { ...headers, host } },
      (res) => {
        let body = "";
        res.on("data", (c) => {
          body += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

describe("a shared content origin", () => {
  let server: TestServer;
  let port: number;
  let guid: string;
  let cookie: string;
  const dashboard = () => `slipway.test:${port}`;
  const content = () => `content.test:${port}`;

  beforeAll(async () => {
    port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const { port: p } = probe.address() as { port: number };
        probe.close(() => resolve(p));
      });
    });
    server = await startTestServer("sqlite", (s) => {
      s.Server.Address = `127.0.0.1:${port}`;
      s.Server.DashboardOrigin = `http://slipway.test:${port}`;
      s.Server.ContentOrigin = `http://content.test:${port}`;
    });
    await setPasswordHash(server.server.store.db, "vic", await hashPassword("viewer password"));
    // The viewer signs in to see it: open to every signed-in user.
    const item = await createContent(server, "shared-origin-page", server.keys.publisher, {
      access_type: "logged_in",
    });
    guid = item.guid;
    expect(item.content_url).toBe(`http://content.test:${port}/content/${guid}/`);
    const done = await deploy(server, guid, [
      manifestEntry({ metadata: { appmode: "static" } }),
      { path: "index.html", content: "<p>page</p>" },
    ]);
    expect(done.task.code).toBe(0);
    const signIn = await fetch(`${server.url}/__api__/slipway/v1/session`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: "vic", password: "viewer password" }),
    });
    cookie = signIn.headers.get("set-cookie")!.split(";")[0]!;
  }, 120_000);
  afterAll(() => server?.close());

  it("sends a signed-in browser from the dashboard origin to the content origin with a pass", async () => {
    const away = await get(port, dashboard(), `/content/${guid}/?x=1`, { Cookie: cookie });
    expect(away.status).toBe(302);
    const to = new URL(String(away.headers.location));
    expect(to.host).toBe(content());
    expect(to.pathname).toMatch(new RegExp(`^/content/${guid}/__pass__/[\\w-]{65}/$`));
    expect(to.search).toBe("?x=1");

    const page = await get(port, content(), to.pathname);
    expect(page.status).toBe(200);
    expect(page.body).toBe("<p>page</p>");
    expect(page.headers["content-security-policy"]).toMatch(/^sandbox allow-scripts/);
    expect(page.headers["x-frame-options"]).toBeUndefined();
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
  });

  it("takes no dashboard cookie on the content host and sends visitors without a pass to sign in", async () => {
    const bare = await get(port, content(), `/content/${guid}/`, { Cookie: cookie });
    expect(bare.status).toBe(302);
    expect(bare.headers.location).toBe(`http://slipway.test:${port}/content/${guid}/`);
    const forged = await get(port, content(), `/content/${guid}/__pass__/${"A".repeat(65)}/`);
    expect(forged.status).toBe(302);
    const other = await createContent(server, "another-page");
    const away = await get(port, dashboard(), `/content/${guid}/`, { Cookie: cookie });
    const pass = /__pass__\/([^/]+)/.exec(String(away.headers.location))![1]!;
    // A pass is for one content item only.
    const elsewhere = await get(port, content(), `/content/${other.guid}/__pass__/${pass}/`);
    expect(elsewhere.status).toBe(302);
    expect(elsewhere.headers.location).toContain("slipway.test");
  });

  it("answers only content on the content host, and keeps dashboard headers off content", async () => {
    for (const path of ["/__api__/v1/user", "/__api__/slipway/v1/session", "/connect/"]) {
      const answer = await get(port, content(), path, { Cookie: cookie });
      expect(answer.status, path).toBe(404);
    }
    const api = await get(port, dashboard(), "/__api__/v1/user", { Cookie: cookie });
    expect(api.status).toBe(200);
    expect(api.headers).toMatchObject({
      "x-frame-options": "DENY",
      "content-security-policy": "frame-ancestors 'none'",
      "cross-origin-opener-policy": "same-origin",
      "cross-origin-resource-policy": "same-origin",
    });
  });

  it("still serves content to API keys on the dashboard host, for programs", async () => {
    const answer = await get(port, dashboard(), `/content/${guid}/`, {
      Authorization: `Key ${server.keys.viewer}`,
    });
    expect(answer.status).toBe(200);
    expect(answer.headers["content-security-policy"]).toMatch(/^sandbox/);
  });

  it("ends the pass with the session", async () => {
    const away = await get(port, dashboard(), `/content/${guid}/`, { Cookie: cookie });
    const passPath = new URL(String(away.headers.location)).pathname;
    expect((await get(port, content(), passPath)).status).toBe(200);
    const out = await fetch(`${server.url}/__api__/slipway/v1/session`, {
      method: "DELETE",
      headers: { Cookie: cookie },
    });
    expect(out.status).toBe(204);
    expect((await get(port, content(), passPath)).status).toBe(302);
  });
});
