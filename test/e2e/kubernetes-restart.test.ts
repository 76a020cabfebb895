/**
 * A server on the Kubernetes runner killed with SIGKILL while its application runs, then
 * started again over the same data: it adopts the running Job (the same pod answers, not a new
 * one) and deletes a Job labelled as this installation's that no run records, and a Secret a
 * start cut short left without its Job.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resource } from "../kube/resources.js";
import { type KubeStandin, startKubeStandin } from "../kube/standin.js";
import { tarGz } from "../support/bundles.js";
import { debianImageUnavailable, ensureDebianImage } from "../support/debian-image.js";
import { manifestEntry } from "../support/deploy.js";
import { contentInitImage, engineAvailable } from "../support/images.js";
import { unavailable } from "../support/requirements.js";
import { startServerProcess } from "../support/server-process.js";

const NAMESPACE = "slipway-restart";
const CLAIM = "slipway-shared-storage";
const APP = `import os
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [os.environ["HOSTNAME"].encode()]
`;

describe.skipIf(
  unavailable("The Kubernetes restart test", engineAvailable() ?? debianImageUnavailable()),
)("a server on Kubernetes killed while its application runs", { timeout: 600_000 }, () => {
  let standin: KubeStandin;
  const pv: Record<string, string> = {};
  beforeAll(async () => {
    standin = await startKubeStandin({ backoffBaseMs: 300, pv });
    await standin.createNamespace(NAMESPACE);
    await standin.api.create(resource("persistentvolumeclaims"), NAMESPACE, {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: CLAIM },
      spec: { accessModes: ["ReadWriteMany"], resources: { requests: { storage: "1Gi" } } },
    });
  }, 120_000);
  afterAll(() => standin?.close(), 120_000);

  it("adopts its running Job after a restart and deletes a labelled Job no run records, and a Secret left without its Job", async () => {
    const debian = ensureDebianImage();
    const server = await startServerProcess(
      [
        "[Kubernetes]",
        "Enabled = true",
        `Kubeconfig = ${standin.kubeconfigPath}`,
        `Namespace = ${NAMESPACE}`,
        `DataDirPVCName = ${CLAIM}`,
        `InitContainerImage = ${contentInitImage()}`,
        "",
      ].join("\n"),
    );
    pv[CLAIM] = server.dataDir;
    try {
      const created = await server.call("POST", "/v1/environments", {
        name: debian.name,
        python: { installations: [debian.python] },
      });
      expect(created.status).toBe(200);
      const item = (await server.call("POST", "/v1/content", { name: "survivor" })).body;
      const archive = tarGz([
        manifestEntry({
          metadata: { appmode: "python-api", entrypoint: "app:app" },
          python: { version: "3.11" },
          environment: { environment_management: { python: false } },
        }),
        { path: "app.py", content: APP },
      ]);
      const task = await server.finished(await server.deploy(item.guid, archive));
      expect(task.code, task.output.join("\n")).toBe(0);
      const visit = () =>
        fetch(`${server.url}/content/${item.guid}/`, {
          headers: { Authorization: `Key ${server.key}` },
        });
      const host = await (await visit()).text();
      const runs = () =>
        standin.api.store
          .list(resource("jobs"), NAMESPACE)
          .filter(
            (j) =>
              j.metadata.labels?.["slipway.io/content"] === item.guid &&
              j.metadata.labels?.["slipway.io/kind"] === "run",
          );
      const [run] = runs();
      expect(run).toBeDefined();
      const instance = run!.metadata.labels!["slipway.io/instance"]!;
      // Labelled as this installation's, but no run records it: what a crash mid-start leaves.
      await standin.api.create(resource("jobs"), NAMESPACE, {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: {
          name: "orphan",
          labels: { "slipway.io/instance": instance, "slipway.io/kind": "run" },
        },
        spec: {
          backoffLimit: 0,
          template: {
            metadata: { labels: { "slipway.io/instance": instance } },
            spec: {
              restartPolicy: "Never",
              containers: [{ name: "content", image: debian.name, command: ["sleep", "600"] }],
            },
          },
        },
      });
      // And its variables' Secret made, but the server killed before it made the Job.
      await standin.api.create(resource("secrets"), NAMESPACE, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: {
          name: "cut-short",
          labels: { "slipway.io/instance": instance, "slipway.io/kind": "run" },
          annotations: { "slipway.io/job-name": "cut-short" },
        },
        data: { TOKEN: Buffer.from("left behind").toString("base64") },
      });

      await server.kill();
      await server.restart();
      const response = await visit();
      expect(response.status).toBe(200);
      expect(await response.text()).toBe(host);
      expect(runs().map((j) => j.metadata.uid)).toEqual([run!.metadata.uid]);
      const deadline = Date.now() + 60_000;
      while (standin.api.store.get(resource("jobs"), NAMESPACE, "orphan") && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 200));
      expect(standin.api.store.get(resource("jobs"), NAMESPACE, "orphan")).toBeUndefined();
      while (
        standin.api.store.get(resource("secrets"), NAMESPACE, "cut-short") &&
        Date.now() < deadline
      )
        await new Promise((r) => setTimeout(r, 200));
      expect(standin.api.store.get(resource("secrets"), NAMESPACE, "cut-short")).toBeUndefined();
    } finally {
      await server.stop();
    }
  });
});
