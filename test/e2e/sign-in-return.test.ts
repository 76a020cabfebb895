/**
 * A visitor who opens a private content URL before signing in is sent to the dashboard's
 * sign-in and, once signed in, back to that content, in a real browser; a crafted return
 * address elsewhere is not followed.
 */

import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setPasswordHash } from "../../src/store/sessions.js";
import { hashPassword } from "../../src/users/passwords.js";
import { browserUnavailable, ensureDashboardBuilt, launchBrowser } from "../support/browser.js";
import { createContent, deploy, manifestEntry } from "../support/deploy.js";
import { unavailable } from "../support/requirements.js";
import { startTestServer, type TestServer } from "../support/server.js";

const noBrowser = unavailable("Sign-in return browser tests", browserUnavailable());
const PASSWORD = "correct horse battery";

describe.skipIf(noBrowser)("signing in from a content URL", () => {
  let server: TestServer;
  let browser: Browser;
  let contentUrl: string;

  beforeAll(async () => {
    ensureDashboardBuilt();
    server = await startTestServer();
    await setPasswordHash(server.server.store.db, "pat", await hashPassword(PASSWORD));
    const item = await createContent(server, "private-report", server.keys.publisher, {});
    contentUrl = `${item.content_url}reports/q3.html?year=2026`;
    await deploy(server, item.guid, [
      manifestEntry({ metadata: { appmode: "static", primary_html: "index.html" } }),
      { path: "index.html", content: "<p>index</p>" },
      { path: "reports/q3.html", content: "<h1>Third quarter</h1>" },
    ]);
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it("comes back to the page asked for, with its query, once signed in", async () => {
    const page = await browser.newPage();
    await page.goto(contentUrl);
    expect(new URL(page.url()).pathname).toBe("/connect/");
    await page.getByLabel("Username").fill("pat");
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Third quarter" }).waitFor();
    const landed = new URL(page.url());
    expect(landed.pathname).toMatch(/\/reports\/q3\.html$/);
    expect(landed.searchParams.get("year")).toBe("2026");
    await page.close();
  });

  it("stays on the dashboard when the return address is not this server's content", async () => {
    for (const elsewhere of ["https://evil.example/", "//evil.example/content/x", "/connect/x"]) {
      const page = await browser.newPage();
      await page.goto(`${server.url}/connect/?${new URLSearchParams({ return: elsewhere })}`);
      await page.getByLabel("Username").fill("pat");
      await page.getByLabel("Password").fill(PASSWORD);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.getByRole("button", { name: "Sign out" }).waitFor();
      expect(new URL(page.url()).origin).toBe(server.url);
      expect(new URL(page.url()).pathname).toBe("/connect/");
      await page.close();
    }
  });
});
