/**
 * Applications in containers over their lifetime, on a real Docker engine: images pulled (or
 * not) from a registry, processes stopped when idle and started on the next request, kept warm,
 * multiplied under load, held to their memory limit, removed with their content, and adopted by
 * a server that was killed and started again.
 */
import { setTimeout as sleep } from "node:timers/promises";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TarEntry, tarGz } from "../support/bundles.js";
import { debianImageUnavailable, ensureDebianImage } from "../support/debian-image.js";
import { createContent, deploy, manifestEntry } from "../support/deploy.js";
import {
  contentInitImage,
  engineAvailable,
  hostPythonVersion,
  registryImage,
} from "../support/images.js";
import { unavailable } from "../support/requirements.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { startServerProcess } from "../support/server-process.js";

/** Answers with a token of its own process: containers on the host's network share its name. */
const WSGI_APP = `import os, time
TOKEN = os.urandom(8).hex().encode()
def app(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(1.5)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [TOKEN]
`;

/** An app that runs the image's own Python: no build, so each test is about the run. */
const app = (extra: TarEntry[] = []): TarEntry[] => [
  manifestEntry({
    metadata: { appmode: "python-api", entrypoint: "app:app" },
    python: { version: "3.11" },
    environment: { environment_management: { python: false } },
  }),
  { path: "app.py", content: WSGI_APP },
  ...extra,
];

const skip = unavailable(
  "Application lifecycles in containers",
  engineAvailable() ?? debianImageUnavailable(),
);

describe.skipIf(skip)(
  "applications in containers over their lifetime",
  { timeout: 600_000 },
  () => {
    const docker = new Docker({ socketPath: "/var/run/docker.sock" });
    let server: TestServer;
    let initImage: string;
    let debian: ReturnType<typeof ensureDebianImage>;

    beforeAll(async () => {
      debian = ensureDebianImage();
      initImage = contentInitImage();
      server = await startTestServer("sqlite", (s) => {
        s.Docker.Enabled = true;
        s.Docker.InitContainerImage = initImage;
      });
      await addEnvironment(server, debian.name, debian.python);
    }, 900_000);
    afterAll(() => server?.close());

    const runContainers = (guid: string) =>
      docker.listContainers({
        all: true,
        filters: { label: [`io.slipway.content=${guid}`, "io.slipway.kind=run"] },
      });
    const get = (url: string) =>
      fetch(url, { headers: { Authorization: `Key ${server.keys.viewer}` } });
    const settle = async (condition: () => Promise<boolean>, what: string) => {
      for (let i = 0; i < 1200; i++) {
        if (await condition()) return;
        await sleep(100);
      }
      throw new Error(`gave up waiting for ${what}`);
    };
    const patch = (guid: string, body: object) =>
      server.call("PATCH", `/__api__/v1/content/${guid}`, { key: server.keys.publisher, body });

    it("pulls an image the engine lacks from the registry, with progress in the deploy's log", async () => {
      const image = registryImage("full");
      if (!image) {
        unavailable("The pull test", "no registry answers on 127.0.0.1:5000");
        return;
      }
      await addEnvironment(server, image, {
        version: hostPythonVersion(),
        path: `/opt/python/${hostPythonVersion()}/bin/python3`,
      });
      const item = await createContent(server, "pulled");
      await patch(item.guid, { default_image_name: image });
      const { task } = await deploy(server, item.guid, app());
      const log = task.output.join("\n");
      expect(task.code, log).toBe(0);
      expect(log).toContain(`Pulling ${image}`);
      expect(log).toMatch(new RegExp(`Pulled ${image.replace(/[.:/]/g, "\\$&")} in \\d+\\.\\d s`));
      expect((await get(item.content_url)).status).toBe(200);
    });

    it("fails at once, with the registry's own words, when the image cannot be pulled", async () => {
      for (const [image, words] of [
        ["127.0.0.1:5000/slipway-test/absent:1", /manifest unknown|not found/i],
        ["127.0.0.1:9/slipway-test/unreachable:1", /connection refused|dial tcp/i],
      ] as const) {
        await addEnvironment(server, image, debian.python);
        const item = await createContent(server, `unpullable-${image.includes(":9/") ? "a" : "b"}`);
        await patch(item.guid, { default_image_name: image });
        const { task } = await deploy(server, item.guid, app());
        expect(task.code).not.toBe(0);
        expect(task.error).toMatch(/Pulling the image .* failed after \d+\.\d s/);
        expect(task.error).toMatch(words);
      }
    });

    it("stops an idle application, starts it again for the next request, and removes its containers with it", async () => {
      const item = await createContent(server, "idle");
      await patch(item.guid, { default_image_name: debian.name, idle_timeout: 1 });
      expect((await deploy(server, item.guid, app())).task.code).toBe(0);
      const first = await (await get(item.content_url)).text();
      await settle(async () => (await runContainers(item.guid)).length === 0, "the idle stop");
      const second = await (await get(item.content_url)).text();
      expect(second).not.toBe(first);
      expect(await runContainers(item.guid)).toHaveLength(1);
      expect(
        (
          await server.call("DELETE", `/__api__/v1/content/${item.guid}`, {
            key: server.keys.publisher,
          })
        ).status,
      ).toBe(204);
      expect(await runContainers(item.guid)).toEqual([]);
    });

    it("keeps min_processes warm however idle", async () => {
      const item = await createContent(server, "warm");
      await patch(item.guid, {
        default_image_name: debian.name,
        idle_timeout: 1,
        min_processes: 1,
      });
      expect((await deploy(server, item.guid, app())).task.code).toBe(0);
      const [warm] = await runContainers(item.guid);
      // Several idle timeouts go by; the process stays.
      await sleep(4000);
      expect((await runContainers(item.guid)).map((c) => c.Id)).toEqual([warm!.Id]);
    });

    it("starts more processes under concurrent load, up to max_processes, and spreads requests over them", async () => {
      const item = await createContent(server, "busy");
      await patch(item.guid, {
        default_image_name: debian.name,
        max_processes: 3,
        max_conns_per_process: 1,
        load_factor: 0,
      });
      expect((await deploy(server, item.guid, app())).task.code).toBe(0);
      const answered = new Set<string>();
      for (let round = 0; round < 5 && answered.size < 2; round++) {
        const hosts = await Promise.all(
          Array.from({ length: 6 }, () => get(`${item.content_url}slow`).then((r) => r.text())),
        );
        for (const host of hosts) answered.add(host);
      }
      expect(answered.size).toBeGreaterThanOrEqual(2);
      expect((await runContainers(item.guid)).length).toBeGreaterThanOrEqual(2);
      expect((await runContainers(item.guid)).length).toBeLessThanOrEqual(3);
    });

    it("ends an application that outgrows its memory limit with an out-of-memory message", async () => {
      const item = await createContent(server, "hungry");
      await patch(item.guid, { default_image_name: debian.name, memory_limit: 64 * 1024 * 1024 });
      const hungry = [
        manifestEntry({
          metadata: { appmode: "python-api", entrypoint: "app:app" },
          python: { version: "3.11" },
          environment: { environment_management: { python: false } },
        }),
        {
          path: "app.py",
          content: "ballast = bytearray(256 * 1024 * 1024)\ndef app(e, s):\n    return []\n",
        },
      ];
      const { task } = await deploy(server, item.guid, hungry);
      expect(task.code).not.toBe(0);
      expect(task.error).toContain("OOMKilled");
      expect(task.error).toContain("memory_limit");
    });
  },
);

