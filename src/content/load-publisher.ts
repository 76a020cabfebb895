/**
 * Shares this replica's load on each content item with the other replicas, through the
 * content_load table: throttled, never a write per request. The first change after a quiet
 * second is written at once (a burst's start, such as 0 → n waiting requests, is seen by the
 * replica reconciling the content before it can decide the content idle), and changes within
 * a second of a write are folded into one write at the end of that second, which reads the
 * load as it is then.
 */
import type { FastifyBaseLogger } from "fastify";
import type { Kysely } from "kysely";
import { deleteServerLoad, publishLoad } from "../store/content-load.js";
import type { Tables } from "../store/schema.js";
import type { LoadTracker } from "./load-tracker.js";

export interface LoadPublisherDeps {
  db: Kysely<Tables>;
  serverId: string;
  load: LoadTracker;
  logger: FastifyBaseLogger;
  /** The least time between two writes of one key. */
  intervalMs?: number;
  now?: () => number;
}

export class LoadPublisher {
  readonly #deps: LoadPublisherDeps;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #lastWrite = new Map<string, number>();
  readonly #pending = new Map<string, NodeJS.Timeout>();
  /** Each key's writes in order, so an older snapshot never lands after a newer one. */
  readonly #writes = new Map<string, Promise<void>>();
  #closed = false;

  constructor(deps: LoadPublisherDeps) {
    this.#deps = deps;
    this.#intervalMs = deps.intervalMs ?? 1000;
    this.#now = deps.now ?? Date.now;
    deps.load.onChange((key) => this.changed(key));
  }

  changed(key: string): void {
    if (this.#closed || this.#pending.has(key)) return;
    const wait = (this.#lastWrite.get(key) ?? Number.NEGATIVE_INFINITY) + this.#intervalMs;
    const inMs = wait - this.#now();
    if (inMs <= 0) {
      this.#write(key);
      return;
    }
    const timer = setTimeout(() => {
      this.#pending.delete(key);
      this.#write(key);
    }, inMs);
    timer.unref();
    this.#pending.set(key, timer);
  }

  /** Stops writing the key's load, once a write under way has landed (so it can be deleted). */
  async forget(key: string): Promise<void> {
    clearTimeout(this.#pending.get(key));
    this.#pending.delete(key);
    this.#lastWrite.delete(key);
    await this.#writes.get(key);
  }

  /** Writes nothing more and deletes this server's rows: its requests go with it. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#pending.values()) clearTimeout(timer);
    this.#pending.clear();
    await Promise.allSettled(this.#writes.values());
    await deleteServerLoad(this.#deps.db, this.#deps.serverId);
  }

  #write(key: string): void {
    const { db, serverId, load, logger } = this.#deps;
    this.#lastWrite.set(key, this.#now());
    const previous = this.#writes.get(key) ?? Promise.resolve();
    const write = previous
      .then(() => publishLoad(db, key, serverId, load.load(key), this.#now()))
      .catch((error: Error) => logger.warn({ err: error, content: key }, "could not share load"))
      .finally(() => {
        if (this.#writes.get(key) === write) this.#writes.delete(key);
      });
    this.#writes.set(key, write);
  }
}
