/**
 * Publishing end to end on the local runner, with real processes: an application reads the
 * environment variables set through the API, and a change restarts it with the new values.
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createContent, deploy, manifestEntry } from "../support/deploy.js";
import { unavailable } from "../support/requirements.js";
import { startTestServer, type TestServer } from "../support/server.js";

const PYTHON = "/usr/bin/python3.11";
const noFlask = unavailable(
  "Publishing end-to-end tests",
  existsSync("/usr/lib/python3/dist-packages/flask") && existsSync(PYTHON)
    ? undefined
    : "Debian's python3-flask (and python3.11) is not installed",
);

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

describe.skipIf(noFlask)("publishing on the local runner", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("sqlite", (s) => {
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
});
