import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_TEST_TIMEOUT_MS, runCli } from "../support/cli.js";
import { startTestServer, type TestServer } from "../support/server.js";

const python = (version: string) => ({
  installations: [{ version, path: `/opt/python/${version}/bin/python3` }],
});
const manifest = (version: string, extra: object = {}) => ({
  version: 1,
  metadata: { appmode: "python-api", entrypoint: "app:app" },
  python: { version },
  ...extra,
});

describe("selection API and CLI", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let server: TestServer;
  let exact: string;
  beforeAll(async () => {
    server = await startTestServer();
    await server.call("POST", "/__api__/v1/environments", {
      body: { name: "org/py:3.10", python: python("3.10.12") },
    });
    await server.call("POST", "/__api__/v1/environments", {
      body: { name: "org/py:3.11", title: "Py 3.11", python: python("3.11.2") },
    });
    exact = (
      await server.call("POST", "/__api__/v1/environments", {
        body: { name: "org/special:1", matching: "exact", python: python("3.11.9") },
      })
    ).body.guid;
  });
  afterAll(() => server?.close());

  it("answers where a manifest would run and why, for publishers", async () => {
    const result = await server.call("POST", "/__api__/slipway/v1/selection", {
      key: server.keys.publisher,
      body: { manifest: manifest("3.11.7") },
    });
    expect(result.body).toMatchObject({
      ok: true,
      environment: { name: "org/py:3.11", title: "Py 3.11" },
      installations: { python: { version: "3.11.2", path: "/opt/python/3.11.2/bin/python3" } },
      error: null,
    });
    expect(
      result.body.explanation.map((c: { image: string; verdict: string; detail: string }) => [
        c.image,
        c.verdict,
        c.detail,
      ]),
    ).toEqual([
      ["org/py:3.10", "excluded", "python 3.10.12 not compatible with 3.11.7 (major-minor)"],
      ["org/py:3.11", "chosen", "python 3.11.2 (same major.minor, 5 older)"],
      ["org/special:1", "excluded", "exact and not requested"],
    ]);
    const viewer = await server.call("POST", "/__api__/slipway/v1/selection", {
      key: server.keys.viewer,
      body: { manifest: manifest("3.11.7") },
    });
    expect(viewer.status).toBe(403);
  });

  it("applies a content item's default environment and reports failures in the answer", async () => {
    const item = await server.call("POST", "/__api__/v1/content", { body: { name: "pinned" } });
    await server.call("PATCH", `/__api__/v1/content/${item.body.guid}`, {
      body: { default_environment_guid: exact },
    });
    const pinned = await server.call("POST", "/__api__/slipway/v1/selection", {
      body: { manifest: manifest("3.11.7"), content_guid: item.body.guid },
    });
    expect(pinned.body.environment.name).toBe("org/special:1");
    const none = await server.call("POST", "/__api__/slipway/v1/selection", {
      body: { manifest: manifest("3.9.1") },
    });
    expect(none.body).toMatchObject({
      ok: false,
      error: {
        code: 106,
        error:
          "Cannot find compatible environment: no compatible environment with Python version 3.9.1 (major-minor)",
      },
    });
    const bad = await server.call("POST", "/__api__/slipway/v1/selection", {
      body: { manifest: { metadata: {} } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe(38);
  });

  it("prints the pick and the explanation, online and offline", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "slipway-select-"));
    const file = path.join(dir, "manifest.json");
    await writeFile(file, JSON.stringify(manifest("3.10.4")));
    const online = await runCli(["select", file], {
      CONNECT_SERVER: server.url,
      CONNECT_API_KEY: server.keys.publisher,
    });
    expect(online.stdout).toContain("Selected org/py:3.10 (automatic");
    expect(online.stdout).toMatch(
      /org\/py:3\.11\s+excluded\s+python 3\.11\.2 not compatible with 3\.10\.4 \(major-minor\)/,
    );

    const catalog = path.join(dir, "environments.yaml");
    await writeFile(
      catalog,
      "- name: org/offline:1\n  python: [{version: 3.10.1, path: /usr/bin/python3}]\n",
    );
    const offline = await runCli(["select", file, "--environments", catalog, "--json"]);
    expect(JSON.parse(offline.stdout)).toMatchObject({
      ok: true,
      environment: { name: "org/offline:1" },
    });
    const failed = await runCli([
      "select",
      file,
      "--environments",
      catalog,
      "--python-version-matching",
      "exact",
    ]);
    expect(failed.code).toBe(2);
    expect(failed.stdout).toContain("No environment: Cannot find compatible environment");
  });
});
