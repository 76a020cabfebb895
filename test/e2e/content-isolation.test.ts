/**
 * Content opened by a signed-in administrator tries to act as them — call the API with their
 * cookies, read their CSRF token, plant a session cookie by script and by an application's
 * Set-Cookie, frame the dashboard — and fails at each step: beside the dashboard (sandboxed
 * documents, applications confined by CSP) and on a content origin of its own. Each step is
 * also run with the protection taken away in the browser (the CSP or X-Frame-Options
 * removed from the real response, the proxy bypassed, the page moved to the dashboard's
 * origin), where it succeeds: so the protection, not the test, is what stops it.
 *
 * Host names: Chromium maps slipway.test and *.content.test to 127.0.0.1 with
 * --host-resolver-rules, so the dashboard and each content item get origins of their own on
 * the one loopback server (cookies ignore ports, so separate names are needed, not ports).
 */
import { existsSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
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
import { startTestServer, type TestServer } from "../support/server.js";

const PASSWORD = "correct horse battery";
const PYTHON = "/usr/bin/python3.11";
const missing =
  browserUnavailable() ??
  (existsSync("/usr/lib/python3/dist-packages/flask") ? undefined : "Debian's python3-flask");
const skip = Boolean(missing) && process.env.CI !== "true";
if (skip) console.warn(`Content isolation browser tests skipped: ${missing} is missing.`);

/** The attack: every step writes its outcome into #result, as JSON. */
function attackPage(api: string, plant: string): string {
  return `<!doctype html><html><head><title>attack</title></head><body><pre id="result">{}</pre>
<script>
const api = ${JSON.stringify(api)};
const result = {};
const show = () => { document.getElementById("result").textContent = JSON.stringify(result); };
async function step(name, work) {
  try { result[name] = await work(); } catch (e) { result[name] = "blocked: " + e.name; }
  show();
}
(async () => {
  await step("user", async () => {
    const r = await fetch(api + "/__api__/v1/user", { credentials: "include" });
    return r.ok ? (await r.json()).username : "status " + r.status;
  });
  let token = null;
  await step("csrf", async () => {
    const r = await fetch(api + "/__api__/slipway/v1/session", { credentials: "include" });
    if (!r.ok) return "status " + r.status;
    token = (await r.json()).csrf_token;
    return token ? "read" : "none";
  });
  await step("create", async () => {
    const r = await fetch(api + "/__api__/v1/environments", {
      method: "POST", credentials: "include",
      headers: Object.assign({ "Content-Type": "application/json" }, token ? { "X-CSRF-Token": token } : {}),
      body: JSON.stringify({ name: "evil.example/pwned:" + Date.now() }),
    });
    return "status " + r.status;
  });
  await step("cookie", async () => {
    document.cookie = "slipway_session=${plant}; Path=/__api__/";
    return "written";
  });
  await step("frame", async () => {
    const frame = document.createElement("iframe");
    frame.name = "dashboard";
    frame.style.width = "1280px";
    frame.style.height = "800px";
    frame.src = api + "/connect/";
    document.body.appendChild(frame);
    return "inserted";
  });
  if (location.pathname.includes("/attack")) {
    await step("bounce", async () => {
      const r = await fetch("escape", { credentials: "include" });
      const text = await r.text();
      return text.includes("csrf_token") ? "read the session" : "status " + r.status;
    });
  }
  result.done = true;
  show();
})();
</script></body></html>`;
}

/** A Flask application: pages, a form, its own session cookie, a static file, and attacks. */
const FLASK_APP = `
from flask import Flask, redirect, request, session, url_for, make_response
app = Flask(__name__)
app.secret_key = "test only"

@app.get("/")
def index():
    session["visits"] = session.get("visits", 0) + 1
    return (f'<html><head><link rel="stylesheet" href="{url_for("static", filename="style.css")}"></head>'
            f'<body><h1>Visits: {session["visits"]}</h1>'
            f'<form method="post" action="{url_for("greet")}"><input name="who" aria-label="Who">'
            '<button>Greet</button></form></body></html>')

@app.post("/greet")
def greet():
    session["who"] = request.form["who"]
    return redirect(url_for("hello"))

@app.get("/hello")
def hello():
    return f'<p id="hello">Hello, {session.get("who")}</p>'

@app.get("/attack")
def attack():
    return open("attack.html").read()

@app.get("/plant")
def plant():
    response = make_response("planted")
    response.headers.add("Set-Cookie", f"slipway_session={open('plant.txt').read()}; Path=/")
    response.headers.add("Set-Cookie", "harmless=1; Path=/")
    response.headers["X-Correlation-ID"] = "forged-by-the-app"
    return response

@app.get("/port")
def port():
    return request.environ["SERVER_PORT"]

@app.get("/escape")
def escape():
    return redirect("/__api__/slipway/v1/session")
`;

const SHINY_APP = `library(shiny)
ui <- fluidPage(numericInput("n", "Number", 1), textOutput("double"))
server <- function(input, output) output$double <- renderText(paste("Double:", input$n * 2))
shinyApp(ui, server)
`;

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolve(port));
    });
  });
}

