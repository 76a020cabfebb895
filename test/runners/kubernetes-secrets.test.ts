/**
 * The Secret holding a Kubernetes job's variables never outlives its job: owned by the Job, it
 * is collected by the cluster whoever deletes the Job; left without a Job by a start cut short
 * (the server killed between the two), a restarted server's runner lists it as work to remove,
 * and a Secret whose Job exists but was never given it is given it then. Cuts are made with the
 * stand-in's RBAC faults, so the runner's own start leaves what a kill would.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubernetesRunner } from "../../src/runners/kubernetes/kubernetes-backend.js";
import type { RunHandle } from "../../src/runners/runner.js";
import { resource } from "../kube/resources.js";
import { type KubeStandin, startKubeStandin } from "../kube/standin.js";
import { eventually } from "../kube/test-support.js";
import { engineAvailable, ensureImage } from "../support/images.js";
import { testJob } from "../support/jobs.js";

const missing = engineAvailable();
const image = missing ? "" : ensureImage("empty");
const namespace = `secrets-${process.pid}`;

let standin: KubeStandin | undefined;
const runners: KubernetesRunner[] = [];

beforeAll(async () => {
  if (missing) return;
  standin = await startKubeStandin({ backoffBaseMs: 300, fieldValidation: "Strict" });
  await standin.createNamespace(namespace);
}, 120_000);

afterAll(async () => {
  for (const runner of runners) await runner.close();
  await standin?.close();
}, 120_000);

/** A server's runner; a second one on the same installation is the server after a restart. */
const connect = () =>
  KubernetesRunner.connect({
    kubeconfig: standin!.kubeconfigPath,
    namespace,
    instance: `secrets-${process.pid}`,
    dataClaim: "unused",
    dataClaimSubPath: "",
    dataDir: mkdtempSync(path.join(tmpdir(), "slipway-secrets-")),
    initImage: image,
    stopGraceMs: 1000,
  }).then((runner) => {
    runners.push(runner);
    return runner;
  });

const job = (name: string) =>
  testJob({
    name: `${name}-${process.pid}`,
    image,
    pullPolicy: "if-not-present",
    argv: ["/bin/sh", "-c", "while :; do sleep 1 & wait $!; done"],
    env: { TOKEN: "not for anyone" },
  });

const secretOf = (name: string) => standin!.api.store.get(resource("secrets"), namespace, name);
const jobNamed = (name: string) => standin!.api.store.get(resource("jobs"), namespace, name);

describe.skipIf(Boolean(missing))("a Kubernetes job's Secret", () => {
  it("is collected by the cluster when its Job is deleted by anyone", async () => {
    const runner = await connect();
    const spec = job("collected");
    const handle = (await runner.start(spec)) as RunHandle & { uid: string };
    expect(secretOf(spec.name)?.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: "Job", uid: handle.uid, controller: true }),
    ]);
    // Not the runner's remove (which deletes the Secret itself): the cluster's collection.
    await standin!.api.delete(resource("jobs"), namespace, spec.name, {
      propagationPolicy: "Background",
    });
    await eventually("the Secret to go with its Job", () => !secretOf(spec.name));
    await runner.remove(handle);
  }, 60_000);

  it("left without a Job by a start cut short, is removed by the restarted server's sweep", async () => {
    const before = await connect();
    const spec = job("cut-before-job");
    // The Job is never made, and the start cannot clean up: what a kill in between leaves.
    standin!.faults.forbid("create", "jobs", namespace);
    standin!.faults.forbid("delete", "secrets", namespace);
    try {
      await expect(before.start(spec)).rejects.toThrow(/refused the Job/);
    } finally {
      standin!.faults.allow();
    }
    expect(secretOf(spec.name)).toBeDefined();
    expect(jobNamed(spec.name)).toBeUndefined();

    // The restarted server removes what no run records: the Secret is listed by its job's name.
    const after = await connect();
    const stray = (await after.list()).filter((h) => h.name === spec.name);
    expect(stray).toHaveLength(1);
    await after.remove(stray[0]!);
    expect(secretOf(spec.name)).toBeUndefined();
    expect((await after.list()).map((h) => h.name)).not.toContain(spec.name);

    // A later start of the same job is not undone by removing an older handle of that name.
    const handle = await after.start(spec);
    await after.remove(stray[0]!);
    expect(secretOf(spec.name)).toBeDefined();
    await after.remove(handle);
    expect(secretOf(spec.name)).toBeUndefined();
  }, 60_000);

  it("whose Job was made but never given it, is given it by the restarted server", async () => {
    const before = await connect();
    const spec = job("cut-before-owner");
    const handle = (await before.start(spec)) as RunHandle & { uid: string };
    // As if the server was killed between making the Job and giving it the Secret.
    standin!.api.store.mutate(resource("secrets"), namespace, spec.name, (secret) => {
      delete secret.metadata.ownerReferences;
      return true;
    });
    expect(secretOf(spec.name)?.metadata.ownerReferences).toBeUndefined();

    const after = await connect();
    const listed = await after.list();
    // The Job is listed as work (to adopt or remove); its Secret is not work of its own.
    expect(listed.filter((h) => h.name === spec.name)).toEqual([handle]);
    expect(secretOf(spec.name)?.metadata.ownerReferences).toEqual([
      expect.objectContaining({ kind: "Job", uid: handle.uid }),
    ]);
    await standin!.api.delete(resource("jobs"), namespace, spec.name, {
      propagationPolicy: "Background",
    });
    await eventually("the Secret to go with its Job", () => !secretOf(spec.name));
    await after.remove(handle);
  }, 60_000);

  it("is not swept by a server whose Role may not list Secrets, which still lists its Jobs", async () => {
    const runner = await connect();
    const spec = job("unlisted");
    const handle = await runner.start(spec);
    standin!.faults.forbid("list", "secrets", namespace);
    try {
      expect((await runner.list()).map((h) => h.name)).toContain(spec.name);
    } finally {
      standin!.faults.allow();
    }
    await runner.remove(handle);
  }, 60_000);
});
