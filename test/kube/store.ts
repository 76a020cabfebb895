/**
 * The object store: what etcd is to an API server. Every write takes the next resource
 * version (one counter for all kinds, as in etcd) and is recorded in a bounded history, from
 * which watches resume; a resume from a version the history no longer holds is a 410.
 */
import { randomUUID } from "node:crypto";
import type { ResourceType } from "./resources.js";
import { alreadyExists, conflict, notFound } from "./status-error.js";
import { clone, type KubeObject, now } from "./types.js";

export type WatchEventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoreEvent {
  type: WatchEventType;
  resource: ResourceType;
  object: KubeObject;
  old?: KubeObject;
  rv: number;
}

export type Listener = (event: StoreEvent) => void;

export class Store {
  #objects = new Map<string, KubeObject>();
  #rv = 1;
  #history: StoreEvent[] = [];
  /** Events up to and including this version are no longer in the history. */
  #compactedThrough = 1;
  #listeners = new Set<Listener>();

  constructor(readonly historyLimit = 2000) {}

  get resourceVersion(): number {
    return this.#rv;
  }

  get(type: ResourceType, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.#objects.get(key(type, namespace, name));
    return found ? clone(found) : undefined;
  }

  /** Objects of a kind (in one namespace, or all), in namespace/name order. */
  list(type: ResourceType, namespace?: string): KubeObject[] {
    const prefix = namespace === undefined ? `${kindKey(type)}|` : `${kindKey(type)}|${namespace}|`;
    return [...this.#objects.entries()]
      .filter(([k]) => k.startsWith(prefix))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, o]) => clone(o));
  }

  create(type: ResourceType, object: KubeObject): KubeObject {
    const meta = object.metadata;
    const k = key(type, meta.namespace, meta.name!);
    if (this.#objects.has(k)) throw alreadyExists(type, meta.name!);
    const stored = clone(object);
    stored.metadata.uid ??= randomUUID();
    stored.metadata.creationTimestamp = now();
    stored.metadata.generation = 1;
    stored.metadata.resourceVersion = String(++this.#rv);
    this.#objects.set(k, stored);
    this.#emit({ type: "ADDED", resource: type, object: clone(stored), rv: this.#rv });
    return clone(stored);
  }

  /**
   * Replaces an object. With `expectedVersion` the write fails with 409 Conflict unless the
   * stored object still has that version (optimistic concurrency, as for PUT). A write that
   * changes nothing keeps the version and notifies nobody, as the API server does.
   */
  replace(type: ResourceType, object: KubeObject, expectedVersion?: string): KubeObject {
    const meta = object.metadata;
    const k = key(type, meta.namespace, meta.name!);
    const old = this.#objects.get(k);
    if (!old) throw notFound(type, meta.name!);
    if (expectedVersion && expectedVersion !== old.metadata.resourceVersion)
      throw conflict(
        type,
        meta.name!,
        "the object has been modified; please apply your changes to the latest version and try again",
      );
    const next = clone(object);
    next.metadata.uid = old.metadata.uid;
    next.metadata.creationTimestamp = old.metadata.creationTimestamp;
    next.metadata.generation = old.metadata.generation;
    next.metadata.resourceVersion = old.metadata.resourceVersion;
    if (JSON.stringify(next) === JSON.stringify(old)) return clone(old);
    if (JSON.stringify(specOf(next)) !== JSON.stringify(specOf(old)))
      next.metadata.generation = (old.metadata.generation ?? 1) + 1;
    next.metadata.resourceVersion = String(++this.#rv);
    this.#objects.set(k, next);
    this.#emit({
      type: "MODIFIED",
      resource: type,
      object: clone(next),
      old: clone(old),
      rv: this.#rv,
    });
    return clone(next);
  }

  /** Reads, changes and writes back an object; `change` returning false skips the write. */
  mutate(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    change: (object: KubeObject) => boolean | undefined,
  ): KubeObject | undefined {
    const current = this.get(type, namespace, name);
    if (!current) return undefined;
    if (change(current) === false) return current;
    return this.replace(type, current);
  }

  remove(type: ResourceType, namespace: string | undefined, name: string): KubeObject {
    const k = key(type, namespace, name);
    const old = this.#objects.get(k);
    if (!old) throw notFound(type, name);
    this.#objects.delete(k);
    const gone = clone(old);
    gone.metadata.resourceVersion = String(++this.#rv);
    this.#emit({ type: "DELETED", resource: type, object: gone, rv: this.#rv });
    return clone(gone);
  }

  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The recorded events after `rv`, or undefined when the history no longer reaches back that far. */
  eventsSince(rv: number): StoreEvent[] | undefined {
    if (rv < this.#compactedThrough) return undefined;
    return this.#history.filter((e) => e.rv > rv);
  }

  get oldestResumableVersion(): number {
    return this.#compactedThrough;
  }

  /** Forgets the watch history, as etcd compaction does: older resumes get 410 Gone. */
  compact(): void {
    this.#history = [];
    this.#compactedThrough = this.#rv;
  }

  #emit(event: StoreEvent): void {
    this.#history.push(event);
    if (this.#history.length > this.historyLimit) {
      const dropped = this.#history.splice(0, this.#history.length - this.historyLimit);
      this.#compactedThrough = dropped[dropped.length - 1]!.rv;
    }
    for (const listener of this.#listeners) listener(event);
  }
}

function kindKey(type: ResourceType): string {
  return `${type.group}/${type.plural}`;
}

function key(type: ResourceType, namespace: string | undefined, name: string): string {
  return `${kindKey(type)}|${type.namespaced ? (namespace ?? "") : ""}|${name}`;
}

function specOf(object: KubeObject): unknown {
  const { metadata: _m, status: _s, ...rest } = object;
  return rest;
}
