/**
 * The Kubernetes runner against the loopback Kubernetes API, whose kubelet runs pods as real
 * Docker containers: the shared contract, with the stand-in cutting every watch after a few
 * seconds and expiring a resumed one every few more, so each case also crosses watch renewals
 * and relists.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubernetesRunner } from "../../src/runners/kubernetes/kubernetes-backend.js";
import { resource } from "../kube/resources.js";
import { type KubeStandin, startKubeStandin } from "../kube/standin.js";
import { contentInitImage, engineAvailable, ensureImage } from "../support/images.js";
import { testJob } from "../support/jobs.js";
import { runRunnerContract } from "./contract.js";

const missing = engineAvailable();
const images = missing
  ? { image: "", initImage: "" }
  : { image: ensureImage("empty"), initImage: contentInitImage() };
const claimRoot = mkdtempSync(path.join(tmpdir(), "slipway-kube-claim-"));
const namespace = `contract-${process.pid}`;

let standin: KubeStandin | undefined;
const runners: KubernetesRunner[] = [];
let expiring: NodeJS.Timeout | undefined;

beforeAll(async () => {
  if (missing) return;
  standin = await startKubeStandin({
    backoffBaseMs: 300,
    pv: { "slipway-data": claimRoot },
    fieldValidation: "Strict",
  });
  await standin.createNamespace(namespace);
  // The chart's shared storage: a ReadWriteMany claim the stand-in backs with a host folder.
  await standin.api.create(resource("persistentvolumeclaims"), namespace, {
    apiVersion: "v1",
    kind: "PersistentVolumeClaim",
    metadata: { name: "slipway-data" },
    spec: { accessModes: ["ReadWriteMany"], resources: { requests: { storage: "1Gi" } } },
  });
  standin.faults.cutWatchesAfter(3);
  // Now and then a resumed watch is told its version is too old, so the caches relist too.
  expiring = setInterval(() => standin?.faults.expireWatches(1), 4000);
}, 120_000);

afterAll(async () => {
  clearInterval(expiring);
  for (const runner of runners) await runner.close();
  await standin?.close();
}, 120_000);

const connect = (dataDir = path.join(claimRoot, "server")) =>
  KubernetesRunner.connect({
    kubeconfig: standin!.kubeconfigPath,
    namespace,
    instance: `contract-${process.pid}`,
    dataClaim: "slipway-data",
    dataClaimSubPath: "server",
    dataDir,
    initImage: images.initImage,
    stopGraceMs: 2000,
  }).then((runner) => {
    runners.push(runner);
    return runner;
  });

describe.skipIf(Boolean(missing))("the shared-volume check", () => {
  it("passes when the server's data folder is the claim's sub-path", async () => {
    expect(await (await connect()).sharedVolumeProblem()).toBeNull();
  }, 60_000);

  it("says so when the server does not see what the pods write", async () => {
    const elsewhere = mkdtempSync(path.join(tmpdir(), "slipway-not-the-claim-"));
    const problem = await (await connect(elsewhere)).sharedVolumeProblem();
    expect(problem).toMatch(
      /^a pod (could not write|wrote) a marker to \.slipway-volume-check\/[0-9a-f]+ of the claim slipway-data \(sub-path server\).*: the claim must be ReadWriteMany and mounted by the server at DataDir \(.*\) with the same sub-path \(\[Kubernetes\] DataDirPVCName, DataDirPVCSubPath\)$/,
    );
  }, 60_000);
});

describe.skipIf(Boolean(missing))("two servers on one cluster", () => {
  it("never create the same Job twice when they start the same job at once", async () => {
    const [a, b] = await Promise.all([connect(), connect()]);
    const job = testJob({
      name: `twice-${process.pid}`,
      image: images.image,
      argv: ["/bin/sh", "-c", "while :; do sleep 1 & wait $!; done"],
      labels: { "spec-hash": "one" },
    });
    const [first, second] = await Promise.all([a.start(job), b.start(job)]);
    expect(second).toEqual(first);
    const jobs = standin!.api.store
      .list(resource("jobs"), namespace)
      .filter((j) => j.metadata.name === job.name);
    expect(jobs).toHaveLength(1);
    await a.remove(first);
  }, 60_000);
});

runRunnerContract({
  name: "kubernetes",
  image: images.image,
  skip: missing,
  create: () => connect(),
});
