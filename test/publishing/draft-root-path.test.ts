/**
 * A draft previewed at `/content/{guid}/_bundle{id}/` runs with that path as its root: a Flask
 * page's `url_for` links (SCRIPT_NAME) lead to the draft's own static files, not the live
 * bundle's, and an R Shiny app opened in a real browser loads its assets and talks over its
 * websocket to the draft's process, which sees the preview's root path.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { browserUnavailable, launchBrowser } from "../support/browser.js";
import type { TarEntry } from "../support/bundles.js";
import { tarGz } from "../support/bundles.js";
import { createContent, deploy, manifestEntry, upload, waitForTask } from "../support/deploy.js";
import { unavailable } from "../support/requirements.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { STORE_DIALECTS } from "../support/stores.js";

const PYTHON = "/usr/bin/python3.11";
const noFlask = unavailable(
  "Draft root path tests",
  existsSync("/usr/lib/python3/dist-packages/flask") && existsSync(PYTHON)
    ? undefined
    : "Debian's python3-flask (and python3.11) is not installed",
);
function shinyCannot(): string | undefined {
  try {
    execFileSync("Rscript", ["-e", "library(shiny)"], { stdio: "ignore" });
  } catch {
    return "Debian's r-cran-shiny is not installed";
  }
  return browserUnavailable();
}
const noShiny = unavailable("The draft Shiny browser test", shinyCannot());

const flaskApp = (which: string): TarEntry[] => [
  manifestEntry({
    metadata: { appmode: "python-api", entrypoint: "app:app" },
    python: { version: "3.11.2" },
  }),
  {
    path: "app.py",
    content: [
      "from flask import Flask, url_for",
      "app = Flask(__name__)",
      '@app.get("/")',
      "def page():",
      `    return f'<script src="{url_for("static", filename="app.js")}"></script>'`,
      "",
    ].join("\n"),
  },
  { path: "static/app.js", content: `window.bundle = "${which}";\n` },
];

const shinyApp = (which: string): TarEntry[] => [
  manifestEntry({ metadata: { appmode: "shiny" } }),
  {
    path: "app.R",
    content: [
      "library(shiny)",
      `shinyApp(fluidPage(titlePanel("${which}"), textOutput("root")), function(input, output) {`,
      `  output$root <- renderText(paste("${which} at", Sys.getenv("SLIPWAY_ROOT_PATH")))`,
      "})",
      "",
    ].join("\n"),
  },
];

/** Uploads the bundle and deploys it as a draft; returns its id. */
async function deployDraft(server: TestServer, guid: string, entries: TarEntry[]) {
  const uploaded = await upload(server, guid, tarGz(entries));
  const started = await server.call("POST", `/__api__/v1/content/${guid}/deploy`, {
    key: server.keys.publisher,
    body: { bundle_id: uploaded.body.id, activate: false },
  });
  const task = await waitForTask(server, started.body.task_id);
  expect(task.code, task.output.join("\n")).toBe(0);
  return uploaded.body.id as string;
}

describe.skipIf(noFlask).each(STORE_DIALECTS)("a draft's root path (%s)", (dialect) => {
  let server: TestServer;
  let browser: Browser | undefined;
  beforeAll(async () => {
    server = await startTestServer(dialect, (s) => {
      s.Python.SystemSitePackages = true;
    });
    const created = await server.call("POST", "/__api__/v1/environments", {
      body: {
        name: "py-r:draft-root",
        cluster_name: "Local",
        python: { installations: [{ version: "3.11.2", path: PYTHON }] },
        r: { installations: [{ version: "4.2.2", path: "/usr/bin/R" }] },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBe(200);
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  const get = (url: string) =>
    fetch(url, { headers: { Authorization: `Key ${server.keys.publisher}` } });

  it("links a Flask draft's page to the draft's own static files", async () => {
    const item = await createContent(server, "draft-root-flask");
    const live = await deploy(server, item.guid, flaskApp("live"));
    expect(live.task.code, live.task.output.join("\n")).toBe(0);
    const draftId = await deployDraft(server, item.guid, flaskApp("draft"));

    const script = async (pageUrl: string) => {
      const html = await (await get(pageUrl)).text();
      const src = /src="([^"]+)"/.exec(html)?.[1];
      expect(src, html).toBeDefined();
      return src!;
    };
    const liveSrc = await script(item.content_url);
    expect(liveSrc).toBe(`/content/${item.guid}/static/app.js`);
    const draftSrc = await script(`${server.url}/content/${item.guid}/_bundle${draftId}/`);
    expect(draftSrc).toBe(`/content/${item.guid}/_bundle${draftId}/static/app.js`);
    expect(await (await get(`${server.url}${draftSrc}`)).text()).toBe('window.bundle = "draft";\n');
    expect(await (await get(`${server.url}${liveSrc}`)).text()).toBe('window.bundle = "live";\n');

    // Activated, the draft's process gives way to one at the content's own root path.
    const activate = await server.call("POST", `/__api__/v1/content/${item.guid}/deploy`, {
      key: server.keys.publisher,
      body: { bundle_id: draftId, activate: true },
    });
    expect((await waitForTask(server, activate.body.task_id)).code).toBe(0);
    expect(await script(item.content_url)).toBe(`/content/${item.guid}/static/app.js`);
    expect(await (await get(`${server.url}${liveSrc}`)).text()).toBe('window.bundle = "draft";\n');
  }, 180_000);

  it.skipIf(noShiny)(
    "serves a Shiny draft to a browser: its assets, its websocket and its root path",
    async () => {
      const item = await createContent(server, "draft-root-shiny");
      const live = await deploy(server, item.guid, shinyApp("Live Shiny"));
      expect(live.task.code, live.task.output.join("\n")).toBe(0);
      const draftId = await deployDraft(server, item.guid, shinyApp("Draft Shiny"));

      browser ??= await launchBrowser();
      const context = await browser.newContext({
        extraHTTPHeaders: { Authorization: `Key ${server.keys.publisher}` },
      });
      const page = await context.newPage();
      const failed: string[] = [];
      page.on("response", (response) => {
        if (response.status() >= 400) failed.push(`${response.status()} ${response.url()}`);
      });
      const preview = `/content/${item.guid}/_bundle${draftId}`;
      await page.goto(`${server.url}${preview}/`);
      // Rendered by the server function over the websocket, so it shows once Shiny connected.
      await page.locator("#root").getByText("Draft Shiny at").waitFor({ timeout: 60_000 });
      expect(await page.locator("#root").textContent()).toBe(`Draft Shiny at ${preview}`);
      expect(await page.locator("h2").textContent()).toBe("Draft Shiny");
      expect(failed).toEqual([]);

      await page.goto(item.content_url);
      await page.locator("#root").getByText("Live Shiny at").waitFor({ timeout: 60_000 });
      expect(await page.locator("#root").textContent()).toBe(`Live Shiny at /content/${item.guid}`);
      await context.close();
    },
    180_000,
  );
});
