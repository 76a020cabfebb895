/**
 * Publishing end to end on the local runner, with real processes: an application reads the
 * environment variables set through the API, and a change restarts it with the new values.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tarGz } from "../support/bundles.js";
import { createContent, deploy, manifestEntry, upload, waitForTask } from "../support/deploy.js";
import { rmarkdownMissing } from "../support/r-packages.js";
import { unavailable } from "../support/requirements.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { STORE_DIALECTS } from "../support/stores.js";

const PYTHON = "/usr/bin/python3.11";
const noFlask = unavailable(
  "Publishing end-to-end tests",
  existsSync("/usr/lib/python3/dist-packages/flask") && existsSync(PYTHON)
    ? undefined
    : "Debian's python3-flask (and python3.11) is not installed",
);

const noRmarkdown = unavailable("The re-render test", rmarkdownMissing());

const ENV_APP = [
  "import os",
  "from flask import Flask",
  "app = Flask(__name__)",
  '@app.get("/")',
  "def hi():",
  '    return os.environ.get("DB_URL", "unset") + "|" + os.environ.get("PYTHONDONTWRITEBYTECODE", "")',
  "",
].join("\n");
const manifest = () =>
  manifestEntry({
    metadata: { appmode: "python-api", entrypoint: "app:app" },
    python: { version: "3.11.2" },
  });

/** Polls until the content answers with the expected text: a restart takes a moment. */
async function waitForText(
  server: TestServer,
  url: string,
  expected: string,
  timeoutMs = 60_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const response = await fetch(url, { headers: { Authorization: `Key ${server.keys.viewer}` } });
    last = `${response.status} ${await response.text()}`;
    if (last === `200 ${expected}`) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return last;
}

