/**
 * The Deployment controller: a ReplicaSet per template (named by the template's hash, which
 * its pods carry as `pod-template-hash`), the current one scaled to `spec.replicas` and older
 * ones to zero, and the status and conditions `kubectl rollout status` and
 * `kubectl wait --for=condition=available` read. Rolling updates are not paced by maxSurge /
 * maxUnavailable: the old pods go as the new ReplicaSet is created.
 */
import { createHash } from "node:crypto";
import type { V1PodTemplateSpec } from "@kubernetes/client-node";
import type { Api } from "../api.js";
import type { EventRecorder } from "../events.js";
import { resource } from "../resources.js";
import type { StoreEvent } from "../store.js";
import { type Condition, clone, type KubeObject, now } from "../types.js";
import { WorkQueue } from "../work-queue.js";

const DEPLOYMENTS = resource("deployments");
const SETS = resource("replicasets");

interface SetStatus {
  replicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
}

export class DeploymentController {
  #queue: WorkQueue;
  #unsubscribe: () => void;

  constructor(
    readonly api: Api,
    readonly events: EventRecorder,
  ) {
    this.#queue = new WorkQueue(
      (key) => this.#sync(key),
      (key, error) =>
        console.error(`stand-in deployment controller: ${key}: ${(error as Error).stack}`),
    );
    this.#unsubscribe = api.store.subscribe((e) => this.#observe(e));
  }

  #observe(event: StoreEvent): void {
    const ns = event.object.metadata.namespace;
    if (event.resource === DEPLOYMENTS && event.type !== "DELETED")
      this.#queue.add(`${ns}/${event.object.metadata.name}`);
    if (event.resource === SETS) {
      const owner = event.object.metadata.ownerReferences?.find(
        (r) => r.kind === "Deployment" && r.controller,
      );
      if (owner) this.#queue.add(`${ns}/${owner.name}`);
    }
  }

  async #sync(key: string): Promise<void> {
    const [ns, name] = key.split("/") as [string, string];
    const deployment = this.api.store.get(DEPLOYMENTS, ns, name);
    if (!deployment || deployment.metadata.deletionTimestamp) return;
    const spec = deployment.spec as {
      replicas?: number;
      selector: unknown;
      template: V1PodTemplateSpec;
    };
    const want = spec.replicas ?? 1;
    const hash = createHash("sha256")
      .update(JSON.stringify(spec.template))
      .digest("hex")
      .slice(0, 10);
    const owned = () =>
      this.api.store
        .list(SETS, ns)
        .filter((s) =>
          s.metadata.ownerReferences?.some(
            (r) => r.uid === deployment.metadata.uid && r.controller,
          ),
        );
    const current = owned().find((s) => s.metadata.labels?.["pod-template-hash"] === hash);
    if (!current) {
      const template = clone(spec.template);
      template.metadata = {
        ...template.metadata,
        labels: { ...template.metadata?.labels, "pod-template-hash": hash },
      };
      const set: KubeObject = {
        apiVersion: "apps/v1",
        kind: "ReplicaSet",
        metadata: {
          name: `${name}-${hash}`,
          namespace: ns,
          labels: { ...spec.template.metadata?.labels, "pod-template-hash": hash },
          ownerReferences: [
            {
              apiVersion: "apps/v1",
              kind: "Deployment",
              name,
              uid: deployment.metadata.uid!,
              controller: true,
              blockOwnerDeletion: true,
            },
          ],
        },
        spec: { replicas: want, selector: spec.selector, template },
      };
      await this.api.create(SETS, ns, set);
      this.events.record(
        deployment,
        "Normal",
        "ScalingReplicaSet",
        `Scaled up replica set ${name}-${hash} from 0 to ${want}`,
        "deployment-controller",
      );
    }
    for (const s of owned()) {
      const replicas = s.metadata.labels?.["pod-template-hash"] === hash ? want : 0;
      const before = (s.spec as { replicas?: number }).replicas;
      if (before === replicas) continue;
      this.api.store.mutate(SETS, ns, s.metadata.name!, (o) => {
        (o.spec as { replicas: number }).replicas = replicas;
        return true;
      });
      this.events.record(
        deployment,
        "Normal",
        "ScalingReplicaSet",
        `Scaled ${replicas > (before ?? 0) ? "up" : "down"} replica set ${s.metadata.name} from ${before} to ${replicas}`,
        "deployment-controller",
      );
    }
    const sets = owned();
    const statusOf = (s: KubeObject) => (s.status ?? {}) as SetStatus;
    const newest = sets.find((s) => s.metadata.labels?.["pod-template-hash"] === hash);
    const total = sets.reduce((n, s) => n + (statusOf(s).replicas ?? 0), 0);
    const available = sets.reduce((n, s) => n + (statusOf(s).availableReplicas ?? 0), 0);
    const updated = newest ? (statusOf(newest).replicas ?? 0) : 0;
    const newAvailable = newest ? (statusOf(newest).availableReplicas ?? 0) : 0;
    this.api.store.mutate(DEPLOYMENTS, ns, name, (o) => {
      const previous = (o.status as { conditions?: Condition[] } | undefined)?.conditions ?? [];
      const condition = (type: string, ok: boolean, reason: string, message: string): Condition => {
        const before = previous.find((c) => c.type === type);
        const status = ok ? "True" : "False";
        const same = before?.status === status && before.reason === reason;
        return {
          type,
          status,
          lastUpdateTime: same ? before.lastUpdateTime! : now(),
          lastTransitionTime: before?.status === status ? before.lastTransitionTime! : now(),
          reason,
          message,
        };
      };
      const rolledOut = updated === want && newAvailable === want && total === want;
      const status = {
        observedGeneration: o.metadata.generation,
        replicas: total,
        updatedReplicas: updated,
        readyReplicas: sets.reduce((n, s) => n + (statusOf(s).readyReplicas ?? 0), 0),
        availableReplicas: available,
        ...(total - available > 0 ? { unavailableReplicas: total - available } : {}),
        conditions: [
          condition(
            "Available",
            available >= want,
            available >= want ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable",
            available >= want
              ? "Deployment has minimum availability."
              : "Deployment does not have minimum availability.",
          ),
          condition(
            "Progressing",
            true,
            rolledOut ? "NewReplicaSetAvailable" : "ReplicaSetUpdated",
            rolledOut
              ? `ReplicaSet "${name}-${hash}" has successfully progressed.`
              : `ReplicaSet "${name}-${hash}" is progressing.`,
          ),
        ],
      };
      if (JSON.stringify(status) === JSON.stringify(o.status)) return false;
      o.status = status;
      return true;
    });
  }

  close(): void {
    this.#unsubscribe();
    this.#queue.close();
  }
}
