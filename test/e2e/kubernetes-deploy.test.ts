/**
 * Content deployed through a real server on the Kubernetes runner, against the loopback
 * Kubernetes API whose kubelet runs pods as Docker containers: the server's DataDir is the
 * shared claim, as the chart mounts it. A Flask API is built in a Job, served from another Job
 * through its Service, and redeployed from the package cache; a pull failure and a request no
 * node can meet fail the deploy at once with the cluster's words. What was made is read back
 * from the stand-in's own store; an evicted application pod is replaced on the next request.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resource } from "../kube/resources.js";
import type { KubeStandin } from "../kube/standin.js";
import { ensureDebianImage } from "../support/debian-image.js";
import { createContent, deploy, manifestEntry } from "../support/deploy.js";
import {
  type KubeServer,
  kubeServerUnavailable,
  NAMESPACE,
  startKubeServer,
} from "../support/kube-server.js";
import { unavailable } from "../support/requirements.js";
import type { TestServer } from "../support/server.js";

const missing = kubeServerUnavailable();

const FLASK_APP = `import os
from flask import Flask, request
app = Flask(__name__)

@app.get("/")
def hello():
    return {"hello": "kubernetes", "root": request.script_root, "host": os.environ.get("HOSTNAME"), "uid": os.getuid()}
`;

const pythonApp = () =>
  manifestEntry({
    metadata: { appmode: "python-api", entrypoint: "app:app" },
    python: { version: "3.11", package_manager: { name: "pip", package_file: "requirements.txt" } },
  });

describe.skipIf(unavailable("Deploys on the Kubernetes runner", missing))(
  "content as Kubernetes Jobs through the server",
  { timeout: 600_000 },
  () => {
    let kube: KubeServer;
    let standin: KubeStandin;
    let server: TestServer;

    beforeAll(async () => {
      kube = await startKubeServer();
      ({ standin, server } = kube);
    }, 900_000);
    afterAll(() => kube?.close(), 120_000);

    const get = (url: string) => kube.get(url);
    const jobsOf = (guid: string, kind: string) => kube.jobsOf(guid, kind);

    it("builds a Flask API in a Job, serves it from another through its Service, and redeploys from the cache", async () => {
      const item = await createContent(server, "flask-on-kubernetes");
      const builds: string[] = [];
      const stop = standin.api.store.subscribe((e) => {
        if (
          e.type === "ADDED" &&
          e.resource.plural === "jobs" &&
          e.object.metadata.labels?.["slipway.io/kind"] === "build"
        )
          builds.push(e.object.metadata.name!);
      });
      const { task } = await deploy(server, item.guid, [
        pythonApp(),
        { path: "app.py", content: FLASK_APP },
        { path: "requirements.txt", content: "flask\n" },
      ]);
      const log = task.output.join("\n");
      expect(task.code, log).toBe(0);
      expect(log).toContain("Python package cache miss");
      expect(log).toMatch(/Scheduled: .*\(\d+\.\d s\)/);
      expect(log).toMatch(/Started container content/);
      expect(builds.length).toBeGreaterThanOrEqual(1);

      const response = await get(item.content_url);
      expect(response.status).toBe(200);
      const body = (await response.json()) as Record<string, unknown>;
      expect(body).toMatchObject({
        hello: "kubernetes",
        root: `/content/${item.guid}`,
        uid: 10001,
      });
      // The run is a Job with a Service owned by it; its pod mounts the claim by sub-paths only.
      const [run] = jobsOf(item.guid, "run");
      expect(run).toBeDefined();
      const services = standin.api.store
        .list(resource("services"), NAMESPACE)
        .filter((s) => s.metadata.ownerReferences?.some((o) => o.uid === run!.metadata.uid));
      expect(services).toHaveLength(1);
      const template = (run!.spec as { template: { spec: Record<string, unknown> } }).template.spec;
      const [main] = template.containers as {
        volumeMounts: { subPath?: string; mountPath: string }[];
      }[];
      for (const mount of main!.volumeMounts) {
        if (mount.mountPath.startsWith("/slipway/data")) expect(mount.subPath).toBeTruthy();
      }
      expect(template.initContainers).toHaveLength(1);

      builds.length = 0;
      const second = await deploy(server, item.guid, [
        pythonApp(),
        { path: "app.py", content: FLASK_APP.replace('"kubernetes"', '"again"') },
        { path: "requirements.txt", content: "flask\n" },
      ]);
      stop();
      expect(second.task.code, second.task.output.join("\n")).toBe(0);
      expect(second.task.output.join("\n")).toContain("Python package cache hit");
      expect(builds).toEqual([]);
      expect(((await (await get(item.content_url)).json()) as { hello: string }).hello).toBe(
        "again",
      );
    });

    it("fails a deploy at once when the image cannot be pulled, with the kubelet's words", async () => {
      const env = await server.call("POST", "/__api__/v1/environments", {
        body: {
          name: "127.0.0.1:5000/slipway-test/no-such-image:1",
          title: "missing",
          matching: "exact",
          python: { installations: [ensureDebianImage().python] },
        },
      });
      expect(env.status).toBe(200);
      const item = await createContent(server, "unpullable-on-kubernetes");
      const started = Date.now();
      const { task } = await deploy(server, item.guid, [
        manifestEntry({
          metadata: { appmode: "python-api", entrypoint: "app:app" },
          environment: { image: "127.0.0.1:5000/slipway-test/no-such-image:1" },
          python: {
            version: "3.11",
            package_manager: { name: "pip", package_file: "requirements.txt" },
          },
        }),
        { path: "app.py", content: FLASK_APP },
        { path: "requirements.txt", content: "flask\n" },
      ]);
      const log = task.output.join("\n");
      expect(task.code, log).not.toBe(0);
      expect(log).toMatch(/cannot be pulled \((ErrImagePull|ImagePullBackOff)\)/);
      expect(Date.now() - started).toBeLessThan(60_000);
      // Nothing is left behind in the cluster.
      expect(
        standin.api.store
          .list(resource("jobs"), NAMESPACE)
          .filter((j) => j.metadata.labels?.["slipway.io/content"] === item.guid),
      ).toEqual([]);
    });

    it("fails a deploy at once when no node can meet its request, with the scheduler's words", async () => {
      const item = await createContent(server, "too-big-for-the-node");
      const patched = await server.call("PATCH", `/__api__/v1/content/${item.guid}`, {
        key: server.keys.publisher,
        body: { memory_request: 64 * 1024 ** 3 },
      });
      expect(patched.status, JSON.stringify(patched.body)).toBe(200);
      const started = Date.now();
      const { task } = await deploy(server, item.guid, [
        pythonApp(),
        { path: "app.py", content: FLASK_APP },
        { path: "requirements.txt", content: "flask\n" },
      ]);
      const log = task.output.join("\n");
      expect(task.code, log).not.toBe(0);
      expect(log).toMatch(
        /No node can run the pod \(FailedScheduling\): 0\/1 nodes are available: .*Insufficient memory/,
      );
      expect(Date.now() - started).toBeLessThan(120_000);
      expect(jobsOf(item.guid, "build")).toEqual([]);
    });

    it("starts an evicted application again on the next request", async () => {
      const item = await createContent(server, "evicted-on-kubernetes");
      const { task } = await deploy(server, item.guid, [
        pythonApp(),
        { path: "app.py", content: FLASK_APP },
        { path: "requirements.txt", content: "flask\n" },
      ]);
      expect(task.code, task.output.join("\n")).toBe(0);
      const first = (await (await get(item.content_url)).json()) as { host: string };
      const [pod] = standin.api.store
        .list(resource("pods"), NAMESPACE)
        .filter(
          (p) =>
            p.metadata.labels?.["slipway.io/content"] === item.guid &&
            p.metadata.labels?.["slipway.io/kind"] === "run" &&
            (p.status as { phase?: string } | undefined)?.phase === "Running",
        );
      expect(pod?.metadata.name).toBe(first.host);
      await standin.faults.evict(NAMESPACE, pod!.metadata.name!);
      const deadline = Date.now() + 120_000;
      let answer: { host?: string } = {};
      while (Date.now() < deadline) {
        const response = await get(item.content_url);
        if (response.status === 200) {
          answer = (await response.json()) as { host: string };
          if (answer.host !== first.host) break;
        } else await response.body?.cancel();
        await new Promise((r) => setTimeout(r, 500));
      }
      expect(answer.host).toBeDefined();
      expect(answer.host).not.toBe(first.host);
    });

    it("sends the API server no requests but its watches while deployed content sits idle", async () => {
      const item = await createContent(server, "idle-on-kubernetes");
      // Kept running while idle: the stop an idle timeout makes is a request of its own.
      const patched = await server.call("PATCH", `/__api__/v1/content/${item.guid}`, {
        key: server.keys.publisher,
        body: { idle_timeout: 3600, min_processes: 1 },
      });
      expect(patched.status, JSON.stringify(patched.body)).toBe(200);
      const { task } = await deploy(server, item.guid, [
        pythonApp(),
        { path: "app.py", content: FLASK_APP },
        { path: "requirements.txt", content: "flask\n" },
      ]);
      expect(task.code, task.output.join("\n")).toBe(0);
      expect((await get(item.content_url)).status).toBe(200);
      const from = standin.requests.length;
      await new Promise((r) => setTimeout(r, 10_000));
      // Earlier tests' applications may be stopped meanwhile for being idle; nothing reads.
      const idle = standin.requests
        .slice(from)
        .filter(
          (r) => !r.query.watch && (r.method === "GET" || r.path.includes(item.guid.slice(0, 8))),
        );
      expect(idle.map((r) => `${r.method} ${r.path}`)).toEqual([]);
    });

    it("runs an environment's pods as its service account, with the content's variables only in a Secret", async () => {
      await standin.api.create(resource("serviceaccounts"), NAMESPACE, {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "content-runner" },
      });
      const environments = (await server.call("GET", "/__api__/v1/environments")).body as {
        guid: string;
        name: string;
      }[];
      const debian = environments.find((e) => e.name === ensureDebianImage().name)!;
      const placed = await server.call("PUT", `/__api__/v1/environments/${debian.guid}`, {
        body: { service_account: "content-runner" },
      });
      expect(placed.status, JSON.stringify(placed.body)).toBe(200);
      expect(placed.body.service_account).toBe("content-runner");
      try {
        const item = await createContent(server, "secret-on-kubernetes");
        const set = await server.call("PATCH", `/__api__/v1/content/${item.guid}/environment`, {
          key: server.keys.publisher,
          body: [{ name: "GREETING", value: "hush-9f3a" }],
        });
        expect(set.status, JSON.stringify(set.body)).toBe(200);
        const { task } = await deploy(server, item.guid, [
          pythonApp(),
          {
            path: "app.py",
            content: `import os\nfrom flask import Flask\napp = Flask(__name__)\n\n@app.get("/")\ndef hello():\n    return {"greeting": os.environ.get("GREETING")}\n`,
          },
          { path: "requirements.txt", content: "flask\n" },
        ]);
        expect(task.code, task.output.join("\n")).toBe(0);
        const response = await get(item.content_url);
        expect(await response.json()).toEqual({ greeting: "hush-9f3a" });
        const [run] = jobsOf(item.guid, "run");
        const template = (run!.spec as { template: { spec: Record<string, unknown> } }).template;
        expect(template.spec.serviceAccountName).toBe("content-runner");
        expect(JSON.stringify(run)).not.toContain("hush-9f3a");
        const pods = standin.api.store
          .list(resource("pods"), NAMESPACE)
          .filter((p) => p.metadata.ownerReferences?.some((o) => o.uid === run!.metadata.uid));
        expect(pods.length).toBeGreaterThan(0);
        expect(JSON.stringify(pods)).not.toContain("hush-9f3a");
      } finally {
        await server.call("PUT", `/__api__/v1/environments/${debian.guid}`, {
          body: { service_account: null },
        });
      }
    });
  },
);
