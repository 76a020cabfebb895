import { execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../support/cli.js";
import { createContent, deploy, manifestEntry, waitForTask } from "../support/deploy.js";
import { rCannot, rmarkdownMissing } from "../support/r-packages.js";
import { unavailable } from "../support/requirements.js";
import { startTestServer, type TestServer } from "../support/server.js";

const PYTHON = "/usr/bin/python3.11";
const noFlask = unavailable(
  "Deploy lifecycle tests",
  existsSync("/usr/lib/python3/dist-packages/flask")
    ? undefined
    : "Debian's python3-flask is not installed",
);
const noRmarkdown = unavailable("The R Markdown rendering tests", rmarkdownMissing());
const noRApps = unavailable(
  "The R application tests",
  rCannot(
    "library(shiny); library(plumber)",
    "Debian's r-cran-shiny and r-cran-plumber are not installed",
  ),
);

const APP =
  'from flask import Flask\napp = Flask(__name__)\n@app.get("/")\ndef hi():\n    return "v1"\n';
const manifest = (extra: object = {}) =>
  manifestEntry({
    metadata: { appmode: "python-api", entrypoint: "app:app" },
    python: { version: "3.11.2" },
    ...extra,
  });
const viewerGet = (server: TestServer, url: string) =>
  fetch(url, { headers: { Authorization: `Key ${server.keys.viewer}` } });

/** A CRAN-like repository on disk, holding one tiny package built by the test. */
const rRepository = path.join(tmpdir(), `slipway-cran-${process.pid}`);
async function buildRPackage(): Promise<void> {
  const source = await mkdtemp(path.join(tmpdir(), "slipway-rpkg-"));
  const pkg = path.join(source, "slipwaytestpkg");
  await mkdir(path.join(pkg, "R"), { recursive: true });
  await writeFile(
    path.join(pkg, "DESCRIPTION"),
    "Package: slipwaytestpkg\nVersion: 0.1.0\nTitle: Test\nDescription: A package for Slipway's tests.\nAuthor: Slipway\nMaintainer: Slipway <dev@slipway.invalid>\nLicense: MIT\n",
  );
  await writeFile(path.join(pkg, "NAMESPACE"), "export(answer)\n");
  await writeFile(path.join(pkg, "R", "answer.R"), "answer <- function() 42\n");
  const contrib = path.join(rRepository, "src", "contrib");
  await mkdir(contrib, { recursive: true });
  execFileSync("R", ["CMD", "build", "--no-build-vignettes", "--no-manual", pkg], {
    cwd: contrib,
    stdio: "ignore",
  });
  execFileSync(
    "Rscript",
    ["-e", `tools::write_PACKAGES(${JSON.stringify(contrib)}, type = "source")`],
    { stdio: "ignore" },
  );
}

describe.skipIf(noFlask)("content lifecycle on the local runner", () => {
  let server: TestServer;
  let first: string;
  let second: string;
  beforeAll(async () => {
    server = await startTestServer("sqlite", (s) => {
      s.Python.SystemSitePackages = true;
      s.Python.FindLinks = [tmpdir()];
      s.R.RepositoryURL = `file://${rRepository}`;
    });
    const python = { installations: [{ version: "3.11.2", path: PYTHON }] };
    first = (
      await server.call("POST", "/__api__/v1/environments", {
        body: { name: "py:first", cluster_name: "Local", python },
      })
    ).body.guid;
    second = (
      await server.call("POST", "/__api__/v1/environments", {
        body: {
          name: "py:second",
          cluster_name: "Local",
          python,
          r: { installations: [{ version: "4.2.2", path: "/usr/bin/R" }] },
        },
      })
    ).body.guid;
  });
  afterAll(() => server?.close());

  it("reuses a bundle's recorded environment on redeploy until the publisher changes the default", async () => {
    const item = await createContent(server, "sticky");
    const { bundleId } = await deploy(server, item.guid, [
      manifest(),
      { path: "app.py", content: APP },
    ]);
    expect(
      (await server.call("GET", `/__api__/v1/content/${item.guid}`)).body.environment_guid,
    ).toBe(first);

    // A leaner, newer catalog entry does not move content that already has a recorded pick.
    const redeploy = await server.call("POST", `/__api__/v1/content/${item.guid}/deploy`, {
      key: server.keys.publisher,
      body: { bundle_id: bundleId },
    });
    const again = await waitForTask(server, redeploy.body.task_id);
    expect(again.output.join("\n")).toContain(
      `Reusing the environment recorded for bundle ${bundleId}: py:first`,
    );

    await server.call("PATCH", `/__api__/v1/content/${item.guid}`, {
      key: server.keys.publisher,
      body: { default_environment_guid: second },
    });
    const rebuild = await server.call("POST", `/__api__/v1/content/${item.guid}/deploy`, {
      key: server.keys.publisher,
      body: {},
    });
    const rebuilt = await waitForTask(server, rebuild.body.task_id);
    expect(rebuilt.code).toBe(0);
    expect(rebuilt.output.join("\n")).toContain("chosen");
    expect((await server.call("GET", `/__api__/v1/content/${item.guid}`)).body).toMatchObject({
      environment_guid: second,
      image_name: "py:second",
    });
  });

  it("restarts an application that died, and stops it when the content is deleted", async () => {
    const item = await createContent(server, "phoenix");
    await deploy(server, item.guid, [manifest(), { path: "app.py", content: APP }]);
    expect(await (await viewerGet(server, item.content_url)).text()).toBe("v1");
    const pids = () =>
      execFileSync("pgrep", ["-f", `slipway_launch.py wsgi app:app`]).toString().trim().split("\n");
    const before = pids();
    for (const pid of before) process.kill(Number(pid), "SIGKILL");
    await sleep(200);
    expect(await (await viewerGet(server, item.content_url)).text()).toBe("v1");
    expect(await (await viewerGet(server, item.content_url)).text()).toBe("v1");

    const removed = await server.call("DELETE", `/__api__/v1/content/${item.guid}`, {
      key: server.keys.publisher,
    });
    expect(removed.status).toBe(204);
    expect((await viewerGet(server, item.content_url)).status).toBe(404);
  });

  it("builds without starting with the build endpoint", async () => {
    const item = await createContent(server, "build-only");
    const upload = await fetch(`${server.url}/__api__/v1/content/${item.guid}/bundles`, {
      method: "POST",
      headers: { Authorization: `Key ${server.keys.publisher}` },
      body: (await import("../support/bundles.js")).tarGz([
        manifest(),
        { path: "app.py", content: APP },
      ]),
    });
    const bundle = (await upload.json()) as { id: string };
    const started = await server.call("POST", `/__api__/v1/content/${item.guid}/build`, {
      key: server.keys.publisher,
      body: { bundle_id: bundle.id },
    });
    const task = await waitForTask(server, started.body.task_id);
    expect(task.code, task.output.join("\n")).toBe(0);
    expect(task.output.join("\n")).not.toContain("==> Starting");
    expect((await viewerGet(server, item.content_url)).status).toBe(404);
  });

  it.skipIf(noRmarkdown)("renders an R Markdown document and serves the result", async () => {
    await server.call("POST", "/__api__/v1/environments", {
      body: {
        name: "r:host",
        cluster_name: "Local",
        r: {
          installations: [
            {
              version: execFileSync("Rscript", [
                "-e",
                "cat(as.character(getRversion()))",
              ]).toString(),
              path: "/usr/lib/R/bin/R",
            },
          ],
        },
      },
    });
    const item = await createContent(server, "report");
    const { task } = await deploy(server, item.guid, [
      manifestEntry({ metadata: { appmode: "rmd-static", primary_rmd: "report.Rmd" } }),
      {
        path: "report.Rmd",
        content: "---\ntitle: Slipway report\n---\n\nThe answer is `r 6 * 7`.\n",
      },
    ]);
    expect(task.output.join("\n")).toContain("==> Rendering");
    expect(task.code, task.output.join("\n")).toBe(0);
    const page = await (await viewerGet(server, item.content_url)).text();
    expect(page).toContain("Slipway report");
    expect(page).toContain("The answer is 42.");
  });

  it.skipIf(noRmarkdown)(
    "installs a bundle's R packages from the repository into the image's library, once",
    async () => {
      await buildRPackage();
      const entries = [
        manifestEntry({
          metadata: { appmode: "rmd-static", primary_rmd: "uses.Rmd" },
          packages: {
            slipwaytestpkg: {
              Source: "CRAN",
              description: { Package: "slipwaytestpkg", Version: "0.1.0" },
            },
          },
        }),
        {
          path: "uses.Rmd",
          content:
            "---\ntitle: Uses a package\n---\n\nFrom the package: `r slipwaytestpkg::answer()`.\n",
        },
      ];
      const item = await createContent(server, "uses-package");
      const first = await deploy(server, item.guid, entries);
      expect(first.task.output.join("\n")).toContain("package cache miss");
      expect(first.task.code, first.task.output.join("\n")).toBe(0);
      expect(await (await viewerGet(server, item.content_url)).text()).toContain(
        "From the package: 42.",
      );
      const again = await deploy(server, item.guid, entries);
      expect(again.task.code).toBe(0);
      expect(again.task.output.join("\n")).toContain("package cache hit");
      expect(again.task.output.join("\n")).not.toContain("installing");
    },
  );

  it.skipIf(noRApps)("runs a plumber API and a Shiny app with R", async () => {
    const api = await createContent(server, "plumber-api");
    const plumbed = await deploy(server, api.guid, [
      manifestEntry({ metadata: { appmode: "api", entrypoint: "plumber.R" } }),
      {
        path: "plumber.R",
        content:
          "#* @get /sum\n#* @serializer unboxedJSON\nfunction(a, b) list(sum = as.numeric(a) + as.numeric(b))\n",
      },
    ]);
    expect(plumbed.task.code).toBe(0);
    expect(await (await viewerGet(server, `${api.content_url}sum?a=40&b=2`)).json()).toEqual({
      sum: 42,
    });

    const app = await createContent(server, "shiny-app");
    const shiny = await deploy(server, app.guid, [
      manifestEntry({ metadata: { appmode: "shiny" } }),
      {
        path: "app.R",
        content:
          'library(shiny)\nshinyApp(fluidPage(titlePanel("Slipway Shiny")), function(input, output) {})\n',
      },
    ]);
    expect(shiny.task.code).toBe(0);
    expect(await (await viewerGet(server, app.content_url)).text()).toContain("Slipway Shiny");
  });

  it("deploys a folder with slipway deploy, writing its manifest", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "slipway-cli-deploy-"));
    await writeFile(path.join(dir, "app.py"), APP.replace("v1", "from the CLI"));
    await writeFile(path.join(dir, "requirements.txt"), "flask\n");
    const result = await runCli(["deploy", dir, "--name", "cli-app", "--image", "py:first"], {
      CONNECT_SERVER: server.url,
      CONNECT_API_KEY: server.keys.publisher,
    });
    expect(result.stderr).toContain("Wrote");
    expect(result.stdout).toContain("==> Building");
    const url = /Deployed: (\S+)/.exec(result.stderr)?.[1];
    expect(url).toBeDefined();
    // New content is for its owner alone (acl), as in Connect.
    const owned = await fetch(url!, { headers: { Authorization: `Key ${server.keys.publisher}` } });
    expect(await owned.text()).toBe("from the CLI");
    expect((await viewerGet(server, url!)).status).toBe(403);
  });
});

