/**
 * Reads on the content path that every request repeats (the caller's key, the content's row),
 * kept for a moment so a burst of requests reads the database once. The rule a reader can
 * count on: a write through this store makes every kept read fresh at once, and a write
 * through another server sharing the database is seen within `ttlMs`.
 */
import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryId,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from "kysely";

/** How long a kept read may be reused: what another replica's change waits at most. */
export const RECENT_READ_MS = 1000;
/** Enough for every key and content item busy within a second; a flood starts afresh. */
const MAX_KEPT = 10_000;

interface Kept {
  value: Promise<unknown>;
  generation: number;
  until: number;
}

export class RecentReads {
  readonly #kept = new Map<string, Kept>();
  readonly #ttlMs: number;
  readonly #now: () => number;
  #generation = 0;

  constructor(ttlMs = RECENT_READ_MS, now: () => number = Date.now) {
    this.#ttlMs = ttlMs;
    this.#now = now;
  }

  /** `load()`'s answer, or the one kept under `key` if no write has happened since. */
  read<T>(key: string, load: () => Promise<T>): Promise<T> {
    const now = this.#now();
    const kept = this.#kept.get(key);
    if (kept && kept.generation === this.#generation && kept.until > now) {
      return kept.value as Promise<T>;
    }
    if (this.#kept.size >= MAX_KEPT) this.#kept.clear();
    const generation = this.#generation;
    const value = load();
    this.#kept.set(key, { value, generation, until: now + this.#ttlMs });
    // A failed read is not kept: the next caller tries again.
    value.catch(() => {
      if (this.#kept.get(key)?.value === value) this.#kept.delete(key);
    });
    return value;
  }

  /**
   * Everything kept so far is stale. Called as a write is sent and again once it is done, so
   * a read that ran beside the write is not kept either.
   */
  written(): void {
    this.#generation++;
    this.#kept.clear();
  }

  /** A Kysely plugin that calls `written()` around every statement but a select. */
  plugin(): KyselyPlugin {
    const writes = new WeakSet<QueryId>();
    return {
      transformQuery: ({ node, queryId }: PluginTransformQueryArgs): RootOperationNode => {
        if (node.kind !== "SelectQueryNode") {
          writes.add(queryId);
          this.written();
        }
        return node;
      },
      transformResult: async ({
        queryId,
        result,
      }: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> => {
        if (writes.delete(queryId)) this.written();
        return result;
      },
    };
  }
}
