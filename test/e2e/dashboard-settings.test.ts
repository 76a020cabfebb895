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
import { createContent, deploy, manifestEntry } from "../support/deploy.js";
import { unavailable } from "../support/requirements.js";
import { seedCoverage } from "../support/runtimes-catalog.js";
import { startTestServer, type TestServer } from "../support/server.js";

const noBrowser = unavailable("Dashboard browser tests", browserUnavailable());

const PASSWORD = "correct horse battery";
const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

describe.skipIf(noBrowser)("the dashboard's content settings and reports", () => {
  let server: TestServer;
  let browser: Browser;
  let site: { guid: string };
  let deployLog: string[];

  beforeAll(async () => {
    ensureDashboardBuilt();
    server = await startTestServer("sqlite", (settings) => {
      settings.Scheduler.MaxProcesses = 4;
      settings.Scheduler.MaxProcessesLimit = 8;
    });
    for (const name of ["ada", "pat", "vic"])
      await setPasswordHash(server.server.store.db, name, await hashPassword(PASSWORD));
    await seedCoverage(server);
    site = await createContent(server, "site");
    const deployed = await deploy(server, site.guid, [
      manifestEntry({ metadata: { appmode: "static", primary_html: "index.html" } }),
      { path: "index.html", content: "<h1>Hello</h1>" },
    ]);
    expect(deployed.task.code).toBe(0);
    deployLog = deployed.task.output;
    expect(deployLog.length).toBeGreaterThan(2);
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  async function signIn(username: string, viewport = DESKTOP): Promise<Page> {
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
  const open = async (page: Page, hash: string) => {
    await page.goto(`${server.url}/connect/#${hash}`);
  };
  const waitForTitle = (page: Page, title: string) =>
    page.waitForFunction(`document.title === ${JSON.stringify(title)}`);

  it("shows the runtimes report as the API gives it, on a desktop and a phone", async () => {
    const api = (await server.call("GET", "/__api__/slipway/v1/runtimes")).body;
    for (const [viewport, suffix] of [
      [DESKTOP, "desktop"],
      [PHONE, "phone"],
    ] as const) {
      const page = await signIn("pat", viewport);
      await page.getByRole("link", { name: "Runtimes" }).click();
      await page.getByRole("heading", { name: "Runtimes", level: 1 }).waitFor();
      await waitForTitle(page, "Runtimes · Slipway");
      const table = page.getByRole("table", { name: "Versions deployed content needs" });
      await table.waitFor();
      const rows = await table.locator("tbody tr").evaluateAll((trs) =>
        trs.map((tr) => {
          const [need, content, environments] = [...tr.children];
          const items = [...environments!.querySelectorAll("li")];
          return [
            need!.textContent.trim(),
            content!.querySelector("summary")!.textContent.trim(),
            items.length > 0
              ? items.map((li) => li.textContent.trim()).join("\n")
              : environments!.textContent.trim(),
          ];
        }),
      );
      const label = { r: "R", python: "Python", quarto: "Quarto" } as const;
      expect(rows).toEqual(
        api.needs.map(
          (n: {
            runtime: "r" | "python" | "quarto";
            version: string;
            content_count: number;
            environments: Array<{ title: string; name: string; installation: string }>;
          }) => [
            `${label[n.runtime]} ${n.version}`,
            `${n.content_count} ${n.content_count === 1 ? "item" : "items"}`,
            n.environments.length === 0
              ? "No environment"
              : n.environments
                  .map((e) => `${e.title} (${e.name}, ${n.runtime} ${e.installation})`)
                  .join("\n"),
          ],
        ),
      );
      expect(rows).toContainEqual(["Python 3.8.10", "1 item", "No environment"]);
      const gaps = page.getByRole("list", { name: "Content with no compatible environment" });
      expect(await gaps.getByRole("listitem").allInnerTexts()).toEqual(
        api.unsatisfied.map(
          (u: { name: string; error: string }) => `${u.name}: Python 3.8.10. ${u.error}`,
        ),
      );
      await shot(page, `runtimes-${suffix}`);
      await page.close();
    }
    const viewer = await signIn("vic");
    expect(await viewer.getByRole("link", { name: "Runtimes" }).count()).toBe(0);
    await open(viewer, "/runtimes");
    await viewer.getByRole("heading", { name: "Not available to you" }).waitFor();
  });

  it("keeps each content tab at its own URL; the owner edits Info and sees the deploy log", async () => {
    const page = await signIn("pat");
    await open(page, `/content/${site.guid}`);
    await page.getByRole("heading", { name: "Info", level: 2 }).waitFor();
    await waitForTitle(page, "Info · site · Slipway");
    expect(
      await page
        .getByRole("navigation", { name: "Content settings" })
        .getByRole("link", { name: "Info" })
        .getAttribute("aria-current"),
    ).toBe("page");
    await page.getByText("static", { exact: true }).waitFor();
    await page.getByLabel("Title").fill("Team site");
    await page.getByLabel("Description").fill("What the team publishes");
    await page.getByRole("button", { name: "Save info" }).click();
    await page.getByText("Saved.").waitFor();
    const item = (await server.call("GET", `/__api__/v1/content/${site.guid}`)).body;
    expect(item).toMatchObject({ title: "Team site", description: "What the team publishes" });
    await page.getByRole("heading", { name: "Team site", level: 1 }).waitFor();
    await shot(page, "content-info-desktop");

    // Connect's dashboard_url (#/apps/GUID) lands on the same page; the tab is in the URL.
    await page.goto(item.dashboard_url.replace(/#.*/, `#/apps/${site.guid}/logs`));
    await page.getByRole("heading", { name: "Last deploy" }).waitFor();
    await page.getByText("Last deploy succeeded.").waitFor();
    expect(await page.getByRole("log", { name: "Deploy log" }).textContent()).toBe(
      deployLog.join("\n"),
    );
    await waitForTitle(page, "Logs · Team site · Slipway");
    await shot(page, "content-logs-desktop");
    await page.reload();
    await page.getByText("Last deploy succeeded.").waitFor();

    const phone = await signIn("pat", PHONE);
    await open(phone, `/content/${site.guid}/info`);
    await phone.getByRole("button", { name: "Save info" }).waitFor();
    await shot(phone, "content-info-phone");
  });

  it("sets process settings with the server's defaults shown, errors at their fields", async () => {
    const page = await signIn("pat");
    await open(page, `/content/${site.guid}/runtime`);
    await page.getByRole("heading", { name: "Runtime", level: 2 }).waitFor();
    const max = page.getByLabel("Max processes");
    await page.getByText("Server default: 4; at most 8").waitFor();
    expect(await max.getAttribute("placeholder")).toBe("default: 4");

    // Checked in the page with the server's own bounds...
    await page.getByLabel("Min processes").fill("1.5");
    await page.getByRole("button", { name: "Save process settings" }).click();
    await page.locator("#setting-min_processes-error").getByText("Enter a whole number.").waitFor();
    expect(await page.getByLabel("Min processes").getAttribute("aria-invalid")).toBe("true");
    // ...and refused by the server, whose sentence lands at the field it names.
    await page.getByLabel("Min processes").fill("");
    await page.getByLabel("Memory limit").fill("1000000");
    await page.getByRole("button", { name: "Save process settings" }).click();
    await page
      .locator("#setting-memory_limit-error")
      .getByText("cannot be enforced by the local runner")
      .waitFor();
    expect(await page.getByLabel("Memory limit").getAttribute("aria-invalid")).toBe("true");
    expect(await page.getByLabel("Min processes").getAttribute("aria-invalid")).toBe("false");
    await shot(page, "content-runtime-error-desktop");

    await page.getByLabel("Memory limit").fill("");
    await page.getByLabel("Min processes").fill("1");
    await max.fill("6");
    await page.getByLabel("Idle timeout").fill("30");
    await page.getByRole("button", { name: "Save process settings" }).click();
    await page.getByText("Saved. Running processes follow the new settings.").waitFor();
    expect((await server.call("GET", `/__api__/v1/content/${site.guid}`)).body).toMatchObject({
      min_processes: 1,
      max_processes: 6,
      idle_timeout: 30,
      memory_limit: null,
    });
    await page.reload();
    expect(await page.getByLabel("Max processes").inputValue()).toBe("6");
    await shot(page, "content-runtime-desktop");
    const phone = await signIn("pat", PHONE);
    await open(phone, `/content/${site.guid}/runtime`);
    await phone.getByLabel("Max processes").waitFor();
    await shot(phone, "content-runtime-phone");
  });

  it("shows a viewer the settings without the means to change them; an administrator may", async () => {
    const viewer = await signIn("vic");
    await open(viewer, `/content/${site.guid}/info`);
    await viewer.getByRole("heading", { name: "Info", level: 2 }).waitFor();
    expect(await viewer.getByRole("button", { name: "Save info" }).count()).toBe(0);
    await open(viewer, `/content/${site.guid}/runtime`);
    await viewer.getByLabel("Max processes").waitFor();
    expect(await viewer.getByLabel("Max processes").getAttribute("readonly")).not.toBeNull();
    expect(await viewer.getByRole("button", { name: "Save process settings" }).count()).toBe(0);
    expect(await viewer.getByRole("button", { name: "Save runtime settings" }).count()).toBe(0);
    await open(viewer, `/content/${site.guid}/logs`);
    await viewer
      .getByText("The logs are for the content's owner, collaborators and administrators.")
      .waitFor();
    await shot(viewer, "content-logs-viewer");

    const admin = await signIn("ada");
    await open(admin, `/content/${site.guid}/runtime`);
    await admin.getByRole("button", { name: "Save process settings" }).waitFor();
    await open(admin, `/content/${site.guid}/logs`);
    await admin.getByText("Last deploy succeeded.").waitFor();
  });

  it("shows a failed request as an error with a retry, never an endless Loading", async () => {
    const page = await signIn("pat");
    await open(page, "/content/00000000-0000-0000-0000-000000000000");
    await page.getByRole("alert").getByText("Could not load this content:").waitFor();
    await waitForTitle(page, "Content · Slipway");

    // The network fails the catalog once; the page says so, and "Try again" recovers.
    await page.route("**/__api__/v1/environments", (route) => route.abort("connectionfailed"));
    await open(page, "/environments");
    const alert = page.getByRole("alert");
    await alert.getByText("Could not load environments:").waitFor();
    await shot(page, "environments-load-error");
    await page.unroute("**/__api__/v1/environments");
    await alert.getByRole("button", { name: "Try again" }).click();
    await page.getByRole("table", { name: "Execution environments" }).waitFor();
    expect(await page.getByRole("alert").count()).toBe(0);
  });

  it("names each dialog by its own title and marks invalid fields, from the keyboard alone", async () => {
    const page = await signIn("ada");
    await page.getByRole("heading", { name: "Environments" }).waitFor();
    await waitForTitle(page, "Environments · Slipway");
    const focused = () =>
      page.evaluate<string>(
        'document.activeElement === document.body ? "" : (document.activeElement?.textContent ?? "")',
      );
    for (let i = 0; i < 30 && (await focused()) !== "Add environment"; i++)
      await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    const form = page.getByRole("dialog", { name: "Add environment" });
    await form.waitFor();
    // The image field takes focus first; a name the server's pattern refuses is marked there.
    await page.keyboard.type("Not An Image");
    await page.keyboard.press("Enter");
    await form.getByText("A container image name such as ghcr.io/org/image:tag.").waitFor();
    expect(await form.getByLabel("Image", { exact: true }).getAttribute("aria-invalid")).toBe(
      "true",
    );
    await form.getByRole("button", { name: "Add Python installation" }).focus();
    await page.keyboard.press("Enter");
    const installation = page.getByRole("dialog", { name: "Add Python installation" });
    await installation.waitFor();
    expect(await page.getByRole("dialog", { name: "Add environment" }).count()).toBe(1);
    await page.keyboard.type("3.x");
    await page.keyboard.press("Enter");
    expect(await installation.getByLabel("Version").getAttribute("aria-invalid")).toBe("true");
    expect(await installation.getByLabel("Version").getAttribute("aria-describedby")).toBe(
      "installation-version-error",
    );
    await installation.getByText("A dotted numeric version, such as 3.11.3.").waitFor();
    await page.keyboard.press("Escape");
    await installation.waitFor({ state: "detached" });
    await form.waitFor();
    await page.keyboard.press("Escape");
    expect(await page.getByRole("dialog").count()).toBe(0);

    // Tabs are links: Tab reaches them and Enter follows them.
    await open(page, `/content/${site.guid}`);
    await page.getByRole("heading", { name: "Info", level: 2 }).waitFor();
    await page.getByRole("link", { name: "Runtime", exact: true }).focus();
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Runtime", level: 2 }).waitFor();
    expect(page.url()).toContain(`#/content/${site.guid}/runtime`);
  });
});
