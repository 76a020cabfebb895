/**
 * Content on the Kubernetes runner, against the loopback stand-in whose kubelet runs pods as
 * Docker containers (a plain WSGI app on Debian's Python in the Debian test image):
 *
 * 1. Job start. What is timed for Slipway is the first request to an application its idle
 *    timeout stopped: that request is what asks Slipway to start the process, and it waits
 *    for it; the clock runs from sending it to its 200 through the content URL. Slipway makes
 *    the variables' Secret, the Job (the content-init image as init container, the shared claim
 *    by sub-paths) and its Service, follows the pod to ready through its watches, and proxies.
 *    The baseline, on the same stand-in and in the same run: `kubectl apply` of the same
 *    Secret, Job and Service (copied from what Slipway made, under other names and labels: the
 *    same image, command, init container, volumes and readiness probe), timed from starting
 *    kubectl to the first 200 from the Service's port. Rounds alternate; medians are reported.
 *    Aim: within 1.2x + 300 ms of kubectl's.
 * 2. Idle requests. Several apps kept running (min_processes 1) and left alone; the requests
 *    the server sends the API meanwhile, per app per minute, watch streams excepted (they are
 *    counted apart: the server re-opens its few shared watches, however many apps there are).
 *    Aim: 0.
 *
 *   npx tsx bench/kubernetes.ts [--rounds 5] [--apps 3] [--idle-seconds 60]
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { stringify } from "yaml";
import { activeRuns } from "../src/store/runs.js";
import { resource } from "../test/kube/resources.js";
import { kubectl } from "../test/kube/test-support.js";
import type { KubeObject } from "../test/kube/types.js";
import { createContent, deploy, manifestEntry } from "../test/support/deploy.js";
import {
  type KubeServer,
  kubeServerUnavailable,
  NAMESPACE,
  startKubeServer,
} from "../test/support/kube-server.js";
import { kubeTools } from "../test/support/kube-tools.js";
import { firstOk, median, verdict } from "./support.js";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    apps: { type: "string", default: "3" },
    "idle-seconds": { type: "string", default: "60" },
  },
});
const rounds = Number(values.rounds);
const apps = Number(values.apps);
const idleSeconds = Number(values["idle-seconds"]);

const missing = kubeServerUnavailable();
if (missing) {
  console.log(`Kubernetes benchmark skipped: ${missing}`);
  process.exit(0);
}
const kubectlBinary = await kubeTools().then(
  (tools) => tools.kubectl,
  (error: Error) => {
    console.log(`Kubernetes benchmark skipped: kubectl 1.33 could not be had: ${error.message}`);
    process.exit(0);
  },
);

const APP = `def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
`;
const files = [
  manifestEntry({
    metadata: { appmode: "python-api", entrypoint: "app:app" },
    python: { version: "3.11" },
    environment: { environment_management: { python: false } },
  }),
  { path: "app.py", content: APP },
];

const kube: KubeServer = await startKubeServer();
const { standin, server } = kube;
const work = await mkdtemp(path.join(tmpdir(), "slipway-bench-kube-"));
const store = standin.api.store;
const admin = server.keys.administrator;
const headers = { Authorization: `Key ${admin}` };

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 180_000) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Objects of a kind in the namespace carrying every one of the labels. */
const labelled = (plural: string, labels: Record<string, string>) =>
  store
    .list(resource(plural), NAMESPACE)
    .filter((o) => Object.entries(labels).every(([k, v]) => o.metadata.labels?.[k] === v));

async function deployApp(name: string, settings: Record<string, unknown>) {
  const item = await createContent(server, name, admin);
  const patched = await server.call("PATCH", `/__api__/v1/content/${item.guid}`, {
    key: admin,
    body: settings,
  });
  if (patched.status !== 200) throw new Error(JSON.stringify(patched.body));
  const { task } = await deploy(server, item.guid, files, admin);
  if (task.code !== 0) throw new Error(task.output.join("\n"));
  await firstOk(item.content_url, headers);
  return item;
}

