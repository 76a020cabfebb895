/**
 * /metrics on its own listener, scraped before and after real deploys: on the local runner the
 * selection, build, application start, proxy latency and task histograms and counters move and
 * the process gauges count the running application; on Docker, a deploy whose image comes from
 * the loopback registry moves the image pull histogram.
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TarEntry } from "../support/bundles.js";
import { createContent, deploy, manifestEntry } from "../support/deploy.js";
import {
  contentInitImage,
  engineAvailable,
  HOST_PYTHON,
  hostPythonVersion,
  registryImage,
} from "../support/images.js";
import { unavailable } from "../support/requirements.js";
import { startTestServer, type TestServer } from "../support/server.js";

const WSGI_APP = `def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"measured"]
`;

/** An application on the environment's own Python, with no packages to install. */
const app = (version: string): TarEntry[] => [
  manifestEntry({
    metadata: { appmode: "python-api", entrypoint: "app:app" },
    python: { version },
    environment: { environment_management: { python: false } },
  }),
  { path: "app.py", content: WSGI_APP },
];

/** One scrape, parsed into `name{labels} value` samples. */
async function scrape(url: string): Promise<Map<string, number>> {
  const response = await fetch(`${url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

const sample = (samples: Map<string, number>, key: string) => samples.get(key) ?? 0;

const noPython = unavailable(
  "Metrics on the local runner",
  existsSync(HOST_PYTHON) ? undefined : `${HOST_PYTHON} is not installed`,
);

describe.skipIf(noPython)("metrics on the local runner", { timeout: 300_000 }, () => {
  let server: TestServer;
  let metricsUrl: string;
  beforeAll(async () => {
    server = await startTestServer("sqlite", (s) => {
      s.Metrics.PrometheusListen = "127.0.0.1:0";
    });
    metricsUrl = server.server.metricsUrl!;
    await server.call("POST", "/__api__/v1/environments", {
      body: {
        name: "measured-python",
        cluster_name: "Local",
        python: { installations: [{ version: "3.11.2", path: HOST_PYTHON }] },
      },
    });
  }, 120_000);
  afterAll(() => server?.close());

  it("is served on its own listener only, and the API's port has no /metrics", async () => {
    expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(metricsUrl).not.toBe(server.url);
    const samples = await scrape(metricsUrl);
    expect(samples.has("process_resident_memory_bytes")).toBe(true);
    const elsewhere = await fetch(`${metricsUrl}/__api__/v1/content`);
    expect(elsewhere.status).toBe(404);
    expect(await elsewhere.json()).toEqual({
      code: 4,
      error: "No such endpoint: /__api__/v1/content; scrape /metrics.",
      payload: null,
    });
    const posted = await fetch(`${metricsUrl}/metrics`, { method: "POST" });
    expect(posted.status).toBe(405);
    expect(((await posted.json()) as { code: number }).code).toBe(2);
    expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
  });

  it("moves the deploy histograms, counts tasks by result and the running process", async () => {
    const before = await scrape(metricsUrl);
    const item = await createContent(server, "measured");
    const { task } = await deploy(server, item.guid, app("3.11.2"));
    expect(task.code, task.output.join("\n")).toBe(0);

    const answer = await fetch(item.content_url, {
      headers: { Authorization: `Key ${server.keys.viewer}` },
    });
    expect(await answer.text()).toBe("measured");
    const after = await scrape(metricsUrl);
    const moved = (key: string) => sample(after, key) - sample(before, key);

    expect(moved('slipway_selection_duration_seconds_count{result="selected"}')).toBe(1);
    expect(moved('slipway_build_duration_seconds_count{result="built"}')).toBe(1);
    expect(moved('slipway_app_start_duration_seconds_count{result="ready"}')).toBe(1);
    expect(moved('slipway_tasks_total{kind="deploy",result="success"}')).toBe(1);
    expect(
      moved(
        `slipway_content_request_duration_seconds_count{content_guid="${item.guid}",status_class="2xx"}`,
      ),
    ).toBe(1);
    // The start took real time, and the +Inf bucket holds every observation.
    expect(moved('slipway_app_start_duration_seconds_sum{result="ready"}')).toBeGreaterThan(0);
    expect(moved('slipway_app_start_duration_seconds_bucket{le="+Inf",result="ready"}')).toBe(1);
    expect(sample(after, `slipway_content_processes{content_guid="${item.guid}"}`)).toBe(1);
    expect(sample(after, 'slipway_environment_processes{environment="measured-python"}')).toBe(1);

    // Deleting the content stops its process: the gauges drop it.
    expect((await server.call("DELETE", `/__api__/v1/content/${item.guid}`)).status).toBe(204);
    const gone = await scrape(metricsUrl);
    expect(gone.has(`slipway_content_processes{content_guid="${item.guid}"}`)).toBe(false);
  });

  it("counts a failed selection and its failed task", async () => {
    const before = await scrape(metricsUrl);
    const item = await createContent(server, "unplaceable");
    const { task } = await deploy(server, item.guid, app("2.7.18"));
    expect(task.code).not.toBe(0);
    const after = await scrape(metricsUrl);
    const moved = (key: string) => sample(after, key) - sample(before, key);
    expect(moved('slipway_selection_duration_seconds_count{result="failed"}')).toBe(1);
    expect(moved('slipway_tasks_total{kind="deploy",result="failure"}')).toBe(1);
    expect(moved('slipway_build_duration_seconds_count{result="built"}')).toBe(0);
  });
});

describe("without [Metrics] PrometheusListen", () => {
  it("serves no metrics listener", async () => {
    const server = await startTestServer("sqlite");
    try {
      expect(server.server.metricsUrl).toBeUndefined();
    } finally {
      await server.close();
    }
  });
});

const noEngine = unavailable("Image pull metrics", engineAvailable());

describe.skipIf(noEngine)("metrics on Docker", { timeout: 600_000 }, () => {
  it("moves the image pull histogram when a deploy pulls its image from the registry", async () => {
    const image = registryImage("full");
    if (!image) throw new Error("no registry answers on 127.0.0.1:5000");
    const server = await startTestServer("sqlite", (s) => {
      s.Docker.Enabled = true;
      s.Docker.InitContainerImage = contentInitImage();
      s.Metrics.PrometheusListen = "127.0.0.1:0";
    });
    try {
      const version = hostPythonVersion();
      await server.call("POST", "/__api__/v1/environments", {
        body: {
          name: image,
          python: {
            installations: [{ version, path: `/opt/python/${version}/bin/python3` }],
          },
        },
      });
      const before = await scrape(server.server.metricsUrl!);
      const item = await createContent(server, "pulled");
      await server.call("PATCH", `/__api__/v1/content/${item.guid}`, {
        key: server.keys.publisher,
        body: { default_image_name: image },
      });
      const { task } = await deploy(server, item.guid, app(version));
      expect(task.code, task.output.join("\n")).toBe(0);
      expect(task.output.join("\n")).toContain(`Pulled ${image}`);
      const after = await scrape(server.server.metricsUrl!);
      const moved = (key: string) => sample(after, key) - sample(before, key);
      expect(moved('slipway_image_pull_duration_seconds_count{result="pulled"}')).toBe(1);
      expect(moved('slipway_image_pull_duration_seconds_sum{result="pulled"}')).toBeGreaterThan(0);
      expect(sample(after, `slipway_environment_processes{environment="${image}"}`)).toBe(1);
    } finally {
      await server.close();
    }
  });
});
