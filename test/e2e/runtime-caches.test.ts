/**
 * Connect's runtime caches over Slipway's package caches, as rsconnect-python and posit-sdk
 * call them: listed with sizes, deleted (dry run first) as a task, refused while a build
 * writes into one, and repopulated by the next build.
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createContent, deploy, manifestEntry, waitForTask } from "../support/deploy.js";
import { startForeignBuild } from "../support/foreign-build.js";
import { unavailable } from "../support/requirements.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { STORE_DIALECTS } from "../support/stores.js";

const noFlask = unavailable(
  "Runtime cache tests",
  existsSync("/usr/lib/python3/dist-packages/flask")
    ? undefined
    : "Debian's python3-flask is not installed",
);
const PATH = "/__api__/v1/system/caches/runtime";
const bundle = [
  manifestEntry({
    metadata: { appmode: "python-api", entrypoint: "app:app" },
    python: { version: "3.11.2" },
  }),
  {
    path: "app.py",
    content:
      'from flask import Flask\napp = Flask(__name__)\n@app.get("/")\ndef hi():\n    return "hi"\n',
  },
];
const target = { language: "Python", version: "3.11.2", image_name: "Local" };

describe.skipIf(noFlask).each(STORE_DIALECTS)("runtime caches on %s", (dialect) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(dialect, (s) => {
      s.Python.SystemSitePackages = true;
    });
    await server.call("POST", "/__api__/v1/environments", {
      body: {
        name: "py:caches",
        cluster_name: "Local",
        python: { installations: [{ version: "3.11.2", path: "/usr/bin/python3.11" }] },
      },
    });
  });
  afterAll(() => server?.close());

  it("lists a cache a build made, deletes it after a dry run, and rebuilds it", async () => {
    const item = await createContent(server, "cached");
    const first = await deploy(server, item.guid, bundle);
    expect(first.task.code).toBe(0);
    expect(first.task.output.join("\n")).toContain("Python package cache miss");

    const listed = await server.call("GET", PATH);
    expect(listed.status).toBe(200);
    expect(listed.body.caches).toHaveLength(1);
    const cache = listed.body.caches[0];
    expect(cache).toMatchObject({ ...target, entries: 1 });
    expect(cache.size_bytes).toBeGreaterThan(1000);

    // posit-sdk sends the listed cache back whole, with dry_run.
    const dry = await server.call("DELETE", PATH, { body: { ...cache, dry_run: true } });
    expect(dry.status).toBe(200);
    expect(dry.body).toEqual({ ...target, task_id: null });
    expect((await server.call("GET", PATH)).body.caches).toHaveLength(1);

    const removed = await server.call("DELETE", PATH, { body: { ...target, dry_run: false } });
    expect(removed.status).toBe(200);
    expect(removed.body).toMatchObject(target);
    const task = await waitForTask(server, removed.body.task_id, server.keys.administrator);
    expect(task.code).toBe(0);
    expect(task.output.join("\n")).toContain("Removing the Python 3.11.2 cache");
    expect((await server.call("GET", PATH)).body.caches).toEqual([]);

    const again = await server.call("DELETE", PATH, { body: target });
    expect(again.status).toBe(404);
    expect(again.body.code).toBe(4);
    expect(again.body.error).toContain("Cache does not exist");

    const rebuilt = await deploy(server, item.guid, bundle);
    expect(rebuilt.task.code).toBe(0);
    expect(rebuilt.task.output.join("\n")).toContain("Python package cache miss");
    expect((await server.call("GET", PATH)).body.caches).toMatchObject([{ ...target, entries: 1 }]);
    const answer = await fetch(`${server.url}/content/${item.guid}/`, {
      headers: { Authorization: `Key ${server.keys.viewer}` },
    });
    expect(await answer.text()).toBe("hi");
  }, 180_000);

  it("rebuilds what a restart of content running on a deleted cache needs, then starts it", async () => {
    const item = await createContent(server, "cache-restarted");
    const first = await deploy(server, item.guid, bundle);
    expect(first.task.code, first.task.output.join("\n")).toBe(0);
    const visit = () =>
      fetch(`${server.url}/content/${item.guid}/`, {
        headers: { Authorization: `Key ${server.keys.viewer}` },
      });
    expect(await (await visit()).text()).toBe("hi");
    const jobs = async (tag: string) =>
      (
        (
          await server.call("GET", `/__api__/v1/content/${item.guid}/jobs`, {
            key: server.keys.publisher,
          })
        ).body as { tag: string; status: number; key: string }[]
      ).filter((j) => j.tag === tag);
    const buildsBefore = (await jobs("python_restore")).length;
    const [running] = (await jobs("run_api")).filter((j) => j.status === 0);

    const removed = await server.call("DELETE", PATH, { body: target });
    expect(removed.status).toBe(200);
    expect((await waitForTask(server, removed.body.task_id, server.keys.administrator)).code).toBe(
      0,
    );
    expect((await server.call("GET", PATH)).body.caches).toEqual([]);

    // Its process stopped (the jobs API's DELETE), the next visit must start another.
    const stopped = await server.call(
      "DELETE",
      `/__api__/v1/content/${item.guid}/jobs/${running!.key}`,
      { key: server.keys.publisher },
    );
    expect(stopped.status).toBe(200);
    const answer = await visit();
    expect(`${answer.status} ${await answer.text()}`).toBe("200 hi");
    const now = (await jobs("run_api")).filter((j) => j.status === 0);
    expect(now.map((j) => j.key)).not.toContain(running!.key);
    expect((await jobs("python_restore")).length).toBe(buildsBefore + 1);
    expect((await server.call("GET", PATH)).body.caches).toMatchObject([{ ...target, entries: 1 }]);
  }, 180_000);

  it("refuses to delete a cache a running build writes into, naming its task", async () => {
    // A build of another server sharing the data volume: its task is unfinished in the store.
    const foreign = await startForeignBuild(server);
    const refused = await server.call("DELETE", PATH, { body: target });
    expect(refused.status).toBe(409);
    expect(refused.body.payload.task_ids).toEqual([foreign.taskId]);
    expect(refused.body.error).toContain("in use by a build");
    await foreign.finish();
    const removed = await server.call("DELETE", PATH, { body: { ...target, language: "python" } });
    expect(removed.status).toBe(200);
  });

  it("answers bad input and other roles in Connect's error shape", async () => {
    const unknown = await server.call("DELETE", PATH, { body: { ...target, language: "Julia" } });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ code: 25, payload: { field: "language" } });
    const missing = await server.call("DELETE", PATH, { body: { language: "Python" } });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatch(/version/);
    for (const key of [server.keys.publisher, server.keys.viewer]) {
      expect((await server.call("GET", PATH, { key })).status).toBe(403);
      expect((await server.call("DELETE", PATH, { key, body: target })).status).toBe(403);
    }
  });
});
