/**
 * Two server replicas, each its own process, on one PostgreSQL and on one Kubernetes (the
 * loopback stand-in), the shared claim backed by their shared data folder as the chart mounts
 * it: content kept warm (min_processes 1) is answered by both replicas from one pod, and
 * however both reconcile and serve at once, the cluster only ever holds one run Job for it;
 * every Job the stand-in is asked to make is recorded from the start, so a duplicate made and
 * deleted again between two looks would still be caught.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resource } from "../kube/resources.js";
import { type KubeStandin, startKubeStandin } from "../kube/standin.js";
import { tarGz } from "../support/bundles.js";
import { ensureDebianImage } from "../support/debian-image.js";
import { manifestEntry } from "../support/deploy.js";
import { contentInitImage } from "../support/images.js";
import { CLAIM, kubeServerUnavailable } from "../support/kube-server.js";
import { unavailable } from "../support/requirements.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";
import { freshDatabase, STORE_DIALECTS, type TestDatabase } from "../support/stores.js";

const NAMESPACE = "slipway-replicas";
const APP = `import os
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [os.environ["HOSTNAME"].encode()]
`;

const missing =
  kubeServerUnavailable() ??
  (STORE_DIALECTS.includes("postgres") ? undefined : "SLIPWAY_TEST_POSTGRES_URL is not set");

describe.skipIf(unavailable("Two replicas on Kubernetes", missing))(
  "two replicas on one PostgreSQL and one Kubernetes",
  { timeout: 600_000 },
  () => {
    let standin: KubeStandin;
    let database: TestDatabase;
    let a: ServerProcess | undefined;
    let b: ServerProcess | undefined;
    const pv: Record<string, string> = {};
    /** Every run Job the stand-in made, by content, from before the first replica started. */
    const made: { guid: string; name: string; uid: string }[] = [];
    let stopRecording = () => {};

    beforeAll(async () => {
      standin = await startKubeStandin({ backoffBaseMs: 300, pv });
      stopRecording = standin.api.store.subscribe((e) => {
        if (
          e.type === "ADDED" &&
          e.resource.plural === "jobs" &&
          e.object.metadata.labels?.["slipway.io/kind"] === "run"
        )
          made.push({
            guid: e.object.metadata.labels["slipway.io/content"] ?? "",
            name: e.object.metadata.name!,
            uid: e.object.metadata.uid!,
          });
      });
      await standin.createNamespace(NAMESPACE);
      await standin.api.create(resource("persistentvolumeclaims"), NAMESPACE, {
        apiVersion: "v1",
        kind: "PersistentVolumeClaim",
        metadata: { name: CLAIM },
        spec: { accessModes: ["ReadWriteMany"], resources: { requests: { storage: "1Gi" } } },
      });
      database = await freshDatabase("postgres");
      const config = [
        "[Database]",
        "Provider = postgres",
        "[Postgres]",
        `URL = ${database.settings.Postgres.URL}`,
        "[Applications]",
        "HostEnvironment = false",
        "[Scheduler]",
        "IdleTimeout = 3600",
        "[Kubernetes]",
        "Enabled = true",
        `Kubeconfig = ${standin.kubeconfigPath}`,
        `Namespace = ${NAMESPACE}`,
        `DataDirPVCName = ${CLAIM}`,
        `InitContainerImage = ${contentInitImage()}`,
        "",
      ].join("\n");
      a = await startServerProcess(config);
      // The claim is the replicas' shared data folder; the start-up check writes through it.
      pv[CLAIM] = a.dataDir;
      b = await startServerProcess(config, a);
    }, 600_000);

    afterAll(async () => {
      stopRecording();
      await a?.stop();
      await b?.stop();
      await standin?.close();
      await database?.drop();
    }, 120_000);

    it("answers through both replicas from one pod, and never makes a second run Job", async () => {
      const [first, second] = [a!, b!];
      const debian = ensureDebianImage();
      const created = await first.call("POST", "/v1/environments", {
        name: debian.name,
        python: { installations: [debian.python] },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(200);
      const item = (await first.call("POST", "/v1/content", { name: "replicated-on-kubernetes" }))
        .body;
      const patched = await first.call("PATCH", `/v1/content/${item.guid}`, { min_processes: 1 });
      expect(patched.status, JSON.stringify(patched.body)).toBe(200);
      const archive = tarGz([
        manifestEntry({
          metadata: { appmode: "python-api", entrypoint: "app:app" },
          python: { version: "3.11" },
          environment: { environment_management: { python: false } },
        }),
        { path: "app.py", content: APP },
      ]);
      const task = await first.finished(await first.deploy(item.guid, archive));
      expect(task.code, task.output.join("\n")).toBe(0);

      const get = (server: ServerProcess) =>
        fetch(`${server.url}/content/${item.guid}/`, {
          headers: { Authorization: `Key ${first.key}` },
        }).then(async (r) => ({ status: r.status, body: await r.text() }));
      // Both replicas at once, many times, across their periodic resyncs.
      const answers: { status: number; body: string }[] = [];
      for (let round = 0; round < 8; round++) {
        answers.push(
          ...(await Promise.all([get(first), get(second), get(first), get(second)])),
        );
        await sleep(2000);
      }
      expect(answers.filter((r) => r.status !== 200)).toEqual([]);
      const hosts = new Set(answers.map((r) => r.body));
      expect([...hosts]).toHaveLength(1);

      const ours = made.filter((j) => j.guid === item.guid);
      expect(ours).toHaveLength(1);
      const jobs = standin.api.store
        .list(resource("jobs"), NAMESPACE)
        .filter((j) => j.metadata.labels?.["slipway.io/content"] === item.guid);
      expect(jobs.map((j) => j.metadata.uid)).toEqual([ours[0]!.uid]);
      const pods = standin.api.store
        .list(resource("pods"), NAMESPACE)
        .filter((p) => p.metadata.ownerReferences?.some((o) => o.uid === ours[0]!.uid));
      expect(pods.map((p) => p.metadata.name)).toEqual([...hosts]);
    });
  },
);
