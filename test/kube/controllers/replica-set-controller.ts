/**
 * The ReplicaSet controller: keeps `spec.replicas` live pods from the template (failed or
 * finished pods are replaced, extra ones deleted newest first) and reports the counts.
 */
import type { V1PodTemplateSpec } from "@kubernetes/client-node";
import type { Api } from "../api.js";
import type { EventRecorder } from "../events.js";
import { resource } from "../resources.js";
import { StatusError } from "../status-error.js";
import type { StoreEvent } from "../store.js";
import { clone, type KubeObject, type Pod } from "../types.js";
import { WorkQueue } from "../work-queue.js";

const SETS = resource("replicasets");
const PODS = resource("pods");

export function isReady(pod: Pod): boolean {
  return Boolean(pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"));
}

export class ReplicaSetController {
  #queue: WorkQueue;
  #unsubscribe: () => void;

  constructor(
    readonly api: Api,
    readonly events: EventRecorder,
  ) {
    this.#queue = new WorkQueue(
      (key) => this.#sync(key),
      (key, error) =>
        console.error(`stand-in replicaset controller: ${key}: ${(error as Error).stack}`),
    );
    this.#unsubscribe = api.store.subscribe((e) => this.#observe(e));
  }

  #observe(event: StoreEvent): void {
    const ns = event.object.metadata.namespace;
    if (event.resource === SETS && event.type !== "DELETED")
      this.#queue.add(`${ns}/${event.object.metadata.name}`);
    if (event.resource === PODS) {
      const owner = event.object.metadata.ownerReferences?.find(
        (r) => r.kind === "ReplicaSet" && r.controller,
      );
      if (owner) this.#queue.add(`${ns}/${owner.name}`);
    }
  }

  #owned(set: KubeObject): Pod[] {
    return (this.api.store.list(PODS, set.metadata.namespace) as Pod[]).filter((p) =>
      p.metadata.ownerReferences?.some((r) => r.uid === set.metadata.uid && r.controller),
    );
  }

  async #sync(key: string): Promise<void> {
    const [ns, name] = key.split("/") as [string, string];
    const set = this.api.store.get(SETS, ns, name);
    if (!set || set.metadata.deletionTimestamp) return;
    const spec = set.spec as { replicas?: number; template: V1PodTemplateSpec };
    const want = spec.replicas ?? 1;
    for (const p of this.#owned(set))
      if (
        !p.metadata.deletionTimestamp &&
        (p.status?.phase === "Failed" || p.status?.phase === "Succeeded")
      )
        await this.api.delete(PODS, ns, p.metadata.name!, {}).catch(() => undefined);
    const live = this.#owned(set)
      .filter((p) => !p.metadata.deletionTimestamp)
      .sort((a, b) => (a.metadata.creationTimestamp! < b.metadata.creationTimestamp! ? -1 : 1));
    for (let i = live.length; i < want; i++) await this.#create(set, spec.template);
    for (const extra of live.slice(want).reverse()) {
      await this.api.delete(PODS, ns, extra.metadata.name!, {}).catch(() => undefined);
      this.events.record(
        set,
        "Normal",
        "SuccessfulDelete",
        `Deleted pod: ${extra.metadata.name}`,
        "replicaset-controller",
      );
    }
    const now = this.#owned(set).filter((p) => !p.metadata.deletionTimestamp);
    const ready = now.filter(isReady).length;
    this.api.store.mutate(SETS, ns, name, (o) => {
      const status = {
        replicas: now.length,
        fullyLabeledReplicas: now.length,
        readyReplicas: ready,
        availableReplicas: ready,
        observedGeneration: o.metadata.generation,
      };
      if (JSON.stringify(status) === JSON.stringify(o.status)) return false;
      o.status = status;
      return true;
    });
  }

  async #create(set: KubeObject, template: V1PodTemplateSpec): Promise<void> {
    const pod: KubeObject = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        generateName: `${set.metadata.name}-`,
        labels: { ...template.metadata?.labels },
        ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
        ownerReferences: [
          {
            apiVersion: "apps/v1",
            kind: "ReplicaSet",
            name: set.metadata.name!,
            uid: set.metadata.uid!,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: clone(template.spec!),
    };
    try {
      const created = await this.api.create(PODS, set.metadata.namespace, pod);
      this.events.record(
        set,
        "Normal",
        "SuccessfulCreate",
        `Created pod: ${created.metadata.name}`,
        "replicaset-controller",
      );
    } catch (error) {
      if (!(error instanceof StatusError)) throw error;
      this.events.record(
        set,
        "Warning",
        "FailedCreate",
        `Error creating: ${error.message}`,
        "replicaset-controller",
      );
    }
  }

  close(): void {
    this.#unsubscribe();
    this.#queue.close();
  }
}
