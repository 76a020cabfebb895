/**
 * The content tabs a person uses to share and configure content (Access, Vars, and Info's
 * vanity URL, tags and draft previews), in a real browser as the owner, a collaborator and a
 * viewer of the content, each seeing and doing only what their role allows.
 */
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setPasswordHash } from "../../src/store/sessions.js";
import { hashPassword } from "../../src/users/passwords.js";
import { browserUnavailable, ensureDashboardBuilt, launchBrowser } from "../support/browser.js";
import { tarGz } from "../support/bundles.js";
import { addPerson, dashboard, PASSWORD, PHONE } from "../support/dashboard.js";
import { createContent, deploy, manifestEntry, upload, waitForTask } from "../support/deploy.js";
import { unavailable } from "../support/requirements.js";
import { startTestServer, type TestServer } from "../support/server.js";

const noBrowser = unavailable("Dashboard browser tests", browserUnavailable());

const site = (text: string) => [
  manifestEntry({ metadata: { appmode: "static", primary_html: "index.html" } }),
  { path: "index.html", content: `<h1>${text}</h1>` },
];

describe.skipIf(noBrowser)("the dashboard's Access, Vars and Info tabs by role", () => {
  let server: TestServer;
  let browser: Browser;
  let report: { guid: string; content_url: string };
  let draftId: string;
  let cole: string;
  let wendy: string;
  const ui = dashboard(
    () => browser,
    () => server,
  );

  beforeAll(async () => {
    ensureDashboardBuilt();
    server = await startTestServer();
    for (const name of ["ada", "pat", "vic"])
      await setPasswordHash(server.server.store.db, name, await hashPassword(PASSWORD));
    cole = await addPerson(server, "cole", "publisher", "Cole", "Porter");
    wendy = await addPerson(server, "wendy", "viewer", "Wendy", "Ng");
    await server.call("POST", "/__api__/v1/groups", { body: { name: "analysts" } });
    await server.call("POST", "/__api__/v1/tags", { body: { name: "finance" } });
    report = await createContent(server, "report");
    expect((await deploy(server, report.guid, site("Live"))).task.code).toBe(0);
    // A draft: deployed without being activated, so only its preview serves it.
    const uploaded = await upload(server, report.guid, tarGz(site("Draft")));
    draftId = uploaded.body.id;
    const started = await server.call("POST", `/__api__/v1/content/${report.guid}/deploy`, {
      key: server.keys.publisher,
      body: { bundle_id: draftId, activate: false },
    });
    expect((await waitForTask(server, started.body.task_id)).code).toBe(0);
    browser = await launchBrowser();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const permissions = async () =>
    (await server.call("GET", `/__api__/v1/content/${report.guid}/permissions`)).body as Array<{
      id: string;
      principal_guid: string;
      principal_type: string;
      role: string;
    }>;

  it("lets the owner set the access type and add people found by name, refusals shown", async () => {
    const page = await ui.signIn("pat");
    await ui.open(page, `/content/${report.guid}/access`);
    await page.getByRole("heading", { name: "Access", level: 2 }).waitFor();
    await page.waitForFunction(`document.title === "Access · report · Slipway"`);
    // New content is open to signed-in users; the owner narrows it to those listed.
    expect(await page.getByLabel("All signed-in users").isChecked()).toBe(true);
    await page.getByLabel("Only the people and groups listed").check();
    await page.getByRole("button", { name: "Save access" }).click();
    await page.getByText("Saved.").waitFor();
    expect((await server.call("GET", `/__api__/v1/content/${report.guid}`)).body.access_type).toBe(
      "acl",
    );

    const table = page.getByRole("table", { name: "People and groups with access" });
    await table.getByRole("cell", { name: "pat", exact: true }).waitFor();
    // By last name, as a collaborator.
    await page.getByLabel("As").selectOption("owner");
    await page.getByLabel("Find people or groups by name").fill("Porter");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.getByRole("button", { name: "Add Cole Porter (cole)" }).click();
    await page.getByText("Added Cole Porter (cole) as a collaborator.").waitFor();
    // A viewer account cannot collaborate: the server's sentence is shown.
    await page.getByLabel("Find people or groups by name").fill("wen");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.getByRole("button", { name: "Add Wendy Ng (wendy)" }).click();
    await page.getByText("wendy is a viewer: only publishers and administrators").waitFor();
    await page.getByLabel("As").selectOption("viewer");
    await page.getByRole("button", { name: "Add Wendy Ng (wendy)" }).click();
    await page.getByText("Added Wendy Ng (wendy) as a viewer.").waitFor();
    await page.getByLabel("Find people or groups by name").fill("analy");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.getByRole("button", { name: "Add analysts (group)" }).click();
    await table.getByRole("cell", { name: "analysts (group)", exact: true }).waitFor();
    await page.getByLabel("Find people or groups by name").fill("nobody-here");
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.getByText("Nobody matches “nobody-here”.").waitFor();

    const granted = await permissions();
    expect(granted.map((p) => [p.principal_guid, p.role])).toEqual(
      expect.arrayContaining([
        [cole, "owner"],
        [wendy, "viewer"],
      ]),
    );
    expect(granted).toHaveLength(3);
    // The group becomes a collaborator, then loses its access.
    await page.getByLabel("Role of analysts (group)").selectOption("owner");
    await page.getByText("analysts (group) is now a collaborator.").waitFor();
    expect((await permissions()).find((p) => p.principal_type === "group")?.role).toBe("owner");
    await page.getByRole("button", { name: "Remove analysts (group)" }).click();
    await page.getByText("Removed analysts (group).").waitFor();
    expect(await permissions()).toHaveLength(2);
    await ui.shot(page, "content-access-desktop");
    const phone = await ui.signIn("pat", PHONE);
    await ui.open(phone, `/content/${report.guid}/access`);
    await phone.getByRole("table", { name: "People and groups with access" }).waitFor();
    await ui.shot(phone, "content-access-phone");
  });

  it("lists variable names, never values; checks names with the server's pattern", async () => {
    const page = await ui.signIn("pat");
    await ui.open(page, `/content/${report.guid}/vars`);
    await page.getByText("No environment variables.").waitFor();
    await page.getByLabel("Name").fill("1BAD");
    await page.getByLabel("Value").fill("x");
    await page.getByRole("button", { name: "Set variable" }).click();
    await page.getByText('Letters, digits and "_", not starting with a digit.').waitFor();
    expect(await page.getByLabel("Name").getAttribute("aria-invalid")).toBe("true");
    await page.getByLabel("Name").fill("DB_URL");
    await page.getByLabel("Value").fill("postgres://very-secret");
    await page.getByRole("button", { name: "Set variable" }).click();
    await page.getByText("Set DB_URL. Running processes restart to apply it.").waitFor();
    expect(await page.getByLabel("Name").getAttribute("aria-invalid")).toBe("false");
    const table = page.getByRole("table", { name: "Environment variables" });
    await table.getByRole("cell", { name: "DB_URL", exact: true }).waitFor();
    await page.reload();
    await table.getByRole("cell", { name: "hidden" }).waitFor();
    expect(await page.content()).not.toContain("very-secret");
    await ui.shot(page, "content-vars-desktop");

    // A collaborator may set and remove them too.
    const collaborator = await ui.signIn("cole");
    await ui.open(collaborator, `/content/${report.guid}/vars`);
    await collaborator.getByLabel("Name").fill("API_TOKEN");
    await collaborator.getByLabel("Value").fill("t0ken");
    await collaborator.getByRole("button", { name: "Set variable" }).click();
    await collaborator.getByRole("cell", { name: "API_TOKEN", exact: true }).waitFor();
    await collaborator.getByRole("button", { name: "Remove DB_URL" }).click();
    await collaborator.getByText("Removed DB_URL.").waitFor();
    expect(
      (
        await server.call("GET", `/__api__/v1/content/${report.guid}/environment`, {
          key: server.keys.publisher,
        })
      ).body,
    ).toEqual(["API_TOKEN"]);
    // A failed load says so at once and recovers on "Try again".
    const vars = `**/__api__/v1/content/${report.guid}/environment`;
    await page.route(vars, (route) => route.abort("connectionfailed"));
    await page.reload();
    const alert = page
      .getByRole("alert")
      .filter({ hasText: "Could not load the environment variables:" });
    await alert.waitFor();
    await page.unroute(vars);
    await alert.getByRole("button", { name: "Try again" }).click();
    await page.getByRole("cell", { name: "API_TOKEN", exact: true }).waitFor();

    const phone = await ui.signIn("pat", PHONE);
    await ui.open(phone, `/content/${report.guid}/vars`);
    await phone.getByRole("cell", { name: "API_TOKEN", exact: true }).waitFor();
    await ui.shot(phone, "content-vars-phone");
  });

  it("sets the vanity URL and tags on Info, and links each draft to its preview", async () => {
    const page = await ui.signIn("pat");
    await ui.open(page, `/content/${report.guid}/info`);
    await page.getByText("Vanity URL: none").waitFor();
    await page.getByLabel("New vanity path").fill("/connect/mine/");
    await page.getByRole("button", { name: "Set vanity URL" }).click();
    await page.locator("#vanity-error").getByText("is one of Slipway's own paths").waitFor();
    expect(await page.getByLabel("New vanity path").getAttribute("aria-invalid")).toBe("true");
    await page.getByLabel("New vanity path").fill("/team/report/");
    await page.getByRole("button", { name: "Set vanity URL" }).click();
    await page.getByRole("link", { name: `${server.url}/team/report/` }).waitFor();
    expect((await server.call("GET", `/__api__/v1/content/${report.guid}/vanity`)).body.path).toBe(
      "/team/report/",
    );

    await page.getByText("No tags.").waitFor();
    await page.getByLabel("Tag to add").selectOption({ label: "finance" });
    await page.getByRole("button", { name: "Add tag" }).click();
    await page.getByRole("button", { name: "Remove tag finance" }).waitFor();
    const tags = (await server.call("GET", `/__api__/v1/content/${report.guid}/tags`)).body;
    expect(tags.map((t: { name: string }) => t.name)).toEqual(["finance"]);

    const preview = page.getByRole("link", { name: `Preview bundle ${draftId}` });
    expect(await preview.getAttribute("href")).toBe(`${report.content_url}_bundle${draftId}/`);
    await ui.shot(page, "content-info-vanity-desktop");
    await preview.click();
    await page.getByRole("heading", { name: "Draft" }).waitFor();
    const phone = await ui.signIn("pat", PHONE);
    await ui.open(phone, `/content/${report.guid}/info`);
    await phone.getByRole("link", { name: `Preview bundle ${draftId}` }).waitFor();
    await ui.shot(phone, "content-info-vanity-phone");
  });

  it("gives a collaborator the owner's tabs, and a viewer only what they may read", async () => {
    const collaborator = await ui.signIn("cole");
    await ui.open(collaborator, `/content/${report.guid}/access`);
    await collaborator.getByRole("button", { name: "Save access" }).waitFor();
    await collaborator
      .getByRole("table", { name: "People and groups with access" })
      .getByRole("cell", { name: "Wendy Ng (wendy)", exact: true })
      .waitFor();
    await ui.open(collaborator, `/content/${report.guid}/info`);
    await collaborator.getByRole("button", { name: "Save info" }).waitFor();
    await collaborator.getByRole("link", { name: `Preview bundle ${draftId}` }).waitFor();
    await collaborator.getByRole("button", { name: "Remove tag finance" }).waitFor();
    await ui.open(collaborator, `/content/${report.guid}/logs`);
    await collaborator.getByText("Last deploy succeeded.").waitFor();
    await ui.shot(collaborator, "content-access-collaborator");

    const viewer = await ui.signIn("wendy");
    await ui.open(viewer, `/content/${report.guid}/access`);
    await viewer.getByText("You may view this content.").waitFor();
    const listed = viewer.getByLabel("Only the people and groups listed");
    expect(await listed.isChecked()).toBe(true);
    expect(await listed.isDisabled()).toBe(true);
    expect(await viewer.getByRole("button", { name: "Save access" }).count()).toBe(0);
    expect(await viewer.getByRole("table").count()).toBe(0);
    await ui.shot(viewer, "content-access-viewer");
    await ui.open(viewer, `/content/${report.guid}/vars`);
    await viewer
      .getByText(
        "Environment variables are for the content's owner, collaborators and administrators.",
      )
      .waitFor();
    expect(await viewer.getByRole("button", { name: "Set variable" }).count()).toBe(0);
    await ui.open(viewer, `/content/${report.guid}/info`);
    await viewer.getByRole("definition").getByText("pat", { exact: true }).waitFor();
    await viewer.getByRole("link", { name: `${server.url}/team/report/` }).waitFor();
    await viewer.getByText("finance").waitFor();
    expect(await viewer.getByRole("button", { name: "Set vanity URL" }).count()).toBe(0);
    expect(await viewer.getByRole("button", { name: "Remove tag finance" }).count()).toBe(0);
    expect(await viewer.getByRole("heading", { name: "Drafts and earlier bundles" }).count()).toBe(
      0,
    );
    await ui.shot(viewer, "content-info-viewer");
    await ui.open(viewer, `/content/${report.guid}/logs`);
    await viewer
      .getByText("The logs are for the content's owner, collaborators and administrators.")
      .waitFor();
    expect(await viewer.getByRole("heading", { name: "Jobs" }).count()).toBe(0);

    // A viewer account not on the list may not see the content at all.
    const stranger = await ui.signIn("vic");
    await ui.open(stranger, `/content/${report.guid}/access`);
    await stranger.getByRole("alert").getByText("Could not load this content:").waitFor();
  });
});
