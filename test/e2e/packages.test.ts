/**
 * Connect's packages and lockfile endpoints over what a real build installed: a wheel from a
 * local --find-links folder (never the internet) lands in the bundle's virtual environment,
 * and its name and version come back from /v1/packages, the content's packages and its lockfile.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createUser } from "../../src/users/accounts.js";
import { createContent, deploy, manifestEntry } from "../support/deploy.js";
import { unavailable } from "../support/requirements.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { STORE_DIALECTS } from "../support/stores.js";

const noFlask = unavailable(
  "Package listing tests",
  existsSync("/usr/lib/python3/dist-packages/flask")
    ? undefined
    : "Debian's python3-flask is not installed",
);

/** A minimal pure-Python wheel, written with the standard library's zipfile. */
function buildWheel(folder: string): void {
  const script = `
import sys, zipfile
name, version = "slipwaydemo", "1.2.3"
info = f"{name}-{version}.dist-info"
with zipfile.ZipFile(f"{sys.argv[1]}/{name}-{version}-py3-none-any.whl", "w") as wheel:
    wheel.writestr(f"{name}/__init__.py", "ANSWER = 42\\n")
    wheel.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\\nName: {name}\\nVersion: {version}\\n")
    wheel.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n")
    wheel.writestr(f"{info}/RECORD", "")
`;
  execFileSync("python3", ["-c", script, folder]);
}

describe.skipIf(noFlask).each(STORE_DIALECTS)("packages on %s", (dialect) => {
  let server: TestServer;
  let wheels: string;
  let guid: string;
  let bundleId: string;
  beforeAll(async () => {
    wheels = await mkdtemp(path.join(tmpdir(), "slipway-wheels-"));
    // Builds run as the content account, which reads the wheelhouse as any other user would.
    await chmod(wheels, 0o755);
    buildWheel(wheels);
    server = await startTestServer(dialect, (s) => {
      s.Python.SystemSitePackages = true;
      s.Python.FindLinks = [wheels];
    });
    await server.call("POST", "/__api__/v1/environments", {
      body: {
        name: "py:packages",
        cluster_name: "Local",
        python: { installations: [{ version: "3.11.2", path: "/usr/bin/python3.11" }] },
      },
    });
    const item = await createContent(server, "with-packages");
    guid = item.guid;
    const deployed = await deploy(server, guid, [
      manifestEntry({
        metadata: { appmode: "python-api", entrypoint: "app:app" },
        python: { version: "3.11.2" },
      }),
      {
        path: "app.py",
        content:
          'import slipwaydemo\nfrom flask import Flask\napp = Flask(__name__)\n@app.get("/")\ndef hi():\n    return str(slipwaydemo.ANSWER)\n',
      },
      { path: "requirements.txt", content: "slipwaydemo==1.2.3\n" },
    ]);
    expect(deployed.task.code).toBe(0);
    bundleId = deployed.bundleId;
  }, 180_000);
  afterAll(async () => {
    await server?.close();
    if (wheels) await rm(wheels, { recursive: true, force: true });
  });

  it("lists the content's installed packages, filtered as the clients ask", async () => {
    const listed = await server.call("GET", `/__api__/v1/content/${guid}/packages`, {
      key: server.keys.publisher,
    });
    expect(listed.status).toBe(200);
    expect(listed.body).toContainEqual({
      language: "python",
      language_version: "3.11.2",
      name: "slipwaydemo",
      version: "1.2.3",
      hash: null,
    });
    const filtered = await server.call(
      "GET",
      `/__api__/v1/content/${guid}/packages?name=slipwaydemo&language=python`,
      { key: server.keys.publisher },
    );
    expect(filtered.body).toHaveLength(1);
    const bad = await server.call("GET", `/__api__/v1/content/${guid}/packages?language=julia`, {
      key: server.keys.publisher,
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/language/);
    expect(
      (
        await server.call("GET", `/__api__/v1/content/${guid}/packages`, {
          key: server.keys.viewer,
        })
      ).status,
    ).toBe(403);
  });

  it("lists packages across content, paginated, to those who may see the content", async () => {
    const all = await server.call("GET", "/__api__/v1/packages?name=slipwaydemo", {
      key: server.keys.publisher,
    });
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ current_page: 1, total: 1 });
    expect(all.body.results[0]).toMatchObject({
      name: "slipwaydemo",
      version: "1.2.3",
      bundle_id: bundleId,
      app_guid: guid,
    });
    const paged = await server.call("GET", "/__api__/v1/packages?page_size=1&page_number=2");
    expect(paged.body.current_page).toBe(2);
    expect(paged.body.results.length).toBeLessThanOrEqual(1);
    expect(paged.body.total).toBeGreaterThanOrEqual(1);
    // Another publisher's view leaves this content out.
    const other = await createUser(server.server.store, "pia", "publisher");
    const theirs = await server.call("GET", "/__api__/v1/packages", { key: other.apiKey });
    expect(theirs.body).toEqual({ current_page: 1, total: 0, results: [] });
    expect(
      (await server.call("GET", "/__api__/v1/packages", { key: server.keys.viewer })).status,
    ).toBe(403);
  });

  it("writes a lockfile with the Generated-By header", async () => {
    const response = await fetch(`${server.url}/__api__/v1/content/${guid}/lockfile`, {
      headers: { Authorization: `Key ${server.keys.publisher}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("generated-by")).toMatch(/^slipway\//);
    expect(response.headers.get("content-disposition")).toContain("requirements.txt");
    expect(await response.text()).toContain("slipwaydemo==1.2.3\n");
    const none = await createContent(server, "never-built");
    const missing = await server.call("GET", `/__api__/v1/content/${none.guid}/lockfile`, {
      key: server.keys.publisher,
    });
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe(4);
  });
});
