/**
 * Where the Kubernetes runner's pods run and what they carry, on the loopback API whose
 * scheduler honours node labels and taints and whose kubelet resolves Secret references: an
 * environment's placement reaching the pod, variables read from a Secret the Job only names
 * (checked with the real kubectl), and placements the cluster cannot honour failing at once
 * with its own words.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubernetesRunner } from "../../src/runners/kubernetes/kubernetes-backend.js";
import type { Job, Placement } from "../../src/runners/runner.js";
import { resource } from "../kube/resources.js";
import { type KubeStandin, startKubeStandin } from "../kube/standin.js";
import { eventually, kubectl } from "../kube/test-support.js";
import { engineAvailable, ensureImage } from "../support/images.js";
import { testJob } from "../support/jobs.js";
import { type KubeTools, kubeTools } from "../support/kube-tools.js";

const missing = engineAvailable();
const image = missing ? "" : ensureImage("empty");
const namespace = `placement-${process.pid}`;
const SECRET = "s3cret-value-#;=";

let standin: KubeStandin | undefined;
let runner: KubernetesRunner | undefined;
let tools: KubeTools;
const k = (args: string[]) => kubectl(tools.kubectl, standin!.kubeconfigPath, args);

beforeAll(async () => {
  if (missing) return;
  tools = await kubeTools();
  standin = await startKubeStandin({
    backoffBaseMs: 300,
    fieldValidation: "Strict",
    node: {
      labels: { "example.com/pool": "gpu" },
      taints: [{ key: "example.com/dedicated", value: "content", effect: "NoSchedule" }],
    },
  });
  await standin.createNamespace(namespace);
  await standin.api.create(resource("serviceaccounts"), namespace, {
    apiVersion: "v1",
    kind: "ServiceAccount",
    metadata: { name: "content-reader" },
  });
  runner = await KubernetesRunner.connect({
    kubeconfig: standin.kubeconfigPath,
    namespace,
    instance: `placement-${process.pid}`,
    dataClaim: "unused",
    dataClaimSubPath: "",
    dataDir: mkdtempSync(path.join(tmpdir(), "slipway-placement-")),
    initImage: image,
    stopGraceMs: 1000,
  });
  standin.faults.cutWatchesAfter(3);
}, 120_000);

afterAll(async () => {
  await runner?.close();
  await standin?.close();
}, 120_000);

const TOLERATES: Placement = {
  tolerations: [{ key: "example.com/dedicated", operator: "Equal", value: "content" }],
};

function job(name: string, placement: Placement | undefined, script = "true"): Job {
  return testJob({
    name: `${name}-${process.pid}`,
    image,
    pullPolicy: "if-not-present",
    argv: ["/bin/sh", "-c", script],
    env: { TOKEN: SECRET, PLAIN: "visible" },
    labels: { "spec-hash": name },
    ...(placement ? { placement } : {}),
  });
}

/** Whether no Job, Secret or pod of these jobs is left in the namespace. */
function nothingLeft(names: string[]): boolean {
  const ours = new Set(names.map((n) => `${n}-${process.pid}`));
  return ["jobs", "secrets", "pods"].every((kind) =>
    standin!.api.store
      .list(resource(kind), namespace)
      .every(
        (o) => !ours.has(o.metadata.name ?? "") && !ours.has(o.metadata.labels?.["job-name"] ?? ""),
      ),
  );
}

describe.skipIf(Boolean(missing))("an environment's placement on Kubernetes", () => {
  it("reaches the pod, which runs on the node it selects and reads its variables from the Job's Secret", async () => {
    const placed = job(
      "placed",
      {
        ...TOLERATES,
        nodeSelector: { "example.com/pool": "gpu" },
        serviceAccount: "content-reader",
        imagePullSecrets: ["registry-cred"],
      },
      'echo "token=$TOKEN plain=$PLAIN"',
    );
    const handle = await runner!.start(placed);
    await eventually("the job to exit", async () => {
      const state = await runner!.poll(handle);
      return state.state === "exited" ? state : undefined;
    });
    const lines: string[] = [];
    for await (const line of runner!.logs(handle)) lines.push(line);
    expect(lines).toEqual([`token=${SECRET} plain=visible`]);

    const jobJson = await k(["get", "job", placed.name, "-n", namespace, "-o", "json"]);
    expect(jobJson.code).toBe(0);
    expect(jobJson.stdout).not.toContain(SECRET);
    expect(jobJson.stdout).not.toContain("visible");
    const podSpec = JSON.parse(jobJson.stdout).spec.template.spec;
    expect(podSpec).toMatchObject({
      nodeSelector: { "example.com/pool": "gpu" },
      serviceAccountName: "content-reader",
      automountServiceAccountToken: true,
      imagePullSecrets: [{ name: "registry-cred" }],
    });
    // The API server's admission adds its not-ready and unreachable tolerations after ours.
    expect(podSpec.tolerations[0]).toEqual(TOLERATES.tolerations![0]);
    expect(podSpec.containers[0].env).toContainEqual({
      name: "TOKEN",
      valueFrom: { secretKeyRef: { name: placed.name, key: "TOKEN" } },
    });
    const pods = await k([
      "get",
      "pods",
      "-n",
      namespace,
      "-l",
      `job-name=${placed.name}`,
      "-o",
      "json",
    ]);
    expect(pods.stdout).not.toContain(SECRET);
    expect(JSON.parse(pods.stdout).items[0].spec.nodeName).toBe("standin-node");

    // The Secret is the Job's: kubectl sees it owned by the Job, and it goes when the Job goes.
    const secret = JSON.parse(
      (await k(["get", "secret", placed.name, "-n", namespace, "-o", "json"])).stdout,
    );
    expect(Buffer.from(secret.data.TOKEN, "base64").toString()).toBe(SECRET);
    expect(secret.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: "Job", name: placed.name, uid: handle.uid }),
    ]);
    await runner!.remove(handle);
    await eventually("the Secret to go with its Job", async () => {
      const got = await k(["get", "secret", placed.name, "-n", namespace]);
      return got.code !== 0 && /NotFound/.test(got.stderr) ? true : undefined;
    });
  }, 90_000);

  it("fails at once with the scheduler's words when no node takes the pod", async () => {
    // The node carries a taint this job does not tolerate.
    const started = Date.now();
    const lines: string[] = [];
    await expect(
      runner!.start(job("untolerated", undefined), { onProgress: (l) => lines.push(l) }),
    ).rejects.toThrow(/^No node can run the pod \(FailedScheduling\): .*taint/);
    expect(Date.now() - started).toBeLessThan(20_000);
    const selected = job("elsewhere", {
      ...TOLERATES,
      nodeSelector: { "example.com/pool": "tpu" },
    });
    await expect(runner!.start(selected)).rejects.toThrow(
      /^No node can run the pod \(FailedScheduling\): .*node affinity\/selector/,
    );
    await eventually("nothing left of either", () => nothingLeft(["untolerated", "elsewhere"]));
  }, 60_000);

  it("fails at once with the cluster's words when the service account does not exist", async () => {
    const started = Date.now();
    await expect(
      runner!.start(job("no-account", { ...TOLERATES, serviceAccount: "nobody" })),
    ).rejects.toThrow(
      /^The cluster refuses to create the Job's pod \(FailedCreate\): .*serviceaccount "nobody" not found/,
    );
    expect(Date.now() - started).toBeLessThan(20_000);
    await eventually("nothing left", () => nothingLeft(["no-account"]));
  }, 60_000);
});
