/**
 * The dashboard's operational pages in a real browser: a content's jobs with a running
 * process's log followed live, who may use an environment, and the runtime caches with a
 * delete refused while a build writes into the cache. Administrators only where the API is.
 */
import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setPasswordHash } from "../../src/store/sessions.js";
import { hashPassword } from "../../src/users/passwords.js";
import { browserUnavailable, ensureDashboardBuilt, launchBrowser } from "../support/browser.js";
import { addPerson, dashboard, PASSWORD, PHONE } from "../support/dashboard.js";
import { createContent, deploy, manifestEntry } from "../support/deploy.js";
import { startForeignBuild } from "../support/foreign-build.js";
import { unavailable } from "../support/requirements.js";
import { startTestServer, type TestServer } from "../support/server.js";

const PYTHON = "/usr/bin/python3.11";
const noBrowser = unavailable("Dashboard browser tests", browserUnavailable());
const noFlask = unavailable(
  "Dashboard jobs and caches tests",
  existsSync("/usr/lib/python3/dist-packages/flask") && existsSync(PYTHON)
    ? undefined
    : "Debian's python3-flask (and python3.11) is not installed",
);
const APP = [
  "import sys",
  "from flask import Flask",
  "app = Flask(__name__)",
  '@app.get("/")',
  "def hi():",
  '    print("visited", flush=True)',
  '    return "hi"',
  "",
].join("\n");
const CACHES = "/__api__/v1/system/caches/runtime";

