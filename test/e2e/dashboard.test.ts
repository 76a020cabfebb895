import path from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setPasswordHash } from "../../src/store/sessions.js";
import { hashPassword } from "../../src/users/passwords.js";
import {
  browserUnavailable,
  ensureDashboardBuilt,
  launchBrowser,
  SCREENSHOTS,
} from "../support/browser.js";
import { tarGz } from "../support/bundles.js";
import { unavailable } from "../support/requirements.js";
import { startTestServer, type TestServer } from "../support/server.js";

const noBrowser = unavailable("Dashboard browser tests", browserUnavailable());

const PASSWORD = "correct horse battery";

describe.skipIf(noBrowser)("the dashboard in a real browser", () => {
  let server: TestServer;
  let browser: Browser;
  let used: string;

  beforeAll(async () => {
    ensureDashboardBuilt();
    server = await startTestServer();
    for (const name of ["ada", "pat", "vic"])
      await setPasswordHash(server.server.store.db, name, await hashPassword(PASSWORD));
    const py = (v: string) => ({
      installations: [{ version: v, path: `/opt/python/${v}/bin/python3` }],
    });
    await server.call("POST", "/__api__/v1/environments", {
      body: { name: "org/py:3.10", title: "Python 3.10", python: py("3.10.12") },
    });
    await server.call("POST", "/__api__/v1/environments", {
      body: { name: "org/py:3.12", title: "Python 3.12", python: py("3.12.1") },
    });
    used = (
      await server.call("POST", "/__api__/v1/environments", {
        body: { name: "org/py:3.11", title: "Python 3.11 (used)", python: py("3.11.4") },
      })
    ).body.guid;
    const item = (
      await server.call("POST", "/__api__/v1/content", {
        key: server.keys.publisher,
        body: { name: "dash-report" },
      })
    ).body;
    const manifest = {
      version: 1,
      metadata: { appmode: "python-api", entrypoint: "app:app" },
      python: { version: "3.11.4" },
    };
    const bundle = await fetch(`${server.url}/__api__/v1/content/${item.guid}/bundles`, {
      method: "POST",
      headers: { Authorization: `Key ${server.keys.publisher}` },
      body: tarGz([
        { path: "manifest.json", content: JSON.stringify(manifest) },
        { path: "app.py", content: "app = None\n" },
      ]),
    });
    const bundleId = ((await bundle.json()) as { id: string }).id;
    await server.server.store.db
      .updateTable("content")
      .set({ bundle_id: Number(bundleId), environment_guid: used, image_name: "org/py:3.11" })
      .where("guid", "=", item.guid)
      .execute();
    await server.server.store.db
      .updateTable("bundles")
      .set({ environment_guid: used, image_name: "org/py:3.11" })
      .where("id", "=", Number(bundleId))
      .execute();
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function signIn(username: string, viewport = { width: 1280, height: 800 }): Promise<Page> {
    const page = await browser.newPage({ viewport });
    await page.goto(`${server.url}/connect/`);
    await page.getByLabel("Username").fill(username);
    await page.getByLabel("Password").fill(PASSWORD);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("button", { name: "Sign out" }).waitFor();
    return page;
  }
  const shot = (page: Page, name: string) =>
    page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });

  it("shows each role what it may see", async () => {
    const admin = await signIn("ada");
    await admin.getByRole("heading", { name: "Environments" }).waitFor();
    expect(await admin.getByRole("button", { name: "Add environment" }).count()).toBe(1);
    await shot(admin, "environments-admin");

    const publisher = await signIn("pat");
    await publisher.getByRole("heading", { name: "Environments" }).waitFor();
    expect(await publisher.getByRole("button", { name: "Add environment" }).count()).toBe(0);

    const viewer = await signIn("vic");
    await viewer.getByRole("heading", { name: "Content" }).waitFor();
    expect(await viewer.getByRole("link", { name: "Environments" }).count()).toBe(0);
    await viewer.goto(`${server.url}/connect/#/environments`);
    await viewer.getByRole("heading", { name: "Not available to you" }).waitFor();

    const bad = await browser.newPage();
    await bad.goto(`${server.url}/connect/`);
    await bad.getByLabel("Username").fill("ada");
    await bad.getByLabel("Password").fill("wrong password");
    await bad.getByRole("button", { name: "Sign in" }).click();
    await bad.getByText("Wrong username or password.").waitFor();
  });

  it("adds an environment with an installation, showing validation errors at their fields", async () => {
    const page = await signIn("ada");
    await page.getByRole("button", { name: "Add environment" }).click();
    const form = page.getByRole("dialog");
    await form.getByLabel("Image", { exact: true }).fill("org/py:3.10");
    await page.getByRole("button", { name: "Add Python installation" }).click();
    await page.getByLabel("Version").fill("3.x");
    await page.getByLabel("Path").fill("bin/python");
    await page.getByRole("button", { name: "Add Python installation" }).last().click();
    await page.getByText("A dotted numeric version, such as 3.11.3.").waitFor();
    await page.getByText("An absolute path to the executable").waitFor();
    await page.getByLabel("Version").fill("3.13.1");
    await page.getByLabel("Path").fill("/opt/python/3.13.1/bin/python3");
    await page.getByRole("button", { name: "Add Python installation" }).last().click();
    await page.getByText("3.13.1 — /opt/python/3.13.1/bin/python3").waitFor();
    await page.getByRole("button", { name: "Add environment" }).last().click();
    // The API refuses the duplicate image; its sentence appears beside the image field.
    await page.locator("#name-error").getByText("already exists").waitFor();
    await shot(page, "environment-form-error");
    await form.getByLabel("Image", { exact: true }).fill("org/py:3.13");
    await form.getByLabel("Title", { exact: true }).fill("Python 3.13");
    await page.getByRole("button", { name: "Add environment" }).last().click();
    await page.getByText("Added org/py:3.13.").waitFor();
    const created = (await server.call("GET", "/__api__/v1/environments")).body.find(
      (e: { name: string }) => e.name === "org/py:3.13",
    );
    expect(created).toMatchObject({
      title: "Python 3.13",
      python: { installations: [{ version: "3.13.1", path: "/opt/python/3.13.1/bin/python3" }] },
    });
  });

  it("searches and sorts, keeping both in the URL across a reload", async () => {
    const page = await signIn("pat");
    await page.getByRole("searchbox").fill("3.1");
    await page
      .getByRole("button", { name: /^Python/ })
      .first()
      .click();
    await page
      .getByRole("button", { name: /^Python/ })
      .first()
      .click();
    const order = () => page.locator("tbody tr td:nth-child(3)").allTextContents();
    expect(await order()).toEqual(["3.13.1", "3.12.1", "3.11.4", "3.10.12"]);
    await page.getByRole("searchbox").fill("used");
    expect(await page.locator("tbody tr").count()).toBe(1);
    await page.reload();
    await page.locator("tbody tr").first().waitFor();
    expect(await page.getByRole("searchbox").inputValue()).toBe("used");
    expect(page.url()).toContain("sort=python");
    expect(page.url()).toContain("order=desc");
    await page.getByRole("searchbox").fill("");
    expect(await order()).toEqual(["3.13.1", "3.12.1", "3.11.4", "3.10.12"]);
  });

  it("edits an environment, retires one that content uses on removal, and restores it", async () => {
    const page = await signIn("ada");
    await page.getByRole("button", { name: "Python 3.11 (used)" }).click();
    await page.getByRole("heading", { name: "Python 3.11 (used)" }).waitFor();
    await page.getByRole("link", { name: "dash-report" }).waitFor();
    await shot(page, "environment-detail");
    await page.getByRole("button", { name: "Edit" }).click();
    await page.getByLabel("Description").fill("Edited in the browser");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.getByText("Edited in the browser").waitFor();
    await page.getByRole("button", { name: "Remove" }).click();
    await page.getByRole("button", { name: "Remove environment" }).click();
    await page.getByRole("heading", { name: "Retired environments" }).waitFor();
    expect((await server.call("GET", `/__api__/v1/environments/${used}`)).status).toBe(404);
    expect(
      await page.getByRole("button", { name: "Python 3.11 (used)", exact: true }).count(),
    ).toBe(0);
    await shot(page, "environments-retired");
    await page.getByRole("button", { name: "Restore Python 3.11 (used)" }).click();
    await page.getByRole("button", { name: "Python 3.11 (used)", exact: true }).waitFor();
    expect(await page.getByRole("heading", { name: "Retired environments" }).count()).toBe(0);
    expect((await server.call("GET", `/__api__/v1/environments/${used}`)).body.matching).toBe(
      "any",
    );
  });

  it("lets a publisher pick a specific environment, marking which fit the content", async () => {
    const page = await signIn("pat");
    await page.getByRole("link", { name: "Content", exact: true }).click();
    await page.getByRole("link", { name: "dash-report" }).click();
    await page.getByRole("link", { name: "Runtime", exact: true }).click();
    await page.getByLabel("Use a specific environment").check();
    await page.getByRole("button", { name: "Select environment…" }).click();
    const dialog = page.getByRole("dialog");
    await dialog
      .getByText("Not compatible: python 3.10.12 not compatible with 3.11.4 (major-minor)")
      .waitFor();
    await shot(page, "environment-picker");
    expect(await dialog.getByRole("button", { name: "Use Python 3.10" }).isDisabled()).toBe(true);
    await dialog.getByRole("button", { name: "Use Python 3.11 (used)" }).click();
    await page
      .getByText("The content will rebuild in the new environment the next time it runs.")
      .waitFor();
    await page.getByRole("button", { name: "Save runtime settings" }).click();
    await page.getByText("Saved.").waitFor();
    const content = (await server.call("GET", "/__api__/v1/content?name=dash-report")).body[0];
    expect(content.default_environment_guid).toBe(used);
    await shot(page, "content-runtime");

    const phone = await signIn("pat", { width: 390, height: 844 });
    await shot(phone, "environments-phone");
  });

  it("works with the keyboard alone", async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/connect/`);
    await page.getByLabel("Username").waitFor();
    await page.keyboard.press("Tab");
    await page.keyboard.type("ada");
    await page.keyboard.press("Tab");
    await page.keyboard.type(PASSWORD);
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Environments" }).waitFor();
    const focused = () =>
      page.evaluate<string>(
        'document.activeElement === document.body ? "" : (document.activeElement?.textContent ?? "")',
      );
    for (let i = 0; i < 30 && (await focused()) !== "Add environment"; i++)
      await page.keyboard.press("Tab");
    expect(await focused()).toBe("Add environment");
    await page.keyboard.press("Enter");
    await page.getByRole("dialog").waitFor();
    await page.keyboard.press("Escape");
    expect(await page.getByRole("dialog").count()).toBe(0);
  });
});
