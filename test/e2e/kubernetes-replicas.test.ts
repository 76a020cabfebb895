/**
 * Two server replicas, each its own process, on one PostgreSQL and on one Kubernetes (the
 * loopback stand-in), the shared claim backed by their shared data folder as the chart mounts
 * it: content kept warm (min_processes 1) is answered by both replicas from one pod, and
 * however both reconcile and serve at once, the cluster only ever holds one run Job for it.
 * Then its pod is evicted and both replicas are asked at once for the content they no longer
 * have a process of: one replacement Job is made, never two. Every Job the stand-in makes is
 * recorded from the start, so a duplicate made and deleted again between two looks is caught.
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
    /** The run Jobs not being deleted, and the most there ever were at once, by content. */
    const alive = new Map<string, Set<string>>();
    const most = new Map<string, number>();
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
        if (e.resource.plural !== "jobs" || e.object.metadata.labels?.["slipway.io/kind"] !== "run")
          return;
        const guid = e.object.metadata.labels["slipway.io/content"] ?? "";
        const live = (alive.get(guid) ?? new Set<string>()).add(e.object.metadata.uid!);
        // A Job finished (its pod evicted) or being deleted no longer counts as running.
        const conditions =
          (e.object.status as { conditions?: { type: string; status: string }[] } | undefined)
            ?.conditions ?? [];
        if (
          e.type === "DELETED" ||
          e.object.metadata.deletionTimestamp ||
          conditions.some(
            (c) => (c.type === "Failed" || c.type === "Complete") && c.status === "True",
          )
        )
          live.delete(e.object.metadata.uid!);
        alive.set(guid, live);
        most.set(guid, Math.max(most.get(guid) ?? 0, live.size));
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

    it("answers through both replicas from one pod, and never makes a second run Job, even when both find its pod evicted at once", async () => {
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
        answers.push(...(await Promise.all([get(first), get(second), get(first), get(second)])));
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

      // The pod evicted: both replicas asked at once find no process, and only one starts one.
      const [evicted] = hosts;
      await standin.faults.evict(NAMESPACE, evicted!);
      const deadline = Date.now() + 180_000;
      const after: { status: number; body: string }[] = [];
      while (Date.now() < deadline) {
        const round = await Promise.all([get(first), get(second), get(first), get(second)]);
        after.push(...round);
        if (round.every((r) => r.status === 200 && r.body !== evicted)) break;
        await sleep(250);
      }
      const replaced = new Set(after.filter((r) => r.status === 200).map((r) => r.body));
      replaced.delete(evicted!);
      expect([...replaced]).toHaveLength(1);
      for (let round = 0; round < 4; round++) {
        const again = await Promise.all([get(first), get(second)]);
        expect(again).toEqual([
          { status: 200, body: [...replaced][0] },
          { status: 200, body: [...replaced][0] },
        ]);
        await sleep(1000);
      }
      const runJobs = made.filter((j) => j.guid === item.guid);
      expect(runJobs).toHaveLength(2);
      expect(most.get(item.guid)).toBe(1);
      const [, replacement] = runJobs;
      const serving = standin.api.store
        .list(resource("pods"), NAMESPACE)
        .filter(
          (p) =>
            p.metadata.ownerReferences?.some((o) => o.uid === replacement!.uid) &&
            (p.status as { phase?: string } | undefined)?.phase === "Running",
        );
      expect(serving.map((p) => p.metadata.name)).toEqual([...replaced]);
    });
  },
);