describe.skipIf(noBrowser || noFlask)(
  "the dashboard's jobs, environment permissions and caches",
  // Builds and processes share two cores with other suites: a step may take its time.
  { timeout: 60_000 },
  () => {
    let server: TestServer;
    let browser: Browser;
    let app: { guid: string; content_url: string };
    let environment: string;
    let cole: string;
    const ui = dashboard(
      () => browser,
      () => server,
    );

    beforeAll(async () => {
      ensureDashboardBuilt();
      server = await startTestServer("sqlite", (s) => {
        s.Python.SystemSitePackages = true;
      });
      for (const name of ["ada", "pat", "vic"])
        await setPasswordHash(server.server.store.db, name, await hashPassword(PASSWORD));
      cole = await addPerson(server, "cole", "publisher", "Cole", "Porter");
      await server.call("POST", "/__api__/v1/groups", { body: { name: "analysts" } });
      environment = (
        await server.call("POST", "/__api__/v1/environments", {
          body: {
            name: "py:team",
            title: "Team Python",
            cluster_name: "Local",
            python: { installations: [{ version: "3.11.2", path: PYTHON }] },
          },
        })
      ).body.guid;
      app = await createContent(server, "jobs-app");
      // One process, so every visit's line lands in the one log the test follows.
      await server.call("PATCH", `/__api__/v1/content/${app.guid}`, {
        key: server.keys.publisher,
        body: { max_processes: 1 },
      });
      const deployed = await deploy(server, app.guid, [
        manifestEntry({
          metadata: { appmode: "python-api", entrypoint: "app:app" },
          python: { version: "3.11.2" },
        }),
        { path: "app.py", content: APP },
      ]);
      expect(deployed.task.code, deployed.task.output.join("\n")).toBe(0);
      browser = await launchBrowser();
    }, 180_000);
    afterAll(async () => {
      await browser?.close();
      await server?.close();
    });

    const visit = async () => {
      const answer = await fetch(app.content_url, {
        headers: { Authorization: `Key ${server.keys.publisher}` },
      });
      expect(await answer.text()).toBe("hi");
    };

    it("lists the content's jobs and follows a running process's log live", async () => {
      await visit();
      const jobs = (
        await server.call("GET", `/__api__/v1/content/${app.guid}/jobs`, {
          key: server.keys.publisher,
        })
      ).body as Array<{
        key: string;
        tag: string;
        end_time: string | null;
        exit_code: number | null;
      }>;
      const build = jobs.find((j) => j.tag === "python_restore")!;
      const run = jobs.find((j) => j.tag === "run_api" && j.end_time === null)!;
      expect(build.exit_code).toBe(0);

      const page = await ui.signIn("pat");
      await ui.open(page, `/content/${app.guid}/logs`);
      const table = page.getByRole("table", { name: "Jobs" });
      await table.waitFor();
      const rows = await table
        .locator("tbody tr")
        .evaluateAll((trs) => trs.map((tr) => [...tr.children].map((td) => td.textContent.trim())));
      expect(rows.map((r) => r[0])).toEqual(
        jobs.map((j) => (j.tag === "run_api" ? "Process" : "Build (Python)")),
      );
      const buildRow = rows[jobs.indexOf(build)]!;
      expect(buildRow[3]).toBe("0");
      expect(rows[jobs.indexOf(run)]![2]).toBe("running");

      await page.getByRole("button", { name: `Show log of job ${run.key}` }).click();
      const log = page.getByRole("log", { name: `Log of job ${run.key}` });
      await page.getByText("Running: the log follows it.").waitFor();
      await log.getByText("visited").first().waitFor();
      const seen = async () => ((await log.textContent()) ?? "").split("visited").length - 1;
      const before = await seen();
      // A new visit's line appears without reloading the page.
      await visit();
      const name = JSON.stringify(`Log of job ${run.key}`);
      await page.waitForFunction(
        `(document.querySelector('[aria-label=${name}]')?.textContent ?? "").split("visited").length - 1 > ${before}`,
      );
      await ui.shot(page, "content-jobs-desktop");

      await page.getByRole("button", { name: `Show log of job ${build.key}` }).click();
      await page.getByText("Ended.").waitFor();
      const api = (
        await server.call(
          "GET",
          `/__api__/v1/content/${app.guid}/jobs/${build.key}/log?maxLogLines=5000`,
          { key: server.keys.publisher },
        )
      ).body as { entries: Array<{ data: string }> };
      expect(await page.getByRole("log", { name: `Log of job ${build.key}` }).textContent()).toBe(
        api.entries.map((e) => e.data).join("\n"),
      );
      const phone = await ui.signIn("pat", PHONE);
      await ui.open(phone, `/content/${app.guid}/logs`);
      await phone.getByRole("table", { name: "Jobs" }).waitFor();
      await ui.shot(phone, "content-jobs-phone");
    });

    it("lets an administrator say who may use an environment; publishers do not see it", async () => {
      const page = await ui.signIn("ada");
      await ui.open(page, `/environments/${environment}`);
      await page.getByRole("heading", { name: "Who may use it" }).waitFor();
      await page.getByText("Every publisher may use this environment.").waitFor();
      const search = page.getByLabel("Let people or groups use it: find them by name");
      await search.fill("cole");
      await page.getByRole("button", { name: "Search", exact: true }).click();
      await page.getByRole("button", { name: "Add Cole Porter (cole)" }).click();
      await page.getByText("Cole Porter (cole) may use it.").waitFor();
      await search.fill("analysts");
      await search.press("Enter");
      await page.getByRole("button", { name: "Add analysts (group)" }).click();
      const list = page.getByRole("list", { name: "May use this environment" });
      await list.getByText("analysts (group)").waitFor();
      // The same person twice: the server's refusal is shown.
      await page.getByRole("button", { name: "Add analysts (group)" }).click();
      await page.getByText("That group may already use this environment.").waitFor();
      const path = `/__api__/v1/environments/${environment}/permissions`;
      const granted = (await server.call("GET", path)).body as Array<{ user_guid: string | null }>;
      expect(granted).toHaveLength(2);
      expect(granted.some((p) => p.user_guid === cole)).toBe(true);
      await ui.shot(page, "environment-permissions-desktop");
      await page.getByRole("button", { name: "Remove Cole Porter (cole)" }).click();
      await page.getByText("Cole Porter (cole) may no longer use it.").waitFor();
      expect((await server.call("GET", path)).body).toHaveLength(1);
      // Restricted to the group, the environment is hidden from other publishers; unrestricted again, it is not.
      await page.getByRole("button", { name: "Remove analysts (group)" }).click();
      await page.getByText("Every publisher may use this environment.").waitFor();
      expect((await server.call("GET", path)).body).toEqual([]);

      const publisher = await ui.signIn("pat");
      await ui.open(publisher, `/environments/${environment}`);
      await publisher.getByRole("heading", { name: "Team Python" }).waitFor();
      await publisher.getByRole("heading", { name: "Installations" }).waitFor();
      expect(await publisher.getByRole("heading", { name: "Who may use it" }).count()).toBe(0);
    });

    it("lists runtime caches for administrators and deletes one once no build uses it", async () => {
      const listed = (await server.call("GET", CACHES)).body.caches;
      expect(listed).toMatchObject([
        { language: "Python", version: "3.11.2", image_name: "Local" },
      ]);
      const page = await ui.signIn("ada");
      await page.getByRole("link", { name: "Caches" }).click();
      await page.getByRole("heading", { name: "Runtime caches", level: 1 }).waitFor();
      await page.waitForFunction(`document.title === "Runtime caches · Slipway"`);
      const table = page.getByRole("table", { name: "Runtime caches" });
      await table.getByRole("cell", { name: "Local", exact: true }).waitFor();
      const row = await table
        .locator("tbody tr")
        .evaluateAll((trs) =>
          trs.map((tr) => [...tr.children].slice(0, 6).map((td) => td.textContent.trim())),
        );
      // The build that made it is its last use, shown as the browser writes a date.
      expect(Date.parse(listed[0].last_used_time)).toBeGreaterThan(Date.now() - 600_000);
      const used = await page.evaluate(
        (iso: string) => new Date(iso).toLocaleString(),
        listed[0].last_used_time,
      );
      expect(row).toEqual([["Local", "Python", "3.11.2", expect.stringMatching(/B$/), "1", used]]);
      await ui.shot(page, "runtime-caches-desktop");

      // A build of another server writes into it: the delete is refused, in the dialog.
      const foreign = await startForeignBuild(server);
      const label = "Local";
      await page
        .getByRole("button", { name: `Delete the Python 3.11.2 cache of ${label}` })
        .click();
      const dialog = page.getByRole("dialog", {
        name: `Delete the Python 3.11.2 cache of ${label}?`,
      });
      await dialog.getByRole("button", { name: "Delete cache" }).click();
      await dialog.getByRole("alert").getByText("in use by a build").waitFor();
      await ui.shot(page, "runtime-caches-refused");
      await foreign.finish();
      await dialog.getByRole("button", { name: "Delete cache" }).click();
      await page.getByText(`Deleted the Python 3.11.2 cache of ${label}.`).waitFor();
      await page.getByText("No runtime caches yet.").waitFor();
      expect((await server.call("GET", CACHES)).body.caches).toEqual([]);
      const phone = await ui.signIn("ada", PHONE);
      await ui.open(phone, "/caches");
      await phone.getByText("No runtime caches yet.").waitFor();
      await ui.shot(phone, "runtime-caches-phone");

      for (const name of ["pat", "vic"]) {
        const other = await ui.signIn(name);
        expect(await other.getByRole("link", { name: "Caches" }).count()).toBe(0);
        await ui.open(other, "/caches");
        await other.getByText("The Runtime caches page is for administrators.").waitFor();
      }
    });

    it("shows a collaborator the jobs, and a viewer of the content none", async () => {
      await server.call("POST", `/__api__/v1/content/${app.guid}/permissions`, {
        key: server.keys.publisher,
        body: { principal_guid: cole, principal_type: "user", role: "owner" },
      });
      const collaborator = await ui.signIn("cole");
      await ui.open(collaborator, `/content/${app.guid}/logs`);
      await collaborator.getByRole("table", { name: "Jobs" }).waitFor();
      const viewer = await ui.signIn("vic");
      await ui.open(viewer, `/content/${app.guid}/logs`);
      await viewer
        .getByText("The logs are for the content's owner, collaborators and administrators.")
        .waitFor();
      expect(await viewer.getByRole("table", { name: "Jobs" }).count()).toBe(0);
    });

    it("lists an environment retired by its removal apart; only an administrator restores it", async () => {
      // The running app uses it, so removing it retires it instead.
      expect((await server.call("DELETE", `/__api__/v1/environments/${environment}`)).status).toBe(
        204,
      );
      const publisher = await ui.signIn("pat");
      await ui.open(publisher, "/environments");
      const retired = publisher.getByRole("table", { name: "Retired environments" });
      await retired.getByRole("cell", { name: "Team Python" }).waitFor();
      expect(await publisher.getByRole("button", { name: "Restore Team Python" }).count()).toBe(0);

      const admin = await ui.signIn("ada");
      await ui.open(admin, "/environments");
      await admin.getByRole("button", { name: "Restore Team Python" }).click();
      await admin.getByRole("button", { name: "Team Python", exact: true }).waitFor();
      expect(await admin.getByRole("table", { name: "Retired environments" }).count()).toBe(0);
      expect((await server.call("GET", `/__api__/v1/environments/${environment}`)).status).toBe(
        200,
      );
    });
  },
);