/**
 * What kubectl is given: Slipway's Secret, Job and Service for the app, under a name of the
 * round's and with only a label of the benchmark's, so that Slipway neither sees nor sweeps
 * them; what the API server or the Job controller filled in is left out, as a person's file
 * would not have it.
 */
function directManifest(job: KubeObject, service: KubeObject, secrets: KubeObject[], id: string) {
  const name = `bench-direct-${id}`;
  const labels = { "bench.slipway.io/direct": id };
  const metadata = (o: KubeObject, suffix = "") => ({
    name: `${name}${suffix}`,
    namespace: NAMESPACE,
    labels,
    ...(o.metadata.annotations ? { annotations: o.metadata.annotations } : {}),
  });
  const secretNames = new Map(secrets.map((s, i) => [s.metadata.name!, `${name}-${i}`]));
  const jobSpec = structuredClone(job.spec) as {
    selector?: unknown;
    manualSelector?: unknown;
    template: { metadata?: Record<string, unknown>; spec: Record<string, unknown> };
  };
  delete jobSpec.selector;
  delete jobSpec.manualSelector;
  jobSpec.template.metadata = { labels };
  const podSpec = JSON.stringify(jobSpec.template.spec).replace(
    /"secretKeyRef":\{"name":"([^"]+)"/g,
    (whole, secret: string) =>
      secretNames.has(secret) ? `"secretKeyRef":{"name":"${secretNames.get(secret)}"` : whole,
  );
  jobSpec.template.spec = JSON.parse(podSpec);
  const serviceSpec = structuredClone(service.spec) as Record<string, unknown>;
  for (const field of ["clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"])
    delete serviceSpec[field];
  serviceSpec.selector = labels;
  return [
    ...secrets.map((s) => ({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { ...metadata(s), name: secretNames.get(s.metadata.name!) },
      type: s.type,
      data: s.data,
    })),
    { apiVersion: "batch/v1", kind: "Job", metadata: metadata(job), spec: jobSpec },
    { apiVersion: "v1", kind: "Service", metadata: metadata(service), spec: serviceSpec },
  ];
}

