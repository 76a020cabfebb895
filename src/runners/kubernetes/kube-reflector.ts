/**
 * A cache of one kind of object, kept by watching, never by polling: list once, then watch from
 * the list's resourceVersion with bookmarks. client-node 1.4's informer cannot be used as it
 * is: it never asks the server to end a watch (so a dead connection goes unnoticed) and stops
 * for good on the first failed watch. Here each watch asks for `timeoutSeconds` below 30 and is
 * also cut on the client side a little later; one that ends is resumed from the last version
 * seen; a 410 Expired relists; any other failure (a 503, a reset, a 403) relists after a
 * back-off doubling up to 30 s, the way KubeSpawner's reflector does.
 */
import type { KubernetesObject, Watch } from "@kubernetes/client-node";

export interface ReflectorOptions<T> {
  /** The collection's path, such as /api/v1/namespaces/slipway/pods. */
  path: string;
  labelSelector?: string;
  list(): Promise<{ items: T[]; metadata?: { resourceVersion?: string } }>;
  watch: Watch;
  watchSeconds: number;
  /** Told about every failure, for the log; the reflector carries on by itself. */
  onError?: (error: Error) => void;
}

type Listener<T> = (type: "ADDED" | "MODIFIED" | "DELETED", object: T) => void;

const MAX_BACKOFF_MS = 30_000;

export class Reflector<T extends KubernetesObject> {
  readonly #options: ReflectorOptions<T>;
  readonly #objects = new Map<string, T>();
  readonly #listeners = new Set<Listener<T>>();
  #version = "";
  #stopped = false;
  #abort: AbortController | undefined;
  #timer: NodeJS.Timeout | undefined;
  #backoffMs = 500;
  #synced: Promise<void>;
  #resolveSynced!: () => void;
  #rejectSynced!: (error: Error) => void;
  #everSynced = false;

  constructor(options: ReflectorOptions<T>) {
    this.#options = options;
    this.#synced = new Promise((resolve, reject) => {
      this.#resolveSynced = resolve;
      this.#rejectSynced = reject;
    });
  }

  /** Lists and starts watching; resolves once the cache holds the list, fails if the first list fails. */
  async start(): Promise<void> {
    void this.#relist();
    await this.#synced;
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#abort?.abort();
    this.#listeners.clear();
  }

  get(name: string): T | undefined {
    return this.#objects.get(name);
  }

  list(): T[] {
    return [...this.#objects.values()];
  }

  /** Calls `listener` on every change until the returned function is called. */
  subscribe(listener: Listener<T>): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves with the first value `probe` gives (checked now and after every change). */
  until<R>(probe: () => R | undefined, signal?: AbortSignal): Promise<R> {
    return new Promise((resolve, reject) => {
      const check = () => {
        let value: R | undefined;
        try {
          value = probe();
        } catch (error) {
          done();
          reject(error);
          return;
        }
        if (value !== undefined) {
          done();
          resolve(value);
        }
      };
      const aborted = () => {
        done();
        reject(signal?.reason ?? new Error("aborted"));
      };
      const unsubscribe = this.subscribe(() => check());
      const done = () => {
        unsubscribe();
        signal?.removeEventListener("abort", aborted);
      };
      signal?.addEventListener("abort", aborted, { once: true });
      check();
    });
  }

  #emit(type: "ADDED" | "MODIFIED" | "DELETED", object: T): void {
    for (const listener of [...this.#listeners]) listener(type, object);
  }

  async #relist(): Promise<void> {
    if (this.#stopped) return;
    let list: Awaited<ReturnType<ReflectorOptions<T>["list"]>>;
    try {
      list = await this.#options.list();
    } catch (error) {
      if (!this.#everSynced) {
        this.#rejectSynced(error as Error);
        this.#stopped = true;
        return;
      }
      this.#retry(error as Error);
      return;
    }
    const seen = new Set<string>();
    for (const item of list.items) {
      const name = item.metadata?.name ?? "";
      seen.add(name);
      const before = this.#objects.get(name);
      this.#objects.set(name, item);
      if (!before) this.#emit("ADDED", item);
      else if (before.metadata?.resourceVersion !== item.metadata?.resourceVersion) {
        this.#emit("MODIFIED", item);
      }
    }
    for (const [name, object] of this.#objects) {
      if (!seen.has(name)) {
        this.#objects.delete(name);
        this.#emit("DELETED", object);
      }
    }
    this.#version = list.metadata?.resourceVersion ?? "";
    this.#backoffMs = 500;
    if (!this.#everSynced) {
      this.#everSynced = true;
      this.#resolveSynced();
    }
    await this.#watch();
  }

  #retry(error: Error): void {
    this.#options.onError?.(error);
    const delay = this.#backoffMs;
    this.#backoffMs = Math.min(this.#backoffMs * 2, MAX_BACKOFF_MS);
    this.#timer = setTimeout(() => void this.#relist(), delay);
  }

  async #watch(): Promise<void> {
    if (this.#stopped) return;
    const { watchSeconds } = this.#options;
    let expired = false;
    let ended = false;
    const end = (error: unknown) => {
      if (ended) return;
      ended = true;
      clearTimeout(this.#timer);
      if (this.#stopped) return;
      const status = (error as { statusCode?: number; code?: number } | null)?.statusCode;
      if (expired || status === 410) void this.#relist();
      else if (error && !isAbort(error)) this.#retry(error as Error);
      else void this.#watch();
    };
    const query: Record<string, string | number | boolean> = {
      resourceVersion: this.#version,
      allowWatchBookmarks: true,
      timeoutSeconds: watchSeconds,
    };
    if (this.#options.labelSelector) query.labelSelector = this.#options.labelSelector;
    const controller = await this.#options.watch.watch(
      this.#options.path,
      query,
      (type: string, object: T & { code?: number }) => {
        if (type === "ERROR") {
          if (object.code === 410) expired = true;
          return;
        }
        const version = object.metadata?.resourceVersion;
        if (version) this.#version = version;
        if (type === "BOOKMARK") return;
        const name = object.metadata?.name ?? "";
        if (type === "DELETED") {
          this.#objects.delete(name);
          this.#emit("DELETED", object);
        } else if (type === "ADDED" || type === "MODIFIED") {
          const had = this.#objects.has(name);
          this.#objects.set(name, object);
          this.#emit(had ? "MODIFIED" : "ADDED", object);
        }
      },
      end,
    );
    this.#abort = controller;
    if (ended) return;
    // A server that does not honour timeoutSeconds, or a connection gone silent, is cut here.
    this.#timer = setTimeout(() => controller.abort(), (watchSeconds + 5) * 1000);
  }
}

function isAbort(error: unknown): boolean {
  return (error as { name?: string }).name === "AbortError";
}
