import { existsSync } from "node:fs";
import { chmod, mkdtemp, readdir } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tarGz } from "../support/bundles.js";
import { createContent, deploy, manifestEntry, upload } from "../support/deploy.js";
import { unavailable } from "../support/requirements.js";
import { startTestServer, type TestServer } from "../support/server.js";

const PYTHON = "/usr/bin/python3.11";
const noFlask = unavailable(
  "Python deploy tests",
  existsSync("/usr/lib/python3/dist-packages/flask")
    ? undefined
    : `${PYTHON} with Debian's python3-flask is not installed`,
);

const FLASK_APP = `from flask import Flask, request
app = Flask(__name__)

@app.get("/")
def hello():
    return {"hello": "slipway", "root": request.script_root}

@app.get("/headers")
def headers():
    return {"authorization": request.headers.get("Authorization"), "cookie": request.headers.get("Cookie")}
`;

const pythonManifest = (extra: object = {}) =>
  manifestEntry({
    metadata: { appmode: "python-api", entrypoint: "app:app" },
    python: {
      version: "3.11.2",
      package_manager: { name: "pip", package_file: "requirements.txt" },
    },
    ...extra,
  });

describe.skipIf(noFlask)("deploying on the local runner", () => {
  let server: TestServer;
  let environment: string;
  beforeAll(async () => {
    const wheels = await mkdtemp(path.join(tmpdir(), "slipway-wheels-"));
    // Builds run as the content account, which reads the wheelhouse as any other user would.
    await chmod(wheels, 0o755);
    server = await startTestServer("sqlite", (s) => {
      s.Python.FindLinks = [wheels];
      s.Python.SystemSitePackages = true;
    });
    const python = { installations: [{ version: "3.11.2", path: PYTHON }] };
    environment = (
      await server.call("POST", "/__api__/v1/environments", {
        body: { name: "debian-python:3.11", cluster_name: "Local", python },
      })
    ).body.guid;
    await server.call("POST", "/__api__/v1/environments", {
      body: { name: "special:1", cluster_name: "Local", matching: "exact", python },
    });
    await server.call("POST", "/__api__/v1/environments", {
      body: { name: "retired:1", cluster_name: "Local", matching: "none", python },
    });
  });
  afterAll(() => server?.close());

  it("deploys a Python API that answers at its content URL, recording the pick", async () => {
    const item = await createContent(server, "flask-api");
    const { task, bundleId } = await deploy(server, item.guid, [
      pythonManifest(),
      { path: "app.py", content: FLASK_APP },
      { path: "requirements.txt", content: "flask\n" },
    ]);
    expect(task.code).toBe(0);
    const log = task.output.join("\n");
    for (const phase of [
      "Reading manifest.json",
      "Selecting an execution environment",
      "Building",
      "Starting",
    ]) {
      expect(log).toMatch(new RegExp(`==> ${phase}[\\s\\S]*<== ${phase} \\(\\d+\\.\\d\\d s\\)`));
    }
    expect(log).toContain("chosen  python 3.11.2 (same version)");
    expect(log).toContain("Python package cache miss");

    const answer = await fetch(item.content_url, {
      headers: { Authorization: `Key ${server.keys.viewer}` },
    });
    expect((await answer.json()) as object).toEqual({
      hello: "slipway",
      root: `/content/${item.guid}`,
    });

    const content = (await server.call("GET", `/__api__/v1/content/${item.guid}`)).body;
    expect(content).toMatchObject({
      bundle_id: bundleId,
      app_mode: "python-api",
      image_name: "debian-python:3.11",
      environment_guid: environment,
      py_version: "3.11.2",
    });
    const bundle = (
      await server.call("GET", `/__api__/v1/content/${item.guid}/bundles/${bundleId}`)
    ).body;
    expect(bundle).toMatchObject({
      active: true,
      image_name: "debian-python:3.11",
      py_version: "3.11.2",
    });

    // Same dependencies again: the cache answers and pip never runs.
    const again = await deploy(server, item.guid, [
      pythonManifest(),
      { path: "app.py", content: FLASK_APP.replace("slipway", "again") },
      { path: "requirements.txt", content: "# same set\nflask\n\n" },
    ]);
    expect(again.task.code).toBe(0);
    expect(again.task.output.join("\n")).toContain("Python package cache hit");
    expect(again.task.output.join("\n")).not.toContain("pip install");
    const second = await fetch(item.content_url, {
      headers: { Authorization: `Key ${server.keys.viewer}` },
    });
    expect(((await second.json()) as { hello: string }).hello).toBe("again");
  });

  it("runs an ASGI (FastAPI) application under uvicorn", async () => {
    const item = await createContent(server, "fastapi-app");
    const { task } = await deploy(server, item.guid, [
      manifestEntry({
        metadata: { appmode: "python-fastapi", entrypoint: "main:app" },
        python: { version: "3.11.2" },
      }),
      {
        path: "main.py",
        content:
          'from fastapi import FastAPI\napp = FastAPI()\n@app.get("/items/{n}")\ndef item(n: int):\n    return {"n": n * 2}\n',
      },
    ]);
    expect(task.code).toBe(0);
    const answer = await fetch(`${item.content_url}items/21`, {
      headers: { Authorization: `Key ${server.keys.viewer}` },
    });
    expect((await answer.json()) as object).toEqual({ n: 42 });
  });

  it("runs with the interpreter as it is when the manifest turns environment management off", async () => {
    const item = await createContent(server, "unmanaged");
    const { task } = await deploy(server, item.guid, [
      pythonManifest({ environment: { environment_management: { python: false } } }),
      { path: "app.py", content: FLASK_APP },
      { path: "requirements.txt", content: "package-that-is-nowhere==9.9\n" },
    ]);
    expect(task.code).toBe(0);
    expect(task.output.join("\n")).toContain(
      `Python environment management is off: running with ${PYTHON} as it is.`,
    );
  });

  it("says clearly at deploy when an app mode cannot be run", async () => {
    const item = await createContent(server, "tensorflow");
    const { task } = await deploy(server, item.guid, [
      manifestEntry({
        metadata: { appmode: "tensorflow-saved-model" },
        python: { version: "3.11.2" },
      }),
    ]);
    expect(task.code).toBe(38);
    expect(task.error).toContain(
      'Slipway cannot run content of app mode "tensorflow-saved-model" yet',
    );
  });

  it("ends a failing build with the installer's output and a clear error", async () => {
    const item = await createContent(server, "broken-build");
    const { task } = await deploy(server, item.guid, [
      pythonManifest(),
      { path: "app.py", content: FLASK_APP },
      { path: "requirements.txt", content: "package-that-is-nowhere==9.9\n" },
    ]);
    expect(task.finished).toBe(true);
    expect(task.code).not.toBe(0);
    expect(task.error).toContain("The Python build failed: python-pip exited with code 1");
    expect(task.output.join("\n")).toContain("package-that-is-nowhere");
  });

  it("uses an exact environment only when the manifest pins it, and refuses a none one", async () => {
    const item = await createContent(server, "pinned-api");
    const pinned = await deploy(server, item.guid, [
      pythonManifest({ environment: { image: "special:1" } }),
      { path: "app.py", content: FLASK_APP },
    ]);
    expect(pinned.task.code).toBe(0);
    expect((await server.call("GET", `/__api__/v1/content/${item.guid}`)).body.image_name).toBe(
      "special:1",
    );

    const refused = await deploy(server, item.guid, [
      pythonManifest({ environment: { image: "retired:1" } }),
      { path: "app.py", content: FLASK_APP },
    ]);
    expect(refused.task.code).toBe(108);
    expect(refused.task.error).toContain("retired:1");
    expect((await server.call("GET", `/__api__/v1/content/${item.guid}`)).body.image_name).toBe(
      "special:1",
    );
  });

  it("serves static content without any environment", async () => {
    const item = await createContent(server, "static-site");
    const { task } = await deploy(server, item.guid, [
      manifestEntry({ metadata: { appmode: "static", primary_html: "index.html" } }),
      { path: "index.html", content: "<h1>static</h1>" },
    ]);
    expect(task.code).toBe(0);
    const page = await fetch(item.content_url, {
      headers: { Authorization: `Key ${server.keys.viewer}` },
    });
    expect(await page.text()).toBe("<h1>static</h1>");
    const anonymous = await fetch(item.content_url);
    expect(anonymous.status).toBe(401);
    // Paths sent as they are, not tidied by a client, must not climb out of the bundle.
    for (const climb of [
      "../../../../../../etc/passwd",
      "..%2f..%2f..%2f..%2f..%2f..%2fetc%2fpasswd",
    ]) {
      const body = await new Promise<string>((resolve, reject) => {
        const url = new URL(server.url);
        request(
          {
            host: url.hostname,
            port: url.port,
            path: `/content/${item.guid}/${climb}`,
            headers: { Authorization: `Key ${server.keys.viewer}` },
          },
          (response) => {
            let text = "";
            response.on("data", (chunk) => (text += chunk));
            response.on("end", () => resolve(`${response.statusCode} ${text}`));
          },
        )
          .on("error", reject)
          .end();
      });
      expect(body).not.toContain("root:");
    }
  });

  it("refuses a bundle with ../ paths and leaves nothing on disk", async () => {
    const item = await createContent(server, "evil-bundle");
    const refused = await upload(
      server,
      item.guid,
      tarGz([pythonManifest(), { path: "../../escape.txt", content: "x" }]),
    );
    expect(refused.status).toBe(400);
    expect(refused.body.error).toContain("points outside the bundle");
    expect((await server.call("GET", `/__api__/v1/content/${item.guid}/bundles`)).body).toEqual([]);
    const staging = path.join(server.settings.Server.DataDir, "staging");
    expect(existsSync(staging) ? await readdir(staging) : []).toEqual([]);
  });

  it("accepts uploads chunked without a length or type, and checks X-Content-Checksum", async () => {
    const item = await createContent(server, "chunked");
    const archive = tarGz([
      manifestEntry({ metadata: { appmode: "static" } }),
      { path: "index.html", content: "hi" },
    ]);
    const chunked = await fetch(`${server.url}/__api__/v1/content/${item.guid}/bundles`, {
      method: "POST",
      headers: { Authorization: `Key ${server.keys.publisher}` },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(archive.subarray(0, 10));
          controller.enqueue(archive.subarray(10));
          controller.close();
        },
      }),
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(200);
    const { createHash } = await import("node:crypto");
    const bad = await fetch(`${server.url}/__api__/v1/content/${item.guid}/bundles`, {
      method: "POST",
      headers: {
        Authorization: `Key ${server.keys.publisher}`,
        "X-Content-Checksum": "AAAAAAAAAAAAAAAAAAAAAA==",
      },
      body: archive,
    });
    expect(bad.status).toBe(400);
    const good = await fetch(`${server.url}/__api__/v1/content/${item.guid}/bundles`, {
      method: "POST",
      headers: {
        Authorization: `Key ${server.keys.publisher}`,
        "X-Content-Checksum": createHash("md5").update(archive).digest("base64"),
      },
      body: archive,
    });
    expect(good.status).toBe(200);
    const list = (await server.call("GET", `/__api__/v1/content/${item.guid}/bundles`)).body;
    const id = async (r: Response) => ((await r.json()) as { id: string }).id;
    expect(list.map((b: { id: string }) => b.id)).toEqual([await id(good), await id(chunked)]);
  });
});
