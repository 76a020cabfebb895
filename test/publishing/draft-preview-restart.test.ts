/**
 * A draft's preview process outlives a server that is killed, as the live content's does: the
 * restarted server adopts it as the draft's (the same process answers the preview URL) and
 * never sends the live URL's visitors to it. Real processes, a real server process, both stores.
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tarGz } from "../support/bundles.js";
import { HOST_PYTHON, hostPythonVersion } from "../support/images.js";
import { unavailable } from "../support/requirements.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";
import { freshDatabase, STORE_DIALECTS, type TestDatabase } from "../support/stores.js";

const bundle = (text: string) =>
  tarGz([
    {
      path: "manifest.json",
      content: JSON.stringify({
        version: 1,
        metadata: { appmode: "python-api", entrypoint: "app:app" },
        python: { version: hostPythonVersion() },
      }),
    },
    {
      path: "app.py",
      content: [
        "import os",
        "def app(environ, start_response):",
        '    start_response("200 OK", [("Content-Type", "text/plain")])',
        `    return [f"${text} {os.getpid()}".encode()]`,
        "",
      ].join("\n"),
    },
  ]);

const noPython = existsSync(HOST_PYTHON) ? undefined : `${HOST_PYTHON} is not installed`;

describe.skipIf(unavailable("Draft preview restart tests", noPython)).each(STORE_DIALECTS)(
  "a draft previewed when the server is killed (%s)",
  (dialect) => {
    let database: TestDatabase;
    let server: ServerProcess;
    beforeAll(async () => {
      database = await freshDatabase(dialect);
      const store =
        dialect === "postgres"
          ? `[Database]\nProvider = postgres\n[Postgres]\nURL = ${database.settings.Postgres.URL}\n`
          : "";
      server = await startServerProcess(
        `[Applications]\nHostEnvironment = false\n[Scheduler]\nIdleTimeout = 3600\n${store}`,
      );
      const created = await server.call("POST", "/v1/environments", {
        name: "py:draft-restart",
        cluster_name: "Local",
        python: { installations: [{ version: hostPythonVersion(), path: HOST_PYTHON }] },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(200);
    }, 120_000);
    afterAll(async () => {
      await server?.stop();
      await database?.drop();
    });

    const get = async (url: string) => {
      const response = await fetch(url, { headers: { Authorization: `Key ${server.key}` } });
      return `${response.status} ${await response.text()}`;
    };

    it("is adopted as the draft's, and the live URL keeps serving the live bundle", async () => {
      const item = (await server.call("POST", "/v1/content", { name: "draft-restart" })).body;
      const live = await server.finished(await server.deploy(item.guid, bundle("live")));
      expect(live.code, live.output.join("\n")).toBe(0);
      const uploaded = await fetch(`${server.url}/__api__/v1/content/${item.guid}/bundles`, {
        method: "POST",
        headers: { Authorization: `Key ${server.key}` },
        body: bundle("draft"),
      });
      const draftId = ((await uploaded.json()) as { id: string }).id;
      const started = await server.call("POST", `/v1/content/${item.guid}/deploy`, {
        bundle_id: draftId,
        activate: false,
      });
      const drafted = await server.finished(started.body.task_id);
      expect(drafted.code, drafted.output.join("\n")).toBe(0);

      const previewUrl = `${server.url}/content/${item.guid}/_bundle${draftId}/`;
      const liveBefore = await get(item.content_url);
      const previewBefore = await get(previewUrl);
      expect(liveBefore).toMatch(/^200 live \d+$/);
      expect(previewBefore).toMatch(/^200 draft \d+$/);

      await server.kill();
      await server.restart();
      // The same two processes, each behind its own URL, however often they are asked.
      for (let i = 0; i < 5; i++) {
        expect(await get(item.content_url)).toBe(liveBefore);
        expect(await get(previewUrl)).toBe(previewBefore);
      }
      const jobs = (await server.call("GET", `/v1/content/${item.guid}/jobs`)).body as {
        bundle_id: string;
        tag: string;
        status: number;
      }[];
      const running = jobs.filter((j) => j.tag === "run_api" && j.status === 0);
      const liveId = (await server.call("GET", `/v1/content/${item.guid}`)).body.bundle_id;
      expect(running.map((j) => j.bundle_id).sort()).toEqual([liveId, draftId].sort());
    }, 240_000);
  },
);