describe.skipIf(noFlask).each(STORE_DIALECTS)("publishing on the local runner (%s)", (dialect) => {
  let server: TestServer;
  /** The first deploy's content, whose jobs include the build of the shared package cache. */
  let firstGuid = "";
  beforeAll(async () => {
    server = await startTestServer(dialect, (s) => {
      s.Python.SystemSitePackages = true;
    });
    await server.call("POST", "/__api__/v1/environments", {
      body: {
        name: "py:publishing",
        cluster_name: "Local",
        python: { installations: [{ version: "3.11.2", path: PYTHON }] },
      },
    });
  });
  afterAll(() => server?.close());

  it("runs an application with its environment variables and restarts it when they change", async () => {
    const item = await createContent(server, "env-app");
    firstGuid = item.guid;
    // rsconnect-python's `deploy -E DB_URL=...`: the variables are set before the deploy.
    const set = await server.call("PATCH", `/__api__/v1/content/${item.guid}/environment`, {
      key: server.keys.publisher,
      body: [
        { name: "DB_URL", value: "postgres://first" },
        { name: "PYTHONDONTWRITEBYTECODE", value: "overridden?" },
      ],
    });
    expect(set.status).toBe(200);
    const { task } = await deploy(server, item.guid, [
      manifest(),
      { path: "app.py", content: ENV_APP },
    ]);
    expect(task.code, task.output.join("\n")).toBe(0);
    expect(task.output.join("\n")).not.toContain("postgres://first");
    // Slipway's own variables win over the content's.
    expect(await waitForText(server, item.content_url, "postgres://first|1")).toBe(
      "200 postgres://first|1",
    );

    await server.call("PATCH", `/__api__/v1/content/${item.guid}/environment`, {
      key: server.keys.publisher,
      body: [{ name: "DB_URL", value: "postgres://second" }],
    });
    expect(await waitForText(server, item.content_url, "postgres://second|1")).toBe(
      "200 postgres://second|1",
    );
    const logs = await server.call("GET", `/__api__/v1/content/${item.guid}`, {
      key: server.keys.publisher,
    });
    expect(JSON.stringify(logs.body)).not.toContain("postgres://");
  }, 180_000);

  it("lists builds and processes as jobs with their logs, stops one, and shows processes to administrators", async () => {
    const item = await createContent(server, "jobs-app");
    const streams = [
      "import sys",
      'print("jobs-app says hello on stdout", flush=True)',
      'print("jobs-app warns on stderr", file=sys.stderr, flush=True)',
      "",
    ].join("\n");
    const { task } = await deploy(server, item.guid, [
      manifest(),
      { path: "app.py", content: streams + ENV_APP },
    ]);
    expect(task.code, task.output.join("\n")).toBe(0);
    const jobsUrl = `/__api__/v1/content/${item.guid}/jobs`;
    const listed = await server.call("GET", jobsUrl, { key: server.keys.publisher });
    expect(listed.status).toBe(200);
    const run = listed.body.find((j: { tag: string }) => j.tag === "run_api");
    // The build ran for the first deploy; this one found its environment in the cache.
    const builds = await server.call("GET", `/__api__/v1/content/${firstGuid}/jobs`, {
      key: server.keys.publisher,
    });
    const build = builds.body.find((j: { tag: string }) => j.tag === "python_restore");
    expect(run).toMatchObject({
      key: expect.any(String),
      app_guid: item.guid,
      content_guid: item.guid,
      status: 0,
      exit_code: null,
      end_time: null,
      pid: expect.stringMatching(/^\d+$/),
      hostname: expect.any(String),
      cluster: "local",
    });
    expect(build).toMatchObject({ status: 1, exit_code: 0, end_time: expect.any(String) });
    const one = await server.call("GET", `${jobsUrl}/${run.key}`, { key: server.keys.publisher });
    expect(one.body).toEqual(run);

    // The process's output, as Connect's log entries, each line with the stream it came from.
    await waitForText(server, item.content_url, "unset|1");
    type Entry = { source: string; timestamp: string; data: string };
    const ours = (entries: Entry[]) => entries.filter((e) => e.data.startsWith("jobs-app "));
    let log = { status: 0, body: { entries: [] as Entry[] } };
    for (let i = 0; i < 300 && ours(log.body.entries).length < 2; i++) {
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      log = await server.call("GET", `${jobsUrl}/${run.key}/log?maxLogLines=200`, {
        key: server.keys.publisher,
      });
    }
    expect(log.status).toBe(200);
    expect(ours(log.body.entries)).toEqual([
      {
        source: "stdout",
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        data: "jobs-app says hello on stdout",
      },
      {
        source: "stderr",
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        data: "jobs-app warns on stderr",
      },
    ]);

    const procs = await server.call("GET", "/__api__/metrics/procs", {
      key: server.keys.administrator,
    });
    expect(procs.status).toBe(200);
    const proc = procs.body.find((p: { key: string }) => p.key === run.key);
    expect(proc).toMatchObject({ appGuid: item.guid, appName: "jobs-app", pid: run.pid });
    expect(proc.ram).toBeGreaterThan(0);
    expect(
      (await server.call("GET", "/__api__/metrics/procs", { key: server.keys.publisher })).status,
    ).toBe(403);

    // Viewers never see jobs; a key of another content item is not found here.
    expect((await server.call("GET", jobsUrl, { key: server.keys.viewer })).status).toBe(403);
    const other = await createContent(server, "jobs-other");
    const elsewhere = await server.call(
      "GET",
      `/__api__/v1/content/${other.guid}/jobs/${run.key}`,
      {
        key: server.keys.publisher,
      },
    );
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.body.payload).toEqual({ key: run.key });
    expect(
      (await server.call("DELETE", `${jobsUrl}/nope`, { key: server.keys.publisher })).status,
    ).toBe(404);
    expect(
      (await server.call("DELETE", `${jobsUrl}/${run.key}`, { key: server.keys.viewer })).status,
    ).toBe(403);

    const stopped = await server.call("DELETE", `${jobsUrl}/${run.key}`, {
      key: server.keys.publisher,
    });
    expect(stopped).toMatchObject({
      status: 200,
      body: { job_key: run.key, app_guid: item.guid, result: "Order to kill job registered" },
    });
    const after = await server.call("GET", `${jobsUrl}/${run.key}`, { key: server.keys.publisher });
    expect(after.body).toMatchObject({ status: 1, end_time: expect.any(String) });
    // The next request starts another process.
    expect(await waitForText(server, item.content_url, "unset|1")).toBe("200 unset|1");
    const again = await server.call("GET", jobsUrl, { key: server.keys.publisher });
    expect(
      again.body.filter(
        (j: { tag: string; status: number }) => j.tag === "run_api" && j.status === 0,
      ),
    ).toHaveLength(1);
  }, 180_000);

  it("builds a draft without touching the live content, previews it, then activates it", async () => {
    const item = await createContent(server, "drafted");
    const app = (text: string) =>
      `from flask import Flask\napp = Flask(__name__)\n@app.get("/")\ndef hi():\n    return "${text}"\n`;
    const live = await deploy(server, item.guid, [
      manifest(),
      { path: "app.py", content: app("v1") },
    ]);
    expect(live.task.code).toBe(0);
    const before = (await server.call("GET", `/__api__/v1/content/${item.guid}`)).body;

    const uploaded = await upload(
      server,
      item.guid,
      tarGz([manifest(), { path: "app.py", content: app("v2-draft") }]),
    );
    const draftId = uploaded.body.id as string;
    const started = await server.call("POST", `/__api__/v1/content/${item.guid}/deploy`, {
      key: server.keys.publisher,
      body: { bundle_id: draftId, activate: false },
    });
    const task = await waitForTask(server, started.body.task_id);
    expect(task.code, task.output.join("\n")).toBe(0);
    expect(task.output.join("\n")).toContain(`_bundle${draftId}/`);

    // The live content is as it was: same bundle, same recorded environment, same answer.
    const after = (await server.call("GET", `/__api__/v1/content/${item.guid}`)).body;
    expect(after).toMatchObject({
      bundle_id: before.bundle_id,
      environment_guid: before.environment_guid,
      last_deployed_time: before.last_deployed_time,
    });
    expect(await waitForText(server, item.content_url, "v1")).toBe("200 v1");
    const bundles = await server.call("GET", `/__api__/v1/content/${item.guid}/bundles`, {
      key: server.keys.publisher,
    });
    expect(bundles.body.find((b: { id: string }) => b.id === draftId).active).toBe(false);

    // The preview serves the draft to the owner, never to viewers.
    const preview = `${server.url}/content/${item.guid}/_bundle${draftId}/`;
    const owner = await fetch(preview, {
      headers: { Authorization: `Key ${server.keys.publisher}` },
    });
    expect(`${owner.status} ${await owner.text()}`).toBe("200 v2-draft");
    const bare = await fetch(`${server.url}/content/${item.guid}/_bundle${draftId}`, {
      headers: { Authorization: `Key ${server.keys.publisher}` },
      redirect: "manual",
    });
    expect(bare.status).toBe(302);
    expect(bare.headers.get("location")).toBe(`/content/${item.guid}/_bundle${draftId}/`);
    const viewer = await fetch(preview, {
      headers: { Authorization: `Key ${server.keys.viewer}` },
    });
    expect(viewer.status).toBe(403);
    expect(await viewer.json()).toMatchObject({ code: 22 });
    // A bundle of another content item, or none at all, is not found here.
    const other = await createContent(server, "drafted-other");
    const otherBundle = await upload(
      server,
      other.guid,
      tarGz([manifest(), { path: "app.py", content: app("x") }]),
    );
    for (const id of [otherBundle.body.id, "999999"]) {
      const wrong = await fetch(`${server.url}/content/${item.guid}/_bundle${id}/`, {
        headers: { Authorization: `Key ${server.keys.publisher}` },
      });
      expect(wrong.status).toBe(404);
      expect(await wrong.json()).toMatchObject({ code: 4, payload: { bundle_id: String(id) } });
    }
    expect(await waitForText(server, item.content_url, "v1")).toBe("200 v1");

    // Activating the draft (rsconnect's second deploy, activate: true) switches the live URL.
    const activate = await server.call("POST", `/__api__/v1/content/${item.guid}/deploy`, {
      key: server.keys.publisher,
      body: { bundle_id: draftId, activate: true },
    });
    expect((await waitForTask(server, activate.body.task_id)).code).toBe(0);
    expect(await waitForText(server, item.content_url, "v2-draft")).toBe("200 v2-draft");
    expect((await server.call("GET", `/__api__/v1/content/${item.guid}`)).body.bundle_id).toBe(
      draftId,
    );
    // The old bundle's process goes; the preview's process is the live one now.
    const running = async () =>
      (
        await server.call("GET", `/__api__/v1/content/${item.guid}/jobs`, {
          key: server.keys.publisher,
        })
      ).body
        .filter((j: { tag: string; status: number }) => j.tag === "run_api" && j.status === 0)
        .map((j: { bundle_id: string }) => j.bundle_id);
    const deadline = Date.now() + 60_000;
    while ((await running()).length > 1 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await running()).toEqual([draftId]);
  }, 180_000);

  it.skipIf(noRmarkdown)(
    "renders a document again on request, as posit-sdk's render() asks, with its variables",
    async () => {
      await server.call("POST", "/__api__/v1/environments", {
        body: {
          name: "r:publishing",
          cluster_name: "Local",
          r: {
            installations: [
              {
                version: execFileSync("Rscript", ["-e", "cat(as.character(getRversion()))"])
                  .toString()
                  .trim(),
                path: "/usr/lib/R/bin/R",
              },
            ],
          },
        },
      });
      const item = await createContent(server, "rerendered");
      const env = `/__api__/v1/content/${item.guid}/environment`;
      await server.call("PATCH", env, {
        key: server.keys.publisher,
        body: [{ name: "REPORT_WORD", value: "first" }],
      });
      const { task } = await deploy(server, item.guid, [
        manifestEntry({ metadata: { appmode: "rmd-static", primary_rmd: "report.Rmd" } }),
        {
          path: "report.Rmd",
          content: '---\ntitle: Word\n---\n\nThe word is `r Sys.getenv("REPORT_WORD")`.\n',
        },
      ]);
      expect(task.code, task.output.join("\n")).toBe(0);
      const page = async () =>
        (
          await fetch(item.content_url, {
            headers: { Authorization: `Key ${server.keys.viewer}` },
          })
        ).text();
      expect(await page()).toContain("The word is first.");

      await server.call("PATCH", env, {
        key: server.keys.publisher,
        body: [{ name: "REPORT_WORD", value: "second" }],
      });
      const variants = await server.call("GET", `/__api__/applications/${item.guid}/variants`, {
        key: server.keys.publisher,
      });
      expect(variants.status).toBe(200);
      const variant = variants.body.find((v: { is_default: boolean }) => v.is_default);
      expect(variant).toMatchObject({ id: expect.any(String), is_default: true });
      expect(
        (
          await server.call("POST", `/__api__/variants/${variant.id}/render`, {
            key: server.keys.viewer,
          })
        ).status,
      ).toBe(403);
      const render = await server.call("POST", `/__api__/variants/${variant.id}/render`, {
        key: server.keys.publisher,
      });
      expect(render.status).toBe(200);
      expect(render.body).toMatchObject({ id: expect.any(String), finished: expect.any(Boolean) });
      const rendered = await waitForTask(server, render.body.id);
      expect(rendered.code, rendered.output.join("\n")).toBe(0);
      expect(await page()).toContain("The word is second.");

      // An application is restarted, not rendered.
      const appItem = await createContent(server, "not-rendered");
      await deploy(server, appItem.guid, [manifest(), { path: "app.py", content: ENV_APP }]);
      const refused = await server.call("POST", `/__api__/variants/${appItem.guid}/render`, {
        key: server.keys.publisher,
      });
      expect(refused.status).toBe(400);
      expect(refused.body.error).toContain("not rendered");
      const missing = await server.call(
        "POST",
        "/__api__/variants/00000000-0000-0000-0000-000000000000/render",
        { key: server.keys.publisher },
      );
      expect(missing.status).toBe(404);
    },
    180_000,
  );

  it("restarts an application the way posit-sdk's restart() does: a variable set and removed", async () => {
    const item = await createContent(server, "restarted");
    await deploy(server, item.guid, [manifest(), { path: "app.py", content: ENV_APP }]);
    expect(await waitForText(server, item.content_url, "unset|1")).toBe("200 unset|1");
    const active = async () =>
      (
        await server.call("GET", `/__api__/v1/content/${item.guid}/jobs`, {
          key: server.keys.publisher,
        })
      ).body
        .filter((j: { tag: string; status: number }) => j.tag === "run_api" && j.status === 0)
        .map((j: { key: string }) => j.key);
    const [before] = await active();
    const env = `/__api__/v1/content/${item.guid}/environment`;
    const key = `_CONNECT_RESTART_TMP_${Math.floor(Date.now() / 1000)}`;
    await server.call("PATCH", env, {
      key: server.keys.publisher,
      body: [{ name: key, value: "1" }],
    });
    await server.call("PATCH", env, {
      key: server.keys.publisher,
      body: [{ name: key, value: null }],
    });
    // posit-sdk then requests the content once, which starts the new process.
    expect(await waitForText(server, item.content_url, "unset|1")).toBe("200 unset|1");
    const deadline = Date.now() + 60_000;
    let now = await active();
    while ((now.length !== 1 || now[0] === before) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      now = await active();
    }
    expect(now).toHaveLength(1);
    expect(now[0]).not.toBe(before);
    expect(await server.call("GET", env, { key: server.keys.publisher })).toMatchObject({
      body: [],
    });
  }, 180_000);
});