interface Setup {
  server: TestServer;
  /** Where the browser reaches the dashboard. */
  dashboard: string;
  /** The attacker's own session id, which the content tries to plant. */
  plant: string;
  staticUrl: string;
  flask: { url: string };
  shiny?: { url: string };
}

async function prepare(
  server: TestServer,
  dashboard: string,
  api: string,
  withShiny: boolean,
): Promise<Setup> {
  for (const name of ["ada", "pat"]) {
    await setPasswordHash(server.server.store.db, name, await hashPassword(PASSWORD));
  }
  await server.call("POST", "/__api__/v1/environments", {
    body: {
      name: "isolation:py-r",
      // This machine's own interpreters: the local runner runs the Local cluster on the host.
      cluster_name: "Local",
      python: { installations: [{ version: "3.11.2", path: PYTHON }] },
      r: { installations: [{ version: "4.2.2", path: "/usr/bin/R" }] },
    },
  });
  const signIn = await fetch(`${server.url}/__api__/slipway/v1/session`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: "pat", password: PASSWORD }),
  });
  const plant = /=([^;]+)/.exec(signIn.headers.get("set-cookie")!)![1]!;
  const page = attackPage(api, plant);

  const site = await createContent(server, "attack-static");
  const published = await deploy(server, site.guid, [
    manifestEntry({ metadata: { appmode: "static", primary_html: "index.html" } }),
    { path: "index.html", content: page },
  ]);
  expect(published.task.code).toBe(0);

  const flask = await createContent(server, "flask-app");
  const flaskDeploy = await deploy(server, flask.guid, [
    manifestEntry({
      metadata: { appmode: "python-api", entrypoint: "app:app" },
      python: { version: "3.11.2" },
    }),
    { path: "app.py", content: FLASK_APP },
    { path: "requirements.txt", content: "flask\n" },
    { path: "static/style.css", content: "h1 { color: rgb(0, 128, 0); }\n" },
    { path: "attack.html", content: page },
    { path: "plant.txt", content: plant },
  ]);
  expect(flaskDeploy.task.code).toBe(0);
  let shiny: Setup["shiny"];
  if (withShiny) {
    const item = await createContent(server, "shiny-app");
    const shinyDeploy = await deploy(server, item.guid, [
      manifestEntry({ metadata: { appmode: "shiny" } }),
      { path: "app.R", content: SHINY_APP },
    ]);
    expect(shinyDeploy.task.code).toBe(0);
    shiny = { url: item.content_url };
  }
  return {
    server,
    dashboard,
    plant,
    staticUrl: site.content_url,
    flask: { url: flask.content_url },
    shiny,
  };
}

