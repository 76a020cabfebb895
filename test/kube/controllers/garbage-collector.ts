/**
 * The garbage collector and the namespace controller. Dependents (by ownerReferences) of a
 * deleted owner are deleted in the background; an owner deleted in the foreground waits for
 * its dependents; an object whose owner does not exist is collected; a namespace being
 * deleted is emptied, then removed.
 */
import type { Api } from "../api.js";
import { RESOURCES, resource } from "../resources.js";
import type { StoreEvent } from "../store.js";
import type { KubeObject } from "../types.js";
import { WorkQueue } from "../work-queue.js";

const NAMESPACED = RESOURCES.filter((r) => r.namespaced);

export class GarbageCollector {
  #queue: WorkQueue;
  #sweep: NodeJS.Timeout;
  #unsubscribe: () => void;

  constructor(
    readonly api: Api,
    sweepMs: number,
  ) {
    this.#queue = new WorkQueue(
      (key) => this.#sync(key),
      (key, error) =>
        console.error(`stand-in garbage collector: ${key}: ${(error as Error).stack}`),
    );
    this.#unsubscribe = api.store.subscribe((e) => this.#observe(e));
    this.#sweep = setInterval(() => this.#queue.add("sweep"), sweepMs);
  }

  #observe(event: StoreEvent): void {
    const meta = event.object.metadata;
    if (event.type === "DELETED" || meta.deletionTimestamp) this.#queue.add("sweep");
    else if (event.type === "ADDED" && meta.ownerReferences?.length) this.#queue.add("sweep");
  }

  async #sync(_key: string): Promise<void> {
    const store = this.api.store;
    const all = new Map<string, { plural: string; object: KubeObject }>();
    for (const type of RESOURCES)
      for (const o of store.list(type))
        all.set(o.metadata.uid!, { plural: type.plural, object: o });
    for (const { plural, object } of all.values()) {
      const meta = object.metadata;
      const type = resource(plural);
      if (type.plural === "namespaces" && meta.deletionTimestamp) {
        await this.#emptyNamespace(object);
        continue;
      }
      const dependents = () =>
        [...all.values()].filter(
          (d) =>
            d.object.metadata.ownerReferences?.some((r) => r.uid === meta.uid) &&
            store.get(resource(d.plural), d.object.metadata.namespace, d.object.metadata.name!),
        );
      if (meta.deletionTimestamp && meta.finalizers?.includes("foregroundDeletion")) {
        const left = dependents();
        for (const d of left) await this.#delete(d.plural, d.object, "Foreground");
        if (
          left.every(
            (d) =>
              !store.get(resource(d.plural), d.object.metadata.namespace, d.object.metadata.name!),
          )
        ) {
          store.mutate(type, meta.namespace, meta.name!, (o) => {
            o.metadata.finalizers = o.metadata.finalizers?.filter(
              (f) => f !== "foregroundDeletion",
            );
            return true;
          });
          this.api.finalize(type, meta.namespace, meta.name!);
        }
        continue;
      }
      const owners = meta.ownerReferences ?? [];
      if (owners.length && !meta.deletionTimestamp && owners.every((r) => !all.has(r.uid)))
        await this.#delete(plural, object, "Background");
    }
  }

  async #delete(
    plural: string,
    object: KubeObject,
    policy: "Background" | "Foreground",
  ): Promise<void> {
    if (object.metadata.deletionTimestamp) return;
    await this.api
      .delete(resource(plural), object.metadata.namespace, object.metadata.name!, {
        propagationPolicy: policy,
      })
      .catch(() => undefined);
  }

  async #emptyNamespace(ns: KubeObject): Promise<void> {
    let left = 0;
    for (const type of NAMESPACED)
      for (const o of this.api.store.list(type, ns.metadata.name)) {
        left++;
        await this.#delete(type.plural, o, "Background");
      }
    if (left === 0 && this.api.store.get(resource("namespaces"), undefined, ns.metadata.name!))
      this.api.store.remove(resource("namespaces"), undefined, ns.metadata.name!);
  }

  close(): void {
    this.#unsubscribe();
    this.#queue.close();
    clearInterval(this.#sweep);
  }
}
