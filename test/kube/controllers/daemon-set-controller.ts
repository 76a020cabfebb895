/**
 * The DaemonSet controller for the stand-in's one node: one pod from the template (the
 * scheduler then binds it, or reports why it cannot), replaced when the template changes
 * (RollingUpdate) or when the pod fails, and the DaemonSet's status counts.
 */
import { createHash } from "node:crypto";
import type { V1PodTemplateSpec } from "@kubernetes/client-node";
import type { Api } from "../api.js";
import type { EventRecorder } from "../events.js";
import { resource } from "../resources.js";
import { StatusError } from "../status-error.js";
import type { StoreEvent } from "../store.js";
import { clone, type KubeObject, type Pod } from "../types.js";
import { WorkQueue } from "../work-queue.js";

const SETS = resource("daemonsets");
const PODS = resource("pods");

export class DaemonSetController {
  #queue: WorkQueue;
  #unsubscribe: () => void;

  constructor(
    readonly api: Api,
    readonly events: EventRecorder,
  ) {
    this.#queue = new WorkQueue(
      (key) => this.#sync(key),
      (key, error) =>
        console.error(`stand-in daemonset controller: ${key}: ${(error as Error).stack}`),
    );
    this.#unsubscribe = api.store.subscribe((e) => this.#observe(e));
  }

  #observe(event: StoreEvent): void {
    const ns = event.object.metadata.namespace;
    if (event.resource === SETS && event.type !== "DELETED")
      this.#queue.add(`${ns}/${event.object.metadata.name}`);
    if (event.resource === PODS) {
      const owner = event.object.metadata.ownerReferences?.find(
        (r) => r.kind === "DaemonSet" && r.controller,
      );
      if (owner) this.#queue.add(`${ns}/${owner.name}`);
    }
  }

  async #sync(key: string): Promise<void> {
    const [ns, name] = key.split("/") as [string, string];
    const set = this.api.store.get(SETS, ns, name);
    if (!set || set.metadata.deletionTimestamp) return;
    const template = (set.spec as { template: V1PodTemplateSpec }).template;
    const hash = createHash("sha256").update(JSON.stringify(template)).digest("hex").slice(0, 10);
    const pods = (this.api.store.list(PODS, ns) as Pod[]).filter((p) =>
      p.metadata.ownerReferences?.some((r) => r.uid === set.metadata.uid && r.controller),
    );
    const live = pods.filter((p) => !p.metadata.deletionTimestamp);
    for (const p of live)
      if (
        p.metadata.labels?.["controller-revision-hash"] !== hash ||
        p.status?.phase === "Failed" ||
        p.status?.phase === "Succeeded"
      ) {
        await this.api.delete(PODS, ns, p.metadata.name!, {}).catch(() => undefined);
        this.events.record(
          set,
          "Normal",
          "SuccessfulDelete",
          `Deleted pod: ${p.metadata.name}`,
          "daemonset-controller",
        );
      }
    const current = (this.api.store.list(PODS, ns) as Pod[]).filter((p) =>
      p.metadata.ownerReferences?.some((r) => r.uid === set.metadata.uid && r.controller),
    );
    if (current.length === 0) await this.#create(set, template, hash);
    const now = (this.api.store.list(PODS, ns) as Pod[]).filter(
      (p) =>
        p.metadata.ownerReferences?.some((r) => r.uid === set.metadata.uid && r.controller) &&
        !p.metadata.deletionTimestamp,
    );
    const scheduled = now.filter((p) => p.spec.nodeName).length;
    const ready = now.filter((p) =>
      p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
    ).length;
    this.api.store.mutate(SETS, ns, name, (o) => {
      const status = {
        currentNumberScheduled: scheduled,
        desiredNumberScheduled: 1,
        numberMisscheduled: 0,
        numberReady: ready,
        numberAvailable: ready,
        ...(ready ? {} : { numberUnavailable: 1 }),
        updatedNumberScheduled: now.filter(
          (p) => p.metadata.labels?.["controller-revision-hash"] === hash && p.spec.nodeName,
        ).length,
        observedGeneration: o.metadata.generation,
      };
      if (JSON.stringify(status) === JSON.stringify(o.status)) return false;
      o.status = status;
      return true;
    });
  }

  async #create(set: KubeObject, template: V1PodTemplateSpec, hash: string): Promise<void> {
    const spec = clone(template.spec!);
    const pod: KubeObject = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: {
        generateName: `${set.metadata.name}-`,
        labels: {
          ...template.metadata?.labels,
          "controller-revision-hash": hash,
          "pod-template-generation": String(set.metadata.generation),
        },
        ...(template.metadata?.annotations ? { annotations: template.metadata.annotations } : {}),
        ownerReferences: [
          {
            apiVersion: "apps/v1",
            kind: "DaemonSet",
            name: set.metadata.name!,
            uid: set.metadata.uid!,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      // As the DaemonSet controller does: its pods tolerate the node conditions that would evict them.
      spec: {
        ...spec,
        tolerations: [
          ...(spec.tolerations ?? []),
          ...[
            "not-ready",
            "unreachable",
            "disk-pressure",
            "memory-pressure",
            "pid-pressure",
            "unschedulable",
          ].map((t) => ({
            key: `node.kubernetes.io/${t}`,
            operator: "Exists",
            effect: t === "not-ready" || t === "unreachable" ? "NoExecute" : "NoSchedule",
          })),
        ],
      },
    };
    try {
      const created = await this.api.create(PODS, set.metadata.namespace, pod);
      this.events.record(
        set,
        "Normal",
        "SuccessfulCreate",
        `Created pod: ${created.metadata.name}`,
        "daemonset-controller",
      );
    } catch (error) {
      if (!(error instanceof StatusError)) throw error;
      this.events.record(
        set,
        "Warning",
        "FailedCreate",
        `Error creating: ${error.message}`,
        "daemonset-controller",
      );
    }
  }

  close(): void {
    this.#unsubscribe();
    this.#queue.close();
  }
}