async function signedIn(
  browser: Browser,
  setup: Setup,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${setup.dashboard}/connect/`);
  await page.getByLabel("Username").fill("ada");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
  return { context, page };
}

type Outcome = Record<string, string | boolean>;

/** Opens the attack and waits for all its steps. */
async function runAttack(page: Page, url: string): Promise<Outcome> {
  await page.goto(url);
  await page.waitForFunction('JSON.parse(document.getElementById("result").textContent).done');
  return JSON.parse((await page.locator("#result").textContent())!);
}

/**
 * Whether the frame the attack inserted shows the dashboard (signed in, or asking to sign
 * in again: an attack that planted a second session cookie just before leaves it signed out).
 */
async function frameShowsDashboard(page: Page): Promise<boolean> {
  for (let i = 0; i < 600; i++) {
    const frame = page.frame({ name: "dashboard" });
    if (!frame) {
      await page.waitForTimeout(100);
      continue;
    }
    const url = frame.url();
    if (url.startsWith("chrome-error:")) return false;
    const shown = frame.getByRole("button", { name: /^(Sign out|Sign in)$/ });
    if ((await shown.count().catch(() => 0)) > 0) return true;
    await page.waitForTimeout(100);
  }
  await page.screenshot({ path: path.join(SCREENSHOTS, "isolation-frame-undecided.png") });
  throw new Error(
    `the frame neither loaded nor failed: ${page.frame({ name: "dashboard" })?.url()}`,
  );
}

/** Who the browser's cookies make the visitor in the API, asked from the dashboard itself. */
async function apiSees(page: Page, dashboard: string): Promise<string | number> {
  await page.goto(`${dashboard}/connect/`);
  return page.evaluate(async () => {
    const r = await fetch("/__api__/v1/user");
    return r.ok ? ((await r.json()) as { username: string }).username : r.status;
  });
}

/**
 * Serves a URL's real response to the browser without the named headers. The response is
 * fetched from the loopback server itself (the test's host names exist only in Chromium).
 */
async function without(context: BrowserContext, url: string | RegExp, names: string[]) {
  await context.route(url, async (route) => {
    const request = route.request();
    const real = await viaLoopback(request.url(), await request.allHeaders());
    for (const name of names) delete real.headers[name];
    await route.fulfill({ status: real.status, headers: real.headers, body: real.body });
  });
}

/** A GET of a URL on the test server, whatever host name the URL uses. */
function viaLoopback(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: "127.0.0.1",
        port: target.port,
        path: target.pathname + target.search,
        // Whole and uncompressed, so the body can be handed to the browser as it is.
        headers: {
          ...Object.fromEntries(
            Object.entries(headers).filter(([name]) => !name.startsWith("if-")),
          ),
          host: target.host,
          "accept-encoding": "identity",
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const flat: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined) flat[name] = Array.isArray(value) ? value.join("\n") : value;
          }
          resolve({ status: res.statusCode ?? 0, headers: flat, body: Buffer.concat(chunks) });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

async function environmentsNamedPwned(server: TestServer): Promise<number> {
  const list = (await server.call("GET", "/__api__/v1/environments")).body as { name: string }[];
  return list.filter((e) => e.name.startsWith("evil.example/pwned")).length;
}

describe.skipIf(skip)(
  "content cannot act as the administrator who opens it",
  { timeout: 180_000 },
  () => {
    let browser: Browser;
    beforeAll(async () => {
      ensureDashboardBuilt();
      browser = await launchBrowser([
        "--host-resolver-rules=MAP slipway.test 127.0.0.1, MAP *.content.test 127.0.0.1",
        // Chromium's own guard against pages reaching loopback would otherwise stop the
        // unprotected runs too (and hide whether Slipway's protections are what stops the
        // protected ones): it is off for both alike.
        "--disable-features=LocalNetworkAccessChecks,BlockInsecurePrivateNetworkRequests,PrivateNetworkAccessSendPreflights",
      ]);
    }, 120_000);
    afterAll(() => browser?.close());

    describe("beside the dashboard (the default)", () => {
      let setup: Setup;
      beforeAll(async () => {
        const server = await startTestServer("sqlite", (s) => {
          s.Python.SystemSitePackages = true;
          s.Python.FindLinks = [tmpdir()];
        });
        setup = await prepare(server, server.url, "", true);
      }, 600_000);
      afterAll(() => setup?.server.close());

      it("a static page is sandboxed: no API call, no token, no cookie, no framed dashboard", async () => {
        const { context, page } = await signedIn(browser, setup);
        const outcome = await runAttack(page, setup.staticUrl);
        expect(page.url()).toContain("/__pass__/");
        expect(outcome.user).toMatch(/^blocked/);
        expect(outcome.csrf).toMatch(/^blocked/);
        expect(outcome.create).toMatch(/^blocked/);
        expect(outcome.cookie).toBe("blocked: SecurityError");
        expect(await frameShowsDashboard(page)).toBe(false);
        await page.screenshot({ path: path.join(SCREENSHOTS, "isolation-static-sandboxed.png") });
        expect(await apiSees(page, setup.dashboard)).toBe("ada");
        expect(await environmentsNamedPwned(setup.server)).toBe(0);
        await context.close();
      });

      it("the same page without its sandbox, and a frameable dashboard, does all of it", async () => {
        const { context, page } = await signedIn(browser, setup);
        await page.goto(setup.staticUrl);
        const withPass = page.url();
        await without(context, withPass, ["content-security-policy"]);
        await without(context, `${setup.dashboard}/connect/`, [
          "x-frame-options",
          "content-security-policy",
        ]);
        const outcome = await runAttack(page, withPass);
        expect(outcome).toMatchObject({
          user: "ada",
          csrf: "read",
          create: "status 200",
          cookie: "written",
        });
        expect(await frameShowsDashboard(page)).toBe(true);
        expect(await environmentsNamedPwned(setup.server)).toBe(1);
        const planted = (await context.cookies()).filter((c) => c.name === "slipway_session");
        expect(planted.map((c) => c.value)).toContain(setup.plant);
        // Two session cookies now reach the API: it trusts neither, rather than the attacker's.
        expect(await apiSees(page, setup.dashboard)).toBe(401);
        await context.close();
      });

      it("an application may reach only its own content URL", async () => {
        const { context, page } = await signedIn(browser, setup);
        const outcome = await runAttack(page, `${setup.flask.url}attack`);
        expect(outcome.user).toMatch(/^blocked/);
        expect(outcome.csrf).toMatch(/^blocked/);
        expect(outcome.create).toMatch(/^blocked/);
        expect(outcome.bounce).toBe("status 502");
        expect(await frameShowsDashboard(page)).toBe(false);
        // Its script can write a cookie, but not over the HttpOnly session: the API never takes
        // the visitor for the attacker (over HTTP two cookies are refused; over HTTPS the
        // session cookie is __Host-, which no script can add a second of).
        expect(await apiSees(page, setup.dashboard)).not.toBe("pat");
        await context.close();

        const bypassed = await signedIn(browser, setup);
        await without(bypassed.context, `${setup.flask.url}attack`, ["content-security-policy"]);
        const open = await runAttack(bypassed.page, `${setup.flask.url}attack`);
        expect(open).toMatchObject({ user: "ada", csrf: "read", create: "status 200" });
        await bypassed.context.close();
      });

      it("an application's Set-Cookie for Slipway's session is dropped; around the proxy it takes over", async () => {
        const { context, page } = await signedIn(browser, setup);
        const response = await page.goto(`${setup.flask.url}plant`);
        expect(await response!.text()).toBe("planted");
        expect(response!.headers()["x-correlation-id"]).not.toBe("forged-by-the-app");
        const cookies = await context.cookies();
        expect(cookies.find((c) => c.name === "harmless")?.path).toBe(
          new URL(setup.flask.url).pathname,
        );
        expect(cookies.filter((c) => c.value === setup.plant)).toEqual([]);
        expect(await apiSees(page, setup.dashboard)).toBe("ada");
        await context.close();

        const bypassed = await signedIn(browser, setup);
        // Where the application listens now (it starts again on demand if it stopped).
        const port = await (
          await fetch(`${setup.flask.url}port`, {
            headers: { Authorization: `Key ${setup.server.keys.viewer}` },
          })
        ).text();
        await bypassed.context.route(`${setup.flask.url}plant`, async (route) => {
          const direct = await fetch(`http://127.0.0.1:${port}/plant`);
          await route.fulfill({
            status: direct.status,
            headers: { "set-cookie": direct.headers.getSetCookie().join("\n") },
            body: await direct.text(),
          });
        });
        await bypassed.page.goto(`${setup.flask.url}plant`);
        expect(await apiSees(bypassed.page, setup.dashboard)).toBe("pat");
        await bypassed.context.close();
      });

      it("a Flask application and a Shiny application still work", async () => {
        const { context, page } = await signedIn(browser, setup);
        await checkApplicationsWork(page, setup);
        await context.close();
      }, 300_000);
    });

    describe("on a content origin of its own: http://{guid}.content.test", () => {
      let setup: Setup;
      beforeAll(async () => {
        const port = await freePort();
        const server = await startTestServer("sqlite", (s) => {
          s.Server.Address = `127.0.0.1:${port}`;
          s.Server.DashboardOrigin = `http://slipway.test:${port}`;
          s.Server.ContentOrigin = `http://{guid}.content.test:${port}`;
          s.Python.SystemSitePackages = true;
          s.Python.FindLinks = [tmpdir()];
        });
        setup = await prepare(
          server,
          `http://slipway.test:${port}`,
          `http://slipway.test:${port}`,
          true,
        );
      }, 600_000);
      afterAll(() => setup?.server.close());

      it("content URLs point there, and the dashboard origin sends browsers there with a pass", async () => {
        expect(setup.staticUrl).toMatch(
          /^http:\/\/[0-9a-f-]{36}\.content\.test:\d+\/content\/[0-9a-f-]{36}\/$/,
        );
        const { context, page } = await signedIn(browser, setup);
        const onDashboard = setup.staticUrl.replace(/^http:\/\/[^/]+/, setup.dashboard);
        await page.goto(onDashboard);
        expect(new URL(page.url()).host).toBe(new URL(setup.staticUrl).host);
        // The dashboard's cookie was never sent to the content host.
        const cookies = await context.cookies(setup.staticUrl);
        expect(cookies.filter((c) => c.name.includes("slipway_session"))).toEqual([]);
        await context.close();
      });

      it("neither a page nor an application there can use the session, read the token or frame the dashboard", async () => {
        const { context, page } = await signedIn(browser, setup);
        for (const url of [setup.staticUrl, `${setup.flask.url}attack`]) {
          const outcome = await runAttack(page, url);
          expect(outcome.user, url).toMatch(/^blocked|^status 401/);
          expect(outcome.csrf, url).toMatch(/^blocked|^status 401/);
          expect(outcome.create, url).toMatch(/^blocked|^status 40[13]/);
          expect(await frameShowsDashboard(page), url).toBe(false);
        }
        // The application's own script could write cookies, for its own host only.
        expect(await apiSees(page, setup.dashboard)).toBe("ada");
        await page.goto(`${setup.flask.url}plant`);
        expect((await context.cookies(setup.dashboard)).map((c) => c.value)).not.toContain(
          setup.plant,
        );
        expect(await apiSees(page, setup.dashboard)).toBe("ada");
        expect(await environmentsNamedPwned(setup.server)).toBe(0);
        await context.close();
      });

      it("the same page served on the dashboard's origin instead does all of it", async () => {
        const { context, page } = await signedIn(browser, setup);
        const moved = `${setup.dashboard}/moved-attack`;
        await context.route(moved, (route) =>
          route.fulfill({ contentType: "text/html", body: attackPage("", setup.plant) }),
        );
        await without(context, `${setup.dashboard}/connect/`, [
          "x-frame-options",
          "content-security-policy",
        ]);
        const outcome = await runAttack(page, moved);
        expect(outcome).toMatchObject({
          user: "ada",
          csrf: "read",
          create: "status 200",
          cookie: "written",
        });
        expect(await frameShowsDashboard(page)).toBe(true);
        await context.close();
      });

      it("one content item cannot read another, whose host is not its own", async () => {
        const { context, page } = await signedIn(browser, setup);
        await page.goto(setup.flask.url);
        await page.getByRole("heading", { name: /Visits/ }).waitFor();
        const other = setup.staticUrl;
        const read = await page.evaluate(async (url) => {
          try {
            const r = await fetch(url, { credentials: "include" });
            return `read ${r.status}`;
          } catch (e) {
            return `blocked: ${(e as Error).name}`;
          }
        }, other);
        expect(read).toMatch(/^blocked/);
        const wrongHost = await statusWithHost(
          `${setup.server.url}${new URL(other).pathname}`,
          new URL(setup.flask.url).host,
          setup.server.keys.viewer,
        );
        expect(wrongHost).toBe(404);
        await context.close();
      });

      it("a Flask application and a Shiny application still work", async () => {
        const { context, page } = await signedIn(browser, setup);
        await checkApplicationsWork(page, setup);
        await context.close();
      }, 300_000);
    });
  },
);

