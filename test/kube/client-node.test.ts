/**
 * Fidelity of the stand-in as @kubernetes/client-node 1.4 sees it: informers through cut
 * watches and a 410, chunked lists, raw watch semantics (resume, bookmarks, timeout, 410),
 * Status errors, the patch flavours, and deletion with propagation and owner references.
 * Pods here never schedule (a nodeSelector no node has), so no container engine is needed.
 */
import {
  ApiException,
  BatchV1Api,
  CoreV1Api,
  KubeConfig,
  makeInformer,
  type V1Pod,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type KubeStandin, startKubeStandin } from "./standin.js";
import { eventually } from "./test-support.js";

let standin: KubeStandin;
let core: CoreV1Api;
let batch: BatchV1Api;
let kc: KubeConfig;

beforeAll(async () => {
  standin = await startKubeStandin({ bookmarkIntervalMs: 300 });
  kc = new KubeConfig();
  kc.loadFromFile(standin.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
  batch = kc.makeApiClient(BatchV1Api);
});
afterAll(() => standin?.close());

const parked = (name: string, labels: Record<string, string> = {}): V1Pod => ({
  metadata: { name, labels },
  spec: {
    nodeSelector: { "no-such": "node" },
    containers: [{ name: "main", image: "localhost/never-run:1" }],
  },
});

async function statusOf(
  promise: Promise<unknown>,
): Promise<{ code: number; body: Record<string, unknown> }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ApiException)
      return { code: error.code, body: JSON.parse(error.body as string) };
    throw error;
  }
  throw new Error("the call succeeded");
}

function raw(path: string, init: RequestInit = {}): Promise<Response> {
  return fetch(`${standin.url}${path}`, init);
}

describe("informers from client-node 1.4", () => {
  it("see every change of every pod while the stand-in cuts each watch after 2 s", async () => {
    await standin.createNamespace("informed");
    standin.faults.cutWatchesAfter(2);
    const truth: string[] = [];
    const stop = standin.api.store.subscribe((e) => {
      if (e.resource.plural === "pods" && e.object.metadata.namespace === "informed")
        truth.push(
          `${e.type === "DELETED" ? "delete" : "change"}:${e.object.metadata.name}@${e.object.metadata.resourceVersion}`,
        );
    });
    const seen: string[] = [];
    const informer = makeInformer(kc, "/api/v1/namespaces/informed/pods", () =>
      core.listNamespacedPod({ namespace: "informed" }),
    );
    informer.on("add", (p) =>
      seen.push(`change:${p.metadata!.name}@${p.metadata!.resourceVersion}`),
    );
    informer.on("update", (p) =>
      seen.push(`change:${p.metadata!.name}@${p.metadata!.resourceVersion}`),
    );
    informer.on("delete", (p) =>
      seen.push(`delete:${p.metadata!.name}@${p.metadata!.resourceVersion}`),
    );
    const errors: unknown[] = [];
    informer.on("error", (e) => errors.push(e));
    await informer.start();
    const watchesBefore = standin.requests.filter((r) => r.query.watch).length;
    for (const name of ["a", "b", "c"])
      await core.createNamespacedPod({ namespace: "informed", body: parked(name) });
    for (let i = 0; i < 12; i++) {
      await core.patchNamespacedPod({
        namespace: "informed",
        name: ["a", "b", "c"][i % 3]!,
        body: [{ op: "add", path: "/metadata/labels/step", value: String(i) }],
      });
      await new Promise((r) => setTimeout(r, 400));
    }
    await core.deleteNamespacedPod({ namespace: "informed", name: "b" });
    await eventually(
      "the informer to catch up",
      () => seen.length >= truth.length && seen.at(-1) === truth.at(-1),
      20_000,
    );
    // Checked before stop(): client-node 1.4 reports its own abort on stop as an error.
    expect(errors).toEqual([]);
    await informer.stop();
    stop();
    standin.faults.cutWatchesAfter(undefined);
    expect(seen).toEqual(truth);
    expect(
      standin.requests.filter((r) => r.query.watch).length - watchesBefore,
    ).toBeGreaterThanOrEqual(2);
    expect(
      informer
        .list("informed")
        .map((p) => p.metadata!.name)
        .sort(),
    ).toEqual(["a", "c"]);
  }, 60_000);

  it("relist after a 410 and still end with the right state", async () => {
    await standin.createNamespace("expired");
    await core.createNamespacedPod({ namespace: "expired", body: parked("p", { v: "1" }) });
    const informer = makeInformer(kc, "/api/v1/namespaces/expired/pods", () =>
      core.listNamespacedPod({ namespace: "expired" }),
    );
    await informer.start();
    const lists = () =>
      standin.requests.filter(
        (r) => r.method === "GET" && r.path === "/api/v1/namespaces/expired/pods" && !r.query.watch,
      ).length;
    expect(lists()).toBe(1);
    standin.faults.expireWatches(1);
    standin.faults.cutWatchesAfter(1);
    await core.patchNamespacedPod({
      namespace: "expired",
      name: "p",
      body: [{ op: "replace", path: "/metadata/labels/v", value: "2" }],
    });
    await eventually("a relist", () => lists() >= 2, 20_000);
    await core.patchNamespacedPod({
      namespace: "expired",
      name: "p",
      body: [{ op: "replace", path: "/metadata/labels/v", value: "3" }],
    });
    await eventually(
      "the informer to see v=3",
      () => informer.get("p", "expired")?.metadata?.labels?.v === "3",
      20_000,
    );
    await informer.stop();
    standin.faults.cutWatchesAfter(undefined);
  }, 60_000);
});

