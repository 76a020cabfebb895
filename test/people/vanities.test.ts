import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser } from "../../src/users/accounts.js";
import { createContent, deploy, manifestEntry } from "../support/deploy.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { STORE_DIALECTS } from "../support/stores.js";

describe.each(STORE_DIALECTS)("vanity URLs on %s", (dialect) => {
  let server: TestServer;
  let first: string;
  let second: string;
  let pia: string;
  beforeAll(async () => {
    server = await startTestServer(dialect);
    pia = (await createUser(server.server.store, "pia", "publisher")).apiKey;
    first = (await createContent(server, "first")).guid;
    second = (await createContent(server, "second")).guid;
    await deploy(server, first, [
      manifestEntry({ metadata: { appmode: "static" } }),
      { path: "index.html", content: "<p>first</p>" },
      { path: "sub/page.html", content: "<p>page</p>" },
    ]);
  }, 120_000);
  afterAll(() => server?.close());

  const put = (guid: string, path: string, key = server.keys.publisher, force?: boolean) =>
    server.call("PUT", `/__api__/v1/content/${guid}/vanity`, {
      key,
      body: force === undefined ? { path } : { path, force },
    });

  it("serves the content at its vanity path, with what follows it", async () => {
    const set = await put(first, "team/report");
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ content_guid: first, path: "/team/report/" });
    const got = await server.call("GET", `/__api__/v1/content/${first}/vanity`, {
      key: server.keys.viewer,
    });
    expect(got.body.path).toBe("/team/report/");
    for (const [asked, landing] of [
      ["/team/report", `/content/${first}/`],
      ["/team/report/", `/content/${first}/`],
      ["/team/report/sub/page.html?x=1", `/content/${first}/sub/page.html?x=1`],
    ] as const) {
      const answer = await fetch(`${server.url}${asked}`, { redirect: "manual" });
      expect(answer.status, asked).toBe(307);
      expect(answer.headers.get("location")).toBe(landing);
    }
    const page = await fetch(`${server.url}/team/report/sub/page.html`, {
      headers: { Authorization: `Key ${server.keys.viewer}` },
    });
    expect(await page.text()).toBe("<p>page</p>");
    expect((await fetch(`${server.url}/team/other/`)).status).toBe(404);
    const all = await server.call("GET", "/__api__/v1/vanities", { key: server.keys.viewer });
    expect(all.body).toEqual([set.body]);
  });

  it("refuses paths that collide, climb or shadow Slipway's own, and writes nothing", async () => {
    const cases = [
      ["team/report", 409],
      ["team", 409],
      ["team/report/deeper", 409],
      ["a/../b", 400],
      ["__api__/v1", 400],
      ["content/x", 400],
      ["connect", 400],
      ["/", 400],
      ["sp ace", 400],
    ] as const;
    for (const [path, status] of cases) {
      const result = await put(second, path);
      expect(result.status, path).toBe(status);
      expect(result.body.code).toBe(25);
    }
    expect((await server.call("GET", `/__api__/v1/content/${second}/vanity`)).status).toBe(404);
    expect((await put(second, "team/report", pia)).status).toBe(403);
    // force is for administrators.
    expect((await put(second, "team/report", server.keys.publisher, true)).status).toBe(403);
  });

  it("lets administrators take a path from other content, and owners remove theirs", async () => {
    const taken = await put(second, "team/report", server.keys.administrator, true);
    expect(taken.body).toMatchObject({ content_guid: second, path: "/team/report/" });
    expect((await server.call("GET", `/__api__/v1/content/${first}/vanity`)).status).toBe(404);
    const answer = await fetch(`${server.url}/team/report/`, { redirect: "manual" });
    expect(answer.headers.get("location")).toBe(`/content/${second}/`);
    const moved = await put(second, "elsewhere");
    expect(moved.body.path).toBe("/elsewhere/");
    expect((await fetch(`${server.url}/team/report/`, { redirect: "manual" })).status).toBe(404);
    const removed = await server.call("DELETE", `/__api__/v1/content/${second}/vanity`, {
      key: server.keys.publisher,
    });
    expect(removed.status).toBe(204);
    expect((await server.call("GET", "/__api__/v1/vanities")).body).toEqual([]);
  });
});
