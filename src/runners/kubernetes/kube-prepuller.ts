/**
 * The image pre-puller: one DaemonSet whose pod, on every node, has an init container per image
 * (each exits at once, so the kubelet only pulls), then one small container that waits. A
 * content Job then starts from an image already on its node, as zero-to-jupyterhub's
 * continuous pre-puller does. Pure: the object is compared as data in tests.
 */
import { createHash } from "node:crypto";
import type { V1DaemonSet, V1Toleration } from "@kubernetes/client-node";
import type { PrePull } from "../runner.js";
import { labelKey, labelValue } from "./kube-objects.js";

export interface PrePullerSpawn {
  namespace: string;
  instance: string;
  initImage: string;
  user: { uid: number; gid: number };
}

/** The DaemonSet's name: one per installation of Slipway in the namespace. */
export function prePullerName(instance: string): string {
  return `slipway-prepull-${createHash("sha256").update(instance).digest("hex").slice(0, 10)}`;
}

export function prePullerObject(images: readonly PrePull[], spawn: PrePullerSpawn): V1DaemonSet {
  // The content-init image too: every Job with the runtime components starts with it.
  const all = [{ image: spawn.initImage }, ...images];
  const unique = [...new Map(all.map((p) => [p.image, p])).keys()].sort();
  const secrets = new Set(images.flatMap((p) => p.pullSecrets ?? []));
  const tolerations = new Map<string, V1Toleration>();
  for (const toleration of images.flatMap((p) => p.tolerations ?? [])) {
    tolerations.set(JSON.stringify(toleration), { ...toleration });
  }
  const labels = {
    [labelKey("instance")]: labelValue(spawn.instance),
    [labelKey("kind")]: "prepull",
  };
  const security = {
    runAsNonRoot: true,
    runAsUser: spawn.user.uid,
    runAsGroup: spawn.user.gid,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ["ALL"] },
  };
  const small = { limits: { cpu: "50m", memory: "32Mi" }, requests: { cpu: "1m", memory: "8Mi" } };
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: prePullerName(spawn.instance), namespace: spawn.namespace, labels },
    spec: {
      selector: { matchLabels: labels },
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "100%" } },
      template: {
        metadata: { labels },
        spec: {
          automountServiceAccountToken: false,
          enableServiceLinks: false,
          terminationGracePeriodSeconds: 0,
          initContainers: unique.map((image, i) => ({
            name: `pull-${i}`,
            image,
            imagePullPolicy: "IfNotPresent",
            command: ["/bin/sh", "-c", "exit 0"],
            resources: small,
            securityContext: security,
          })),
          containers: [
            {
              name: "wait",
              image: spawn.initImage,
              imagePullPolicy: "IfNotPresent",
              command: [
                "/bin/sh",
                "-c",
                "trap 'exit 0' TERM; while :; do sleep 3600 & wait $!; done",
              ],
              resources: small,
              securityContext: security,
            },
          ],
          ...(secrets.size
            ? { imagePullSecrets: [...secrets].sort().map((name) => ({ name })) }
            : {}),
          ...(tolerations.size ? { tolerations: [...tolerations.values()] } : {}),
        },
      },
    },
  };
}
