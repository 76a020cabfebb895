/**
 * Content built and run in its environment's image, end to end: a real server on the Docker
 * runner (and on Podman through its Docker-compatible socket), a Debian image made from this
 * machine's own packages with Python and R under /opt, and the content-init image built from
 * this work tree. Everything the engine did is read back from the engine itself.
 */
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { debianImageUnavailable, ensureDebianImage } from "../support/debian-image.js";
import { createContent, deploy, manifestEntry } from "../support/deploy.js";
import {
  contentInitImage,
  engineAvailable,
  inPodman,
  PODMAN_SOCKET,
  podmanAvailable,
} from "../support/images.js";
import { unavailable } from "../support/requirements.js";
import { startTestServer, type TestServer } from "../support/server.js";

const missing = engineAvailable() ?? debianImageUnavailable();

const ENGINES = [
  { name: "Docker", socket: "/var/run/docker.sock", podman: false, missing },
  { name: "Podman", socket: PODMAN_SOCKET, podman: true, missing: missing ?? podmanAvailable() },
];

const FLASK_APP = `import os, socket
from flask import Flask, request
app = Flask(__name__)

@app.get("/")
def hello():
    caps = [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0]
    return {"hello": "container", "root": request.script_root, "host": socket.gethostname(), "pid": os.getpid(), "uid": os.getuid(), "caps": caps}
`;

const pythonApp = (mode: string, entrypoint: string, extra: object = {}) =>
  manifestEntry({
    metadata: { appmode: mode, entrypoint },
    python: { version: "3.11", package_manager: { name: "pip", package_file: "requirements.txt" } },
    ...extra,
  });

