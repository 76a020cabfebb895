/**
 * Deleting an environment that content uses: the clients' DELETE succeeds (204), but the
 * environment is only retired — out of every list, lookup and selection, while the app built
 * in it keeps serving (across a server restart too), and the next deploy selects again and
 * says which retired environment it left.
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tarGz } from "../support/bundles.js";
import { createContent, deploy, manifestEntry, upload, waitForTask } from "../support/deploy.js";
import { unavailable } from "../support/requirements.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { STORE_DIALECTS } from "../support/stores.js";

const PYTHON = "/usr/bin/python3.11";
const noFlask = unavailable(
  "Environment retirement tests",
  existsSync("/usr/lib/python3/dist-packages/flask")
    ? undefined
    : "Debian's python3-flask is not installed",
);

const app = (text: string) => ({
  path: "app.py",
  content: `from flask import Flask\napp = Flask(__name__)\n@app.get("/")\ndef hi():\n    return "${text}"\n`,
});
const manifest = manifestEntry({
  metadata: { appmode: "python-api", entrypoint: "app:app" },
  python: { version: "3.11.2" },
});
const python = { installations: [{ version: "3.11.2", path: PYTHON }] };

describe.skipIf(noFlask).each(STORE_DIALECTS)("retiring environments on %s", (dialect) => {
  let server: TestServer;
  const get = (path: string, key = server.keys.administrator) =>
    server.call("GET", `/__api__${path}`, { key });
  const createEnvironment = async (name: string, extra: object = {}) => {
    const created = await server.call("POST", "/__api__/v1/environments", {
      body: { name, cluster_name: "Local", python, ...extra },
    });
    expect(created.status).toBe(200);
    return created.body as { guid: string; id: string };
  };
  const served = async (url: string) => {
    const response = await fetch(url, { headers: { Authorization: `Key ${server.keys.viewer}` } });
    return `${response.status} ${await response.text()}`;
  };
  const redeploy = async (guid: string, bundleId: string) => {
    const started = await server.call("POST", `/__api__/v1/content/${guid}/deploy`, {
      key: server.keys.publisher,
      body: { bundle_id: bundleId },
    });
    expect(started.status).toBe(202);
    return waitForTask(server, started.body.task_id);
  };

  beforeAll(async () => {
    server = await startTestServer(dialect, (s) => {
      s.Python.SystemSitePackages = true;
    });
  });
  afterAll(() => server?.close());

  it("retires an environment in use on DELETE, keeps the app serving, and re-selects on the next deploy", async () => {
    const old = await createEnvironment("py:retiring", { matching: "any", title: "Old" });
    const item = await createContent(server, "retiree");
    const first = await deploy(server, item.guid, [manifest, app("v1")]);
    expect(first.task.code, first.task.output.join("\n")).toBe(0);
    // The server's port changes when it restarts.
    const url = () => `${server.url}/content/${item.guid}/`;
    expect(await served(url())).toBe("200 v1");

    const removed = await server.call("DELETE", `/__api__/v1/environments/${old.guid}`);
    expect(removed.status).toBe(204);

    // Hidden from Connect's API everywhere: list, lookup, edits and the runtime listings.
    expect((await get("/v1/environments")).body).toEqual([]);
    const lookup = await get(`/v1/environments/${old.guid}`);
    expect(lookup.status).toBe(404);
    expect(lookup.body.code).toBe(4);
    const edit = await server.call("PUT", `/__api__/v1/environments/${old.guid}`, {
      body: { title: "x" },
    });
    expect(edit.status).toBe(404);
    expect((await get("/v1/server_settings/python")).body.installations).toEqual([]);
    const again = await server.call("DELETE", `/__api__/v1/environments/${old.guid}`);
    expect(again.status).toBe(404);
    const selection = await server.call("POST", "/__api__/slipway/v1/selection", {
      key: server.keys.publisher,
      body: { content_guid: item.guid },
    });
    expect(selection.status).toBe(200);
    expect(selection.body.ok).toBe(false);
    expect(JSON.stringify(selection.body)).not.toContain(old.guid);

    // Shown by Slipway's own list, with matching forced to none and the old value kept.
    const retired = await get("/slipway/v1/environments/retired", server.keys.publisher);
    expect(retired.status).toBe(200);
    expect(retired.body).toHaveLength(1);
    expect(retired.body[0]).toMatchObject({
      guid: old.guid,
      id: old.id,
      name: "py:retiring",
      title: "Old",
      matching: "none",
      matching_before: "any",
      python,
    });
    expect(Date.parse(retired.body[0].retired_time)).not.toBeNaN();
    expect((await get("/slipway/v1/environments/retired", server.keys.viewer)).status).toBe(403);

    // The running app keeps its image and paths, and so does one started after a restart.
    expect(await served(url())).toBe("200 v1");
    await server.restart();
    expect(await served(url())).toBe("200 v1");

    // The image name is free again; a restore is refused while it is taken.
    const successor = await createEnvironment("py:retiring", { title: "New" });
    const blocked = await server.call(
      "POST",
      `/__api__/slipway/v1/environments/retired/${old.guid}/restore`,
    );
    expect(blocked.status).toBe(409);
    expect(blocked.body.code).toBe(175);
    expect(blocked.body.error).toContain("py:retiring");

    // Redeploying the same bundle leaves its recorded (retired) environment, saying so.
    const redeployed = await redeploy(item.guid, first.bundleId);
    expect(redeployed.code, redeployed.output.join("\n")).toBe(0);
    const log = redeployed.output.join("\n");
    expect(log).toContain(
      `The environment recorded for bundle ${first.bundleId}, py:retiring (${old.guid}), was retired at`,
    );
    expect(log).toContain(`The content last ran in py:retiring (${old.guid})`);
    expect((await get(`/v1/content/${item.guid}`)).body.environment_guid).toBe(successor.guid);
    expect(await served(url())).toBe("200 v1");

    // Only the successor is in use now; retiring it frees the name for the restore.
    expect((await server.call("DELETE", `/__api__/v1/environments/${successor.guid}`)).status).toBe(
      204,
    );
    const restored = await server.call(
      "POST",
      `/__api__/slipway/v1/environments/retired/${old.guid}/restore`,
    );
    expect(restored.status).toBe(200);
    expect(restored.body).toMatchObject({ guid: old.guid, id: old.id, matching: "any" });
    expect((await get(`/v1/environments/${old.guid}`)).body.title).toBe("Old");
    const leftRetired = (await get("/slipway/v1/environments/retired")).body;
    expect(leftRetired.map((e: { guid: string }) => e.guid)).toEqual([successor.guid]);

    // A fresh bundle selects from the catalog, naming the retired environment it ran in.
    const next = await deploy(server, item.guid, [manifest, app("v2")]);
    expect(next.task.code, next.task.output.join("\n")).toBe(0);
    expect(next.task.output.join("\n")).toContain(
      `The content last ran in py:retiring (${successor.guid})`,
    );
    expect((await get(`/v1/content/${item.guid}`)).body.environment_guid).toBe(old.guid);
    expect(await served(url())).toBe("200 v2");

    // force erases a retired environment for good.
    const erased = await server.call(
      "DELETE",
      `/__api__/v1/environments/${successor.guid}?force=true`,
    );
    expect(erased.status).toBe(204);
    expect((await get("/slipway/v1/environments/retired")).body).toEqual([]);
  });

  it("counts only activated bundles and defaults as use, and drops pins to retired environments", async () => {
    // A deploy that fails after selecting records the environment but activates nothing.
    const unused = await createEnvironment("py:failed-only");
    const failing = await createContent(server, "never-active");
    const bundle = await upload(
      server,
      failing.guid,
      tarGz([
        manifestEntry({
          metadata: { appmode: "python-bokeh", entrypoint: "app.py" },
          python: { version: "3.11.2" },
        }),
        { path: "app.py", content: "" },
      ]),
    );
    const started = await server.call("POST", `/__api__/v1/content/${failing.guid}/deploy`, {
      key: server.keys.publisher,
      body: { bundle_id: bundle.body.id },
    });
    const task = await waitForTask(server, started.body.task_id);
    expect(task.code).not.toBe(0);
    expect((await get(`/v1/content/${failing.guid}`)).body.bundle_id).toBeNull();
    expect((await server.call("DELETE", `/__api__/v1/environments/${unused.guid}`)).status).toBe(
      204,
    );
    const afterUnused = (await get("/slipway/v1/environments/retired")).body;
    expect(afterUnused.map((e: { guid: string }) => e.guid)).not.toContain(unused.guid);

    // A default pin is use: the environment is retired, and the next deploy ignores the pin.
    const pinned = await createEnvironment("py:pinned");
    const other = await createEnvironment("py:other");
    const item = await createContent(server, "pinned");
    const patched = await server.call("PATCH", `/__api__/v1/content/${item.guid}`, {
      key: server.keys.publisher,
      body: { default_environment_guid: pinned.guid },
    });
    expect(patched.status).toBe(200);
    expect((await server.call("DELETE", `/__api__/v1/environments/${pinned.guid}`)).status).toBe(
      204,
    );
    const retired = (await get("/slipway/v1/environments/retired")).body;
    expect(retired.map((e: { guid: string }) => e.guid)).toContain(pinned.guid);
    const deployed = await deploy(server, item.guid, [manifest, app("pinned")]);
    expect(deployed.task.code, deployed.task.output.join("\n")).toBe(0);
    expect(deployed.task.output.join("\n")).toContain(
      `The content's default environment py:pinned (${pinned.guid}) was retired at`,
    );
    const content = (await get(`/v1/content/${item.guid}`)).body;
    expect(content.environment_guid).not.toBe(pinned.guid);
    expect(content.environment_guid).toMatch(/^[0-9a-f-]{36}$/);
    expect((await get(`/v1/environments/${other.guid}`)).status).toBe(200);
  });

  it("keeps restore and erase to administrators and answers unknown guids with 404", async () => {
    const env = await createEnvironment("py:roles");
    const item = await createContent(server, "roles");
    await server.call("PATCH", `/__api__/v1/content/${item.guid}`, {
      key: server.keys.publisher,
      body: { default_environment_guid: env.guid },
    });
    const byPublisher = await server.call("DELETE", `/__api__/v1/environments/${env.guid}`, {
      key: server.keys.publisher,
    });
    expect(byPublisher.status).toBe(403);
    expect((await server.call("DELETE", `/__api__/v1/environments/${env.guid}`)).status).toBe(204);
    for (const [method, path] of [
      ["POST", `/__api__/slipway/v1/environments/retired/${env.guid}/restore`],
      ["DELETE", `/__api__/slipway/v1/environments/retired/${env.guid}`],
    ] as const) {
      const refused = await server.call(method, path, { key: server.keys.publisher });
      expect(refused.status).toBe(403);
    }
    const nobody = "00000000-0000-0000-0000-000000000000";
    for (const [method, path] of [
      ["POST", `/__api__/slipway/v1/environments/retired/${nobody}/restore`],
      ["DELETE", `/__api__/slipway/v1/environments/retired/${nobody}`],
      ["DELETE", `/__api__/v1/environments/${nobody}?force=true`],
    ] as const) {
      const missing = await server.call(method, path);
      expect(missing.status).toBe(404);
      expect(missing.body).toMatchObject({ code: 4, payload: { guid: nobody } });
    }
    const erased = await server.call(
      "DELETE",
      `/__api__/slipway/v1/environments/retired/${env.guid}`,
    );
    expect(erased.status).toBe(204);
    expect(
      (await get("/slipway/v1/environments/retired")).body.map((e: { guid: string }) => e.guid),
    ).not.toContain(env.guid);
  });
});