try {
  // 1. Job start: an idle-stopped app's first request, against kubectl apply of its objects.
  const item = await deployApp("bench-kube-start", { idle_timeout: 1 });
  const runLabels = { "slipway.io/content": item.guid, "slipway.io/kind": "run" };
  const [job] = labelled("jobs", runLabels);
  if (!job) throw new Error("no run Job was made for the app");
  const service = store
    .list(resource("services"), NAMESPACE)
    .find((s) => s.metadata.ownerReferences?.some((o) => o.uid === job.metadata.uid));
  if (!service) throw new Error("the run Job has no Service");
  const secrets = store
    .list(resource("secrets"), NAMESPACE)
    .filter((s) => JSON.stringify(job.spec).includes(`"name":"${s.metadata.name}"`));

  const stopped = async () =>
    labelled("jobs", runLabels).length === 0 &&
    labelled("pods", runLabels).length === 0 &&
    !(await activeRuns(server.server.store.db, item.guid)).some((r) => r.kind === "run");
  const ours = async () => {
    await until("the idle app to be stopped", stopped);
    const started = performance.now();
    await firstOk(item.content_url, headers);
    return performance.now() - started;
  };
  let round = 0;
  /** How long kubectl itself took to return, of each baseline round. */
  const applies: number[] = [];
  const direct = async () => {
    const id = String(++round);
    const file = path.join(work, `direct-${id}.yaml`);
    await writeFile(
      file,
      directManifest(job, service, secrets, id)
        .map((o) => stringify(o))
        .join("---\n"),
    );
    const started = performance.now();
    const applied = await kubectl(kubectlBinary, standin.kubeconfigPath, [
      "apply",
      "--server-side",
      "-f",
      file,
    ]);
    if (applied.code !== 0) throw new Error(`kubectl apply: ${applied.stderr}`);
    applies.push(performance.now() - started);
    const made = store.get(resource("services"), NAMESPACE, `bench-direct-${id}`);
    const spec = made?.spec as { clusterIP: string; ports: { port: number }[] };
    await firstOk(`http://${spec.clusterIP}:${spec.ports[0]!.port}/`);
    const elapsed = performance.now() - started;
    const deleted = await kubectl(kubectlBinary, standin.kubeconfigPath, [
      "delete",
      "-f",
      file,
      "--cascade=foreground",
      "--wait=true",
    ]);
    if (deleted.code !== 0) throw new Error(`kubectl delete: ${deleted.stderr}`);
    await until("the direct pod to be gone", () => {
      const left = labelled("pods", { "bench.slipway.io/direct": id });
      return left.length === 0;
    });
    return elapsed;
  };
  await direct(); // warms the stand-in's first pod start of a new name
  const mine: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < rounds; i++) {
    mine.push(await ours());
    base.push(await direct());
  }
  const o = median(mine);
  const b = median(base);
  verdict(
    `Job start on the Kubernetes stand-in to the pod's first 200, median of ${rounds}`,
    {
      label: "first request to an idle-stopped app: Secret, Job, Service, pod ready, proxied",
      value: o,
    },
    {
      label: "kubectl apply of the same Secret, Job and Service, to a 200 from the Service's port",
      value: b,
    },
    { text: `within 1.2x + 300 ms = ${(1.2 * b + 300).toFixed(0)} ms`, met: o <= 1.2 * b + 300 },
  );
  console.log(
    `  of which: kubectl apply returned after ${median(applies.slice(1)).toFixed(0)} ms (median), the rest is the pod's start`,
  );
  console.log(
    `  rounds  : slipway ${mine.map((v) => v.toFixed(0)).join(", ")}; kubectl ${base.map((v) => v.toFixed(0)).join(", ")} ms`,
  );

  // 2. Idle: apps kept running and left alone.
  const kept = { idle_timeout: 3600, min_processes: 1 };
  const patched = await server.call("PATCH", `/__api__/v1/content/${item.guid}`, {
    key: admin,
    body: kept,
  });
  if (patched.status !== 200) throw new Error(JSON.stringify(patched.body));
  const guids = [item.guid];
  for (let i = 1; i < apps; i++) guids.push((await deployApp(`bench-kube-idle-${i}`, kept)).guid);
  for (const guid of guids) await firstOk(`${server.url}/content/${guid}/`, headers);
  // Every app has its one pod running, and the first app's idle stop is long behind it.
  await until("every app to run its one pod", () =>
    guids.every(
      (guid) =>
        labelled("pods", { "slipway.io/content": guid, "slipway.io/kind": "run" }).filter(
          (p) => (p.status as { phase?: string } | undefined)?.phase === "Running",
        ).length === 1,
    ),
  );
  await sleep(5000);
  const from = standin.requests.length;
  const startedAt = Date.now();
  await sleep(idleSeconds * 1000);
  const minutes = (Date.now() - startedAt) / 60_000;
  const seen = standin.requests.slice(from);
  const watches = seen.filter((r) => r.query.watch === "true" || r.query.watch === "1");
  const others = seen.filter((r) => !watches.includes(r));
  const perApp = others.length / guids.length / minutes;
  console.log(
    `requests the server sent the API while ${guids.length} apps sat idle, over ${(minutes * 60).toFixed(0)} s`,
  );
  console.log(
    `  slipway : ${perApp.toPrecision(3)} requests per app per minute (${others.length} in all), watch streams excepted`,
  );
  console.log(
    `  watches : ${watches.length} watch streams (re)opened, ${(watches.length / minutes).toFixed(1)} per minute for the server, whatever the number of apps`,
  );
  for (const r of others.slice(0, 20)) console.log(`    ${r.method} ${r.path}`);
  console.log(`  aim     : 0 (${others.length === 0 ? "met" : "not met"})`);
} finally {
  await kube.close();
  await rm(work, { recursive: true, force: true });
}