describe.skipIf(skip)("a server killed while its applications run", { timeout: 600_000 }, () => {
  it("keeps serving from the same container after a restart, and removes a labelled container no run records", async () => {
    const docker = new Docker({ socketPath: "/var/run/docker.sock" });
    const debian = ensureDebianImage();
    const server = await startServerProcess(
      `[Docker]\nEnabled = true\nInitContainerImage = ${contentInitImage()}\n`,
    );
    try {
      const created = await server.call("POST", "/v1/environments", {
        name: debian.name,
        python: { installations: [debian.python] },
      });
      expect(created.status).toBe(200);
      const item = (await server.call("POST", "/v1/content", { name: "survivor" })).body;
      const task = await server.finished(await server.deploy(item.guid, tarGz(app())));
      expect(task.code, task.output.join("\n")).toBe(0);
      const content = `${server.url}/content/${item.guid}/`;
      const visit = () => fetch(content, { headers: { Authorization: `Key ${server.key}` } });
      const host = await (await visit()).text();
      const [container] = await docker.listContainers({
        filters: { label: [`io.slipway.content=${item.guid}`, "io.slipway.kind=run"] },
      });
      const before = await docker.getContainer(container!.Id).inspect();
      const instance = before.Config.Labels["io.slipway.instance"]!;
      // Labelled as this installation's, but no run records it: what a crash mid-start leaves.
      const orphan = await docker.createContainer({
        name: `orphan-${process.pid}`,
        Image: debian.name,
        Cmd: ["sleep", "600"],
        Labels: {
          "io.slipway.instance": instance,
          "io.slipway.job": `orphan-${process.pid}`,
          "io.slipway.kind": "run",
        },
      });

      await server.kill();
      await server.restart();
      const response = await visit();
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(host);
      const after = await docker.getContainer(container!.Id).inspect();
      expect(after.State.StartedAt).toBe(before.State.StartedAt);
      expect(after.RestartCount).toBe(0);
      await expect(orphan.inspect()).rejects.toMatchObject({ statusCode: 404 });
    } finally {
      await server.stop();
    }
  });
});

async function addEnvironment(
  server: TestServer,
  name: string,
  python: { version: string; path: string },
) {
  const created = await server.call("POST", "/__api__/v1/environments", {
    body: { name, python: { installations: [python] } },
  });
  if (created.status !== 200)
    throw new Error(`environment ${name}: ${JSON.stringify(created.body)}`);
}