describe("the API as a client sees it", () => {
  it("pages lists with limit and continue, and refuses a continue token older than the history", async () => {
    await standin.createNamespace("paged");
    for (const n of [1, 2, 3, 4, 5])
      await core.createNamespacedConfigMap({
        namespace: "paged",
        body: {
          metadata: { name: `cm-${n}`, labels: { n: String(n), odd: String(n % 2 === 1) } },
          data: { n: String(n) },
        },
      });
    const names: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await core.listNamespacedConfigMap({
        namespace: "paged",
        limit: 2,
        _continue: token,
      });
      names.push(...page.items.map((c) => c.metadata!.name!));
      token = page.metadata?._continue;
      pages++;
    } while (token);
    expect(names).toEqual(["cm-1", "cm-2", "cm-3", "cm-4", "cm-5"]);
    expect(pages).toBe(3);
    const selected = await core.listNamespacedConfigMap({
      namespace: "paged",
      labelSelector: "odd=true,n notin (3),n!=9,n",
    });
    expect(selected.items.map((c) => c.metadata!.name)).toEqual(["cm-1", "cm-5"]);
    const byName = await core.listNamespacedConfigMap({
      namespace: "paged",
      fieldSelector: "metadata.name=cm-4",
    });
    expect(byName.items.map((c) => c.metadata!.name)).toEqual(["cm-4"]);
    const first = await core.listNamespacedConfigMap({ namespace: "paged", limit: 2 });
    await core.createNamespacedConfigMap({
      namespace: "paged",
      body: { metadata: { name: "cm-6" } },
    });
    standin.faults.compactWatchHistory();
    const stale = await statusOf(
      core.listNamespacedConfigMap({
        namespace: "paged",
        limit: 2,
        _continue: first.metadata!._continue,
      }),
    );
    expect(stale).toMatchObject({
      code: 410,
      body: { kind: "Status", reason: "Expired", code: 410 },
    });
    const badField = await statusOf(
      core.listNamespacedConfigMap({ namespace: "paged", fieldSelector: "data.n=1" }),
    );
    expect(badField).toMatchObject({
      code: 400,
      body: { reason: "BadRequest", message: "field label not supported: data.n" },
    });
  });

  it("watches resume from a version, send bookmarks, close at timeoutSeconds, and answer 410 for a compacted version", async () => {
    await standin.createNamespace("watched");
    const a = await core.createNamespacedConfigMap({
      namespace: "watched",
      body: { metadata: { name: "a" } },
    });
    await core.createNamespacedConfigMap({
      namespace: "watched",
      body: { metadata: { name: "b" } },
    });
    const started = Date.now();
    const response = await raw(
      `/api/v1/namespaces/watched/configmaps?watch=1&resourceVersion=${a.metadata!.resourceVersion}&allowWatchBookmarks=true&timeoutSeconds=1`,
    );
    const lines = (await response.text())
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(lines[0]).toMatchObject({
      type: "ADDED",
      object: { kind: "ConfigMap", metadata: { name: "b" } },
    });
    expect(lines.slice(1).every((l) => l.type === "BOOKMARK")).toBe(true);
    expect(lines.length).toBeGreaterThanOrEqual(2);
    expect(Number(lines.at(-1).object.metadata.resourceVersion)).toBeGreaterThanOrEqual(
      Number(lines[0].object.metadata.resourceVersion),
    );
    standin.faults.compactWatchHistory();
    const old = await (
      await raw(
        `/api/v1/namespaces/watched/configmaps?watch=true&resourceVersion=${a.metadata!.resourceVersion}`,
      )
    ).text();
    expect(JSON.parse(old.trim())).toMatchObject({
      type: "ERROR",
      object: { kind: "Status", code: 410, reason: "Expired" },
    });
  });

  it("answers Status errors a client can act on: 404, 409, 422 with causes, 403, 503", async () => {
    await standin.createNamespace("errs");
    expect(await statusOf(core.readNamespacedPod({ namespace: "errs", name: "x" }))).toMatchObject({
      code: 404,
      body: {
        kind: "Status",
        apiVersion: "v1",
        status: "Failure",
        reason: "NotFound",
        message: 'pods "x" not found',
        details: { name: "x", kind: "pods" },
      },
    });
    await core.createNamespacedConfigMap({
      namespace: "errs",
      body: { metadata: { name: "dup" } },
    });
    expect(
      await statusOf(
        core.createNamespacedConfigMap({ namespace: "errs", body: { metadata: { name: "dup" } } }),
      ),
    ).toMatchObject({ code: 409, body: { reason: "AlreadyExists" } });
    const stale = await core.readNamespacedConfigMap({ namespace: "errs", name: "dup" });
    await core.replaceNamespacedConfigMap({
      namespace: "errs",
      name: "dup",
      body: { ...stale, data: { v: "1" } },
    });
    expect(
      await statusOf(
        core.replaceNamespacedConfigMap({
          namespace: "errs",
          name: "dup",
          body: { ...stale, data: { v: "2" } },
        }),
      ),
    ).toMatchObject({ code: 409, body: { reason: "Conflict" } });
    const invalid = await statusOf(
      batch.createNamespacedJob({
        namespace: "errs",
        body: {
          metadata: { name: "Bad_Name" },
          spec: {
            template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "" }] } },
          },
        },
      }),
    );
    expect(invalid.code).toBe(422);
    expect(invalid.body).toMatchObject({
      reason: "Invalid",
      details: { name: "Bad_Name", group: "batch", kind: "Job" },
    });
    const fields = (
      invalid.body.details as { causes: { field: string; reason: string }[] }
    ).causes.map((c) => `${c.reason} ${c.field}`);
    expect(fields).toEqual(
      expect.arrayContaining([
        "FieldValueInvalid metadata.name",
        "FieldValueRequired spec.template.spec.containers[0].image",
      ]),
    );
    const schema = await statusOf(
      core.createNamespacedPod({
        namespace: "errs",
        body: {
          metadata: { name: "typed" },
          spec: {
            containers: [
              { name: "c", image: "x", ports: [{ containerPort: "eighty" as unknown as number }] },
            ],
          },
        },
      }),
    );
    expect(schema).toMatchObject({
      code: 422,
      body: {
        details: {
          causes: [expect.objectContaining({ field: "spec.containers[0].ports[0].containerPort" })],
        },
      },
    });
    const noSa = await statusOf(
      core.createNamespacedPod({
        namespace: "errs",
        body: { ...parked("nosa"), spec: { ...parked("nosa").spec!, serviceAccountName: "ghost" } },
      }),
    );
    expect(noSa).toMatchObject({
      code: 403,
      body: {
        reason: "Forbidden",
        message:
          'pods "nosa" is forbidden: error looking up service account errs/ghost: serviceaccount "ghost" not found',
      },
    });
    standin.faults.forbid("list", "pods", "errs");
    expect(await statusOf(core.listNamespacedPod({ namespace: "errs" }))).toMatchObject({
      code: 403,
      body: { reason: "Forbidden" },
    });
    standin.faults.allow();
    standin.faults.refuse(60_000);
    expect(await statusOf(core.listNamespacedPod({ namespace: "errs" }))).toMatchObject({
      code: 503,
    });
    standin.faults.refuse(0);
    expect((await core.listNamespacedPod({ namespace: "errs" })).items).toEqual([]);
  });

  it("warns about fields the kind does not declare, and refuses them under fieldValidation=Strict", async () => {
    await standin.createNamespace("fields");
    const post = (query: string, body: unknown) =>
      raw(`/api/v1/namespaces/fields/configmaps${query}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const warned = await post("", {
      metadata: { name: "w", lables: { a: "b" } },
      data: { k: "v" },
    });
    expect(warned.status).toBe(201);
    expect(warned.headers.get("warning")).toBe('299 - "unknown field \\"metadata.lables\\""');
    const strict = await post("?fieldValidation=Strict", {
      metadata: { name: "s" },
      dataa: { k: "v" },
    });
    expect(strict.status).toBe(400);
    expect(await strict.json()).toMatchObject({
      reason: "BadRequest",
      message:
        'ConfigMap in version "v1" cannot be handled as a ConfigMap: strict decoding error: unknown field "dataa"',
    });
    const clean = await post("?fieldValidation=Strict", {
      metadata: { name: "c", labels: { a: "b" } },
      data: { k: "v" },
    });
    expect(clean.status).toBe(201);
    expect(clean.headers.get("warning")).toBeNull();
  });

  it("takes merge, strategic merge and JSON patches, and keeps a pod's spec immutable", async () => {
    await standin.createNamespace("patched");
    await core.createNamespacedPod({ namespace: "patched", body: parked("p") });
    const template = {
      metadata: { labels: { app: "d" } },
      spec: {
        containers: [
          { name: "a", image: "x:1", env: [{ name: "A", value: "1" }] },
          { name: "b", image: "y:1" },
        ],
      },
    };
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "d" },
      spec: { selector: { matchLabels: { app: "d" } }, template },
    };
    await raw("/apis/apps/v1/namespaces/patched/deployments", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(deployment),
    });
    interface Patched {
      code?: number;
      message?: string;
      metadata: { labels?: Record<string, string>; resourceVersion: string; generation: number };
      spec: { template: { spec: { containers: { name: string; env?: unknown[] }[] } } };
    }
    const patch = (path: string, type: string, body: unknown) =>
      raw(path, {
        method: "PATCH",
        headers: { "content-type": type },
        body: JSON.stringify(body),
      }).then((r) => r.json() as Promise<Patched>);
    const dpath = "/apis/apps/v1/namespaces/patched/deployments/d";
    const strategic = await patch(dpath, "application/strategic-merge-patch+json", {
      spec: {
        template: { spec: { containers: [{ name: "a", env: [{ name: "B", value: "2" }] }] } },
      },
    });
    const containers = strategic.spec.template.spec.containers;
    expect(containers.map((c) => c.name)).toEqual(["a", "b"]);
    expect(containers[0]!.env).toEqual([
      { name: "A", value: "1" },
      { name: "B", value: "2" },
    ]);
    expect(strategic.metadata.generation).toBe(2);
    const merged = await patch(dpath, "application/merge-patch+json", {
      spec: { template: { spec: { containers: [{ name: "only", image: "z:1" }] } } },
    });
    expect(merged.spec.template.spec.containers.map((c) => c.name)).toEqual(["only"]);

    const ppath = "/api/v1/namespaces/patched/pods/p";
    const immutable = await patch(ppath, "application/merge-patch+json", {
      spec: { containers: [{ name: "only", image: "z" }] },
    });
    expect(immutable.code).toBe(422);
    expect(immutable.message).toContain(
      "spec: Forbidden: pod updates may not change fields other than",
    );
    const labelled = await patch(ppath, "application/merge-patch+json", {
      metadata: { labels: { x: "1", y: "2" } },
    });
    expect(labelled.metadata.labels).toEqual({ x: "1", y: "2" });
    const removed = await patch(ppath, "application/merge-patch+json", {
      metadata: { labels: { y: null } },
    });
    expect(removed.metadata.labels).toEqual({ x: "1" });
    const json = await patch(ppath, "application/json-patch+json", [
      { op: "test", path: "/metadata/labels/x", value: "1" },
      { op: "remove", path: "/metadata/labels/x" },
    ]);
    expect(json.metadata.labels ?? {}).toEqual({});
    expect(Number(json.metadata.resourceVersion)).toBeGreaterThan(
      Number(labelled.metadata.resourceVersion),
    );
    const failedTest = await patch(ppath, "application/json-patch+json", [
      { op: "test", path: "/metadata/name", value: "other" },
    ]);
    expect(failedTest.code).toBe(422);
  });
});

describe("deletion", () => {
  it("cascades from a Job to its pods in the background, collects a Service it owns, and orphans by default as batch/v1 does", async () => {
    await standin.createNamespace("cascade");
    const template = {
      spec: {
        restartPolicy: "Never",
        nodeSelector: { "no-such": "node" },
        containers: [{ name: "c", image: "x:1" }],
      },
    };
    const job = await batch.createNamespacedJob({
      namespace: "cascade",
      body: { metadata: { name: "j" }, spec: { template } },
    });
    expect(job.spec!.selector!.matchLabels!["batch.kubernetes.io/controller-uid"]).toBe(
      job.metadata!.uid,
    );
    await core.createNamespacedService({
      namespace: "cascade",
      body: {
        metadata: {
          name: "j-svc",
          ownerReferences: [
            {
              apiVersion: "batch/v1",
              kind: "Job",
              name: "j",
              uid: job.metadata!.uid!,
              controller: true,
            },
          ],
        },
        spec: { selector: { "job-name": "j" }, ports: [{ port: 8080 }] },
      },
    });
    const pods = await eventually("the Job's pod", async () => {
      const list = await core.listNamespacedPod({
        namespace: "cascade",
        labelSelector: "job-name=j",
      });
      return list.items.length === 1 ? list.items : undefined;
    });
    expect(pods[0]!.metadata!.name).toMatch(/^j-[a-z0-9]{5}$/);
    const pending = await eventually("FailedScheduling", async () => {
      const ev = await core.listNamespacedEvent({
        namespace: "cascade",
        fieldSelector: `involvedObject.name=${pods[0]!.metadata!.name},reason=FailedScheduling`,
      });
      return ev.items[0];
    });
    expect(pending.message).toBe(
      "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
    );
    await batch.deleteNamespacedJob({
      namespace: "cascade",
      name: "j",
      propagationPolicy: "Background",
    });
    await eventually("pods and service to go", async () => {
      const [p, s] = await Promise.all([
        core.listNamespacedPod({ namespace: "cascade" }),
        core.listNamespacedService({ namespace: "cascade" }),
      ]);
      return p.items.length === 0 && s.items.length === 0;
    });

    const orphaning = await batch.createNamespacedJob({
      namespace: "cascade",
      body: { metadata: { name: "o" }, spec: { template } },
    });
    await eventually(
      "the pod",
      async () =>
        (await core.listNamespacedPod({ namespace: "cascade", labelSelector: "job-name=o" })).items
          .length === 1,
    );
    await batch.deleteNamespacedJob({ namespace: "cascade", name: "o" });
    const left = (
      await core.listNamespacedPod({ namespace: "cascade", labelSelector: "job-name=o" })
    ).items;
    expect(left).toHaveLength(1);
    expect(left[0]!.metadata!.ownerReferences ?? []).toEqual([]);
    expect(orphaning.metadata!.uid).toBeTruthy();
  }, 60_000);

  it("empties a namespace being deleted, then removes it", async () => {
    await standin.createNamespace("doomed");
    await core.createNamespacedConfigMap({
      namespace: "doomed",
      body: { metadata: { name: "x" } },
    });
    await core.deleteNamespace({ name: "doomed" });
    await eventually(
      "the namespace to go",
      async () => (await statusOf(core.readNamespace({ name: "doomed" }))).code === 404,
    );
    expect(
      await statusOf(
        core.createNamespacedConfigMap({ namespace: "doomed", body: { metadata: { name: "y" } } }),
      ),
    ).toMatchObject({ code: 404, body: { message: 'namespaces "doomed" not found' } });
  });
});