describe.skipIf(noFlask)("a server restarted in the middle of a deploy", () => {
  it("fails the interrupted task with a reason and keeps the content and bundles", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "slipway-restart-"));
    const config = path.join(dir, "slipway.gcfg");
    const port = 20000 + Math.floor(Math.random() * 20000);
    await writeFile(
      config,
      `[Server]\nAddress = 127.0.0.1:${port}\nDataDir = ${dir}/data\n[Applications]\nHostEnvironment = false\n`,
    );
    const supervisor = path.join(dir, "slow-supervisor.sh");
    await writeFile(supervisor, '#!/bin/sh\nsleep 20\nexec "$@"\n');
    await chmod(supervisor, 0o755);

    const root = fileURLToPath(new URL("../..", import.meta.url));
    const start = () => {
      // node itself, not the tsx wrapper: killing it must kill the server, as a crash would.
      const child = spawn(
        process.execPath,
        ["--import", "tsx", `${root}src/cli/main.ts`, "server", "--config", config],
        {
          cwd: root,
          stdio: ["ignore", "ignore", "pipe"],
        },
      );
      let stderr = "";
      child.stderr.on("data", (d) => {
        stderr += d;
      });
      return { child, stderr: () => stderr };
    };
    const url = `http://127.0.0.1:${port}`;
    const ready = async () => {
      for (let i = 0; i < 200; i++) {
        if (
          await fetch(`${url}/__ping__`).then(
            (r) => r.ok,
            () => false,
          )
        )
          return;
        await sleep(100);
      }
      throw new Error("server did not start");
    };

    const first = start();
    await ready();
    const key = /API key is\s+(\S+)/.exec(first.stderr())![1]!;
    const call = async (method: string, p: string, body?: unknown) => {
      const r = await fetch(`${url}/__api__${p}`, {
        method,
        headers: {
          Authorization: `Key ${key}`,
          ...(body ? { "Content-Type": "application/json" } : {}),
        },
        body: body ? JSON.stringify(body) : undefined,
      });
      return (await r.json()) as Record<string, any>;
    };
    await call("POST", "/v1/environments", {
      name: "py:slow",
      cluster_name: "Local",
      supervisor,
      python: { installations: [{ version: "3.11.2", path: PYTHON }] },
    });
    const item = await call("POST", "/v1/content", { name: "interrupted" });
    const { tarGz } = await import("../support/bundles.js");
    const upload = await fetch(`${url}/__api__/v1/content/${item.guid}/bundles`, {
      method: "POST",
      headers: { Authorization: `Key ${key}` },
      body: tarGz([
        manifest(),
        { path: "app.py", content: APP },
        { path: "requirements.txt", content: "flask\n" },
      ]),
    });
    const bundle = (await upload.json()) as { id: string };
    const { task_id } = await call("POST", `/v1/content/${item.guid}/deploy`, {
      bundle_id: bundle.id,
    });
    for (
      let i = 0;
      i < 100 &&
      !(await call("GET", `/v1/tasks/${task_id}`)).output.join("\n").includes("==> Building");
      i++
    ) {
      await sleep(100);
    }
    first.child.kill("SIGKILL");
    await new Promise((r) => first.child.once("exit", r));

    const second = start();
    try {
      await ready();
      const task = await call("GET", `/v1/tasks/${task_id}`);
      expect(task).toMatchObject({ finished: true, code: 1 });
      expect(task.error).toContain("The server stopped while this task was running");
      expect((await call("GET", `/v1/content/${item.guid}`)).name).toBe("interrupted");
      const bundles = (await call("GET", `/v1/content/${item.guid}/bundles`)) as unknown as Array<{
        id: string;
      }>;
      expect(bundles.map((b) => b.id)).toEqual([bundle.id]);
    } finally {
      second.child.kill("SIGTERM");
      // The interrupted build's supervisor outlives the killed server; end it.
      spawn("pkill", ["-f", supervisor], { stdio: "ignore" });
    }
  }, 60_000);
});