async function checkApplicationsWork(page: Page, setup: Setup): Promise<void> {
  try {
    await applicationsWork(page, setup);
  } catch (error) {
    await page.screenshot({ path: path.join(SCREENSHOTS, "isolation-apps-failed.png") });
    throw error;
  }
}

async function applicationsWork(page: Page, setup: Setup): Promise<void> {
  await page.goto(setup.flask.url);
  await page.getByRole("heading", { name: "Visits: 1" }).waitFor();
  expect(await page.evaluate('getComputedStyle(document.querySelector("h1")).color')).toBe(
    "rgb(0, 128, 0)",
  );
  await page.reload();
  await page.getByRole("heading", { name: "Visits: 2" }).waitFor();
  await page.getByLabel("Who").fill("Ada");
  await page.getByRole("button", { name: "Greet" }).click();
  await page.locator("#hello").getByText("Hello, Ada").waitFor();

  await page.goto(setup.shiny!.url);
  const number = page.getByLabel("Number");
  await number.waitFor();
  await page.getByText("Double: 2").waitFor({ timeout: 60_000 });
  await number.fill("21");
  await page.getByText("Double: 42").waitFor({ timeout: 60_000 });
  await page.screenshot({
    path: path.join(SCREENSHOTS, `isolation-shiny-${new URL(page.url()).hostname}.png`),
  });
}

/** The status of a GET with a Host header of our choosing (fetch does not let one set it). */
function statusWithHost(url: string, host: string, key: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { headers: { Host: host, Authorization: `Key ${key}` } },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on("error", reject);
    req.end();
  });
}