for (const engine of ENGINES) {
  describe.skipIf(unavailable(`Deploys in containers on ${engine.name}`, engine.missing))(
    `content in containers on ${engine.name}`,
    { timeout: 600_000 },
    () => {
      let server: TestServer;
      let docker: Docker;
      let image: string;

      beforeAll(async () => {
        const debian = ensureDebianImage();
        const init = contentInitImage();
        image = engine.podman ? inPodman(debian.name) : debian.name;
        const initImage = engine.podman ? inPodman(init) : init;
        docker = new Docker({ socketPath: engine.socket });
        const wheels = await mkdtemp(path.join(tmpdir(), "slipway-wheels-"));
        server = await startTestServer("sqlite", (s) => {
          s.Docker.Enabled = true;
          s.Docker.Host = engine.socket;
          s.Docker.InitContainerImage = initImage;
          s.Python.FindLinks = [wheels];
          s.Python.SystemSitePackages = true;
        });
        const created = await server.call("POST", "/__api__/v1/environments", {
          body: {
            name: image,
            title: "Debian bookworm",
            python: { installations: [debian.python] },
            r: { installations: [debian.r] },
          },
        });
        expect(created.status).toBe(200);
      }, 900_000);
      afterAll(() => server?.close());

      /** Containers the engine has for the content, by kind. */
      const containers = async (guid: string, kind = "run") =>
        docker.listContainers({
          all: true,
          filters: { label: [`io.slipway.content=${guid}`, `io.slipway.kind=${kind}`] },
        });
      const get = (url: string) =>
        fetch(url, { headers: { Authorization: `Key ${server.keys.viewer}` } });

      it("builds a Flask API in a container of the environment's image and serves it from another, unprivileged", async () => {
        const item = await createContent(server, "flask-in-a-container");
        const firstEvents = await watchCreated(docker, item.guid);
        const { task } = await deploy(server, item.guid, [
          pythonApp("python-api", "app:app"),
          { path: "app.py", content: FLASK_APP },
          { path: "requirements.txt", content: "flask\n" },
        ]);
        expect(task.code, task.output.join("\n")).toBe(0);
        const log = task.output.join("\n");
        expect(log).toContain("Python package cache miss");
        expect(log).toContain("Copied the runtime components");
        const response = await get(item.content_url);
        expect(response.status).toBe(200);
        const body = (await response.json()) as Record<string, unknown>;
        expect(body).toMatchObject({
          hello: "container",
          root: `/content/${item.guid}`,
          uid: 10001,
          caps: "0000000000000000",
        });

        // The engine's own record: the build containers came from the selected image.
        const created = await firstEvents.throughRun();
        const builds = created.filter((e) => e.kind === "build");
        expect(builds.length).toBeGreaterThanOrEqual(2);
        expect(new Set(builds.map((e) => e.image))).toEqual(new Set([image]));
        const [run] = await containers(item.guid);
        expect(run?.Image).toBe(image);
        const inspected = await docker.getContainer(run!.Id).inspect();
        expect(inspected.Config.User).toBe("10001:10001");
        expect(inspected.HostConfig.SecurityOpt).toContain("no-new-privileges");
        // Only the bundle, the image's cache and the runtime components, never the data folder.
        const mounts = inspected.Mounts.map((m) => [m.Destination, m.RW]);
        expect(mounts).toHaveLength(3);
        expect(mounts).toEqual(
          expect.arrayContaining([
            [
              `/slipway/data/content/${item.guid}/bundles/${run!.Labels["io.slipway.bundle"]}`,
              false,
            ],
            [expect.stringMatching(/^\/slipway\/data\/cache\/localhost_2fslipway-test/), false],
            ["/opt/slipway-runtime", false],
          ]),
        );

        // A redeploy with the same dependencies starts no build container and runs no installer.
        const againEvents = await watchCreated(docker, item.guid);
        const second = await deploy(server, item.guid, [
          pythonApp("python-api", "app:app"),
          { path: "app.py", content: FLASK_APP.replace('"container"', '"again"') },
          { path: "requirements.txt", content: "flask\n" },
        ]);
        expect(second.task.code).toBe(0);
        expect(second.task.output.join("\n")).toContain("Python package cache hit");
        expect((await againEvents.throughRun()).filter((e) => e.kind === "build")).toEqual([]);
        expect(((await (await get(item.content_url)).json()) as { hello: string }).hello).toBe(
          "again",
        );
      });

      it("runs a FastAPI application under uvicorn", async () => {
        const item = await createContent(server, "fastapi-in-a-container");
        const { task } = await deploy(server, item.guid, [
          pythonApp("python-fastapi", "main:app"),
          {
            path: "main.py",
            content:
              'from fastapi import FastAPI\napp = FastAPI()\n@app.get("/")\ndef root():\n    return {"served": "by uvicorn"}\n',
          },
        ]);
        expect(task.code, task.output.join("\n")).toBe(0);
        expect(await (await get(item.content_url)).json()).toEqual({ served: "by uvicorn" });
      });

      it("runs a Shiny app and a plumber API with R", async () => {
        const shiny = await createContent(server, "shiny-in-a-container");
        const shinyDeploy = await deploy(server, shiny.guid, [
          manifestEntry({ metadata: { appmode: "shiny" }, platform: "4.2.2" }),
          {
            path: "app.R",
            content:
              'library(shiny)\nshinyApp(fluidPage(h1("hello from shiny")), function(input, output) {})\n',
          },
        ]);
        expect(shinyDeploy.task.code, shinyDeploy.task.output.join("\n")).toBe(0);
        expect(await (await get(shiny.content_url)).text()).toContain("hello from shiny");

        const api = await createContent(server, "plumber-in-a-container");
        const apiDeploy = await deploy(server, api.guid, [
          manifestEntry({
            metadata: { appmode: "api", entrypoint: "plumber.R" },
            platform: "4.2.2",
          }),
          {
            path: "plumber.R",
            content: "#* @get /sum\nfunction(a, b) as.numeric(a) + as.numeric(b)\n",
          },
        ]);
        expect(apiDeploy.task.code, apiDeploy.task.output.join("\n")).toBe(0);
        expect(await (await get(`${api.content_url}sum?a=2&b=3`)).json()).toEqual([5]);
      });

      it("renders an R Markdown document and a Jupyter notebook, and serves them", async () => {
        const rmd = await createContent(server, "rmd-in-a-container");
        const rendered = await deploy(server, rmd.guid, [
          manifestEntry({
            metadata: { appmode: "rmd-static", primary_rmd: "report.Rmd" },
            platform: "4.2.2",
          }),
          {
            path: "report.Rmd",
            content: "---\ntitle: Report\n---\n\nTwo and two make `r 2 + 2`.\n",
          },
        ]);
        expect(rendered.task.code, rendered.task.output.join("\n")).toBe(0);
        expect(await (await get(rmd.content_url)).text()).toContain("Two and two make 4");

        const notebook = await createContent(server, "notebook-in-a-container");
        const cells = [
          {
            cell_type: "code",
            execution_count: null,
            metadata: {},
            outputs: [],
            source: ["print(6 * 7)"],
          },
        ];
        const nb = {
          cells,
          metadata: {
            kernelspec: { name: "python3", display_name: "Python 3", language: "python" },
          },
          nbformat: 4,
          nbformat_minor: 5,
        };
        const done = await deploy(server, notebook.guid, [
          pythonApp("jupyter-static", "notebook.ipynb", {
            python: {
              version: "3.11",
              package_manager: { name: "none", package_file: "requirements.txt" },
            },
          }),
          { path: "notebook.ipynb", content: JSON.stringify(nb) },
        ]);
        expect(done.task.code, done.task.output.join("\n")).toBe(0);
        expect(await (await get(notebook.content_url)).text()).toContain("42");
      });

      it("serves static content without starting anything", async () => {
        const item = await createContent(server, "static-in-a-container");
        const { task } = await deploy(server, item.guid, [
          manifestEntry({ metadata: { appmode: "static", primary_html: "index.html" } }),
          { path: "index.html", content: "<h1>static</h1>" },
        ]);
        expect(task.code).toBe(0);
        expect(await (await get(item.content_url)).text()).toBe("<h1>static</h1>");
        expect(await containers(item.guid)).toEqual([]);
      });
    },
  );
}

interface CreatedContainer {
  kind: string | undefined;
  image: string | undefined;
}

/**
 * The containers the engine creates for the content from now on, as its event stream tells
 * them (a stream opened before, not the event log read after: Podman's file log is rotated
 * under a busy suite). `throughRun` resolves once the creation of a run container is seen:
 * events come in order, so every build before it has been seen too.
 */
async function watchCreated(docker: Docker, guid: string) {
  const stream = (await docker.getEvents({
    filters: { type: ["container"], event: ["create"], label: [`io.slipway.content=${guid}`] },
  })) as NodeJS.ReadableStream & { destroy(): void };
  const seen: CreatedContainer[] = [];
  let text = "";
  let ranNow: (() => void) | undefined;
  const ran = new Promise<void>((resolve) => {
    ranNow = resolve;
  });
  stream.on("data", (chunk: Buffer) => {
    text += chunk.toString();
    const lines = text.split("\n");
    text = lines.pop()!;
    for (const line of lines.filter(Boolean)) {
      const { Actor } = JSON.parse(line) as { Actor: { Attributes: Record<string, string> } };
      seen.push({ kind: Actor.Attributes["io.slipway.kind"], image: Actor.Attributes.image });
      if (Actor.Attributes["io.slipway.kind"] === "run") ranNow!();
    }
  });
  return {
    throughRun: async () => {
      await ran;
      stream.destroy();
      return seen;
    },
  };
}
