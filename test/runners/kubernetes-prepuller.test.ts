/**
 * The image pre-puller on the loopback API, whose DaemonSet controller and kubelet run its pod
 * as real containers: every image of the list and the content-init image gets an init
 * container that the kubelet pulls and runs on the node, the set follows a changed list, and
 * an installation with the option off removes the one an earlier configuration left.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { V1Pod } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { prePullerName } from "../../src/runners/kubernetes/kube-prepuller.js";
import { KubernetesRunner } from "../../src/runners/kubernetes/kubernetes-backend.js";
import { resource } from "../kube/resources.js";
import { type KubeStandin, startKubeStandin } from "../kube/standin.js";
import { eventually, kubectl } from "../kube/test-support.js";
import { contentInitImage, engineAvailable, ensureImage } from "../support/images.js";
import { type KubeTools, kubeTools } from "../support/kube-tools.js";

const missing = engineAvailable();
const images = missing
  ? { a: "", b: "", init: "" }
  : { a: ensureImage("empty"), b: ensureImage("layered"), init: contentInitImage() };
const namespace = `prepull-${process.pid}`;
const instance = `prepull-${process.pid}`;

let standin: KubeStandin | undefined;
let tools: KubeTools;
const runners: KubernetesRunner[] = [];

beforeAll(async () => {
  if (missing) return;
  tools = await kubeTools();
  standin = await startKubeStandin({ backoffBaseMs: 300, fieldValidation: "Strict" });
  await standin.createNamespace(namespace);
}, 180_000);

afterAll(async () => {
  for (const runner of runners) await runner.close();
  await standin?.close();
}, 120_000);

const connect = async (prePullImages: boolean) => {
  const runner = await KubernetesRunner.connect({
    kubeconfig: standin!.kubeconfigPath,
    namespace,
    instance,
    dataClaim: "unused",
    dataClaimSubPath: "",
    dataDir: mkdtempSync(path.join(tmpdir(), "slipway-prepull-")),
    initImage: images.init,
    prePullImages,
  });
  runners.push(runner);
  return runner;
};

/** The pre-puller's pod once every init container has run and its waiting container runs. */
function pulledPod(): V1Pod | undefined {
  const pods = standin!.api.store.list(resource("pods"), namespace) as unknown as V1Pod[];
  return pods.find(
    (pod) =>
      !pod.metadata?.deletionTimestamp &&
      pod.status?.phase === "Running" &&
      (pod.status.initContainerStatuses ?? []).every((s) => s.state?.terminated?.exitCode === 0) &&
      pod.status.containerStatuses?.[0]?.state?.running,
  );
}

describe.skipIf(Boolean(missing))("the image pre-puller", () => {
  it("pulls every image on the node, follows a changed list, and goes when switched off", async () => {
    const runner = await connect(true);
    await runner.prePull([{ image: images.a, pullSecrets: ["registry-cred"] }]);
    const name = prePullerName(instance);
    const first = await eventually("the pre-puller pod to have pulled", () => {
      const pod = pulledPod();
      return pod && pod.spec!.initContainers!.length === 2 ? pod : undefined;
    });
    expect(first.spec!.initContainers!.map((c) => c.image).sort()).toEqual(
      [images.a, images.init].sort(),
    );
    expect(first.spec!.imagePullSecrets).toEqual([{ name: "registry-cred" }]);
    const shown = await kubectl(tools.kubectl, standin!.kubeconfigPath, [
      "get",
      "daemonset",
      name,
      "-n",
      namespace,
      "-o",
      "jsonpath={.spec.template.spec.initContainers[*].image}",
    ]);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout.split(" ").sort()).toEqual([images.a, images.init].sort());

    // The catalog gained an image: the set is replaced and its new pod pulls that one too.
    await runner.prePull([{ image: images.a }, { image: images.b }]);
    const second = await eventually("the new pod to have pulled the new image", () => {
      const pod = pulledPod();
      return pod && pod.spec!.initContainers!.some((c) => c.image === images.b) ? pod : undefined;
    });
    expect(second.metadata!.uid).not.toBe(first.metadata!.uid);
    expect(second.spec!.initContainers!).toHaveLength(3);
    expect(second.spec).not.toHaveProperty("imagePullSecrets");

    // The option switched off: the next server removes the set, once.
    const off = await connect(false);
    await off.prePull([{ image: images.a }]);
    await eventually("the pre-puller to be gone", () =>
      standin!.api.store.list(resource("daemonsets"), namespace).length === 0 &&
      standin!.api.store
        .list(resource("pods"), namespace)
        .every((p) => !p.metadata.name?.startsWith(name))
        ? true
        : undefined,
    );
    const before = standin!.requests.length;
    await off.prePull([{ image: images.b }]);
    expect(standin!.requests.slice(before).filter((r) => r.path.includes("daemonsets"))).toEqual(
      [],
    );
  }, 180_000);
});
