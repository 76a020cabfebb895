/**
 * A de-duplicating work queue, like client-go's rate-limited workqueue: keys are added by
 * whatever notices a change (a deploy, a request, an exit, a resync), a key waiting is queued
 * once however often it is added, one key is never handled by two workers at once (a key added
 * while it is being handled runs again afterwards), and a failing key is retried with capped
 * per-key exponential backoff.
 */

export interface QueueOptions {
  workers: number;
  /** First retry delay after a failure; doubles on each further failure of the same key. */
  baseDelayMs: number;
  maxDelayMs: number;
  onError?: (key: string, error: unknown, retryInMs: number) => void;
}

/** What handling a key asks for next: nothing, or another look after a while. */
export type Outcome = { readonly recheckInMs?: number } | undefined;

export class WorkQueue {
  readonly #handle: (key: string) => Promise<Outcome>;
  readonly #options: QueueOptions;
  readonly #ready: string[] = [];
  readonly #queued = new Set<string>();
  readonly #active = new Set<string>();
  readonly #again = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  readonly #idleWaiters: (() => void)[] = [];
  /** Who waits for the next pass over a key, taken when that pass begins. */
  readonly #flushes = new Map<string, (() => void)[]>();
  #running = 0;
  #closed = false;

  constructor(handle: (key: string) => Promise<Outcome>, options: QueueOptions) {
    this.#handle = handle;
    this.#options = options;
  }

  /** Queues the key now. */
  add(key: string): void {
    if (this.#closed) return;
    if (this.#active.has(key)) {
      this.#again.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    this.#ready.push(key);
    this.#pump();
  }

  /** Queues the key once `ms` have passed; an earlier pending time wins. */
  addAfter(key: string, ms: number): void {
    if (this.#closed) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = Date.now() + ms;
    const pending = this.#timers.get(key);
    if (pending && pending.at <= at) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.#timers.set(key, { at, timer });
  }

  /** Queues the key and resolves once a pass over it that began after this call has ended. */
  flush(key: string): Promise<void> {
    return new Promise((resolve) => {
      const waiters = this.#flushes.get(key) ?? [];
      waiters.push(resolve);
      this.#flushes.set(key, waiters);
      if (this.#active.has(key)) this.#again.add(key);
      else this.add(key);
    });
  }

  /** Resolves once nothing is queued or being handled (timers aside). */
  idle(): Promise<void> {
    if (this.#running === 0 && this.#ready.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /** Stops taking keys and waits for the ones being handled. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const { timer } of this.#timers.values()) clearTimeout(timer);
    this.#timers.clear();
    this.#ready.length = 0;
    this.#queued.clear();
    await this.idle();
  }

  #pump(): void {
    while (this.#running < this.#options.workers && this.#ready.length > 0) {
      const key = this.#ready.shift()!;
      this.#queued.delete(key);
      this.#active.add(key);
      this.#running++;
      void this.#work(key);
    }
  }

  async #work(key: string): Promise<void> {
    const flushed = this.#flushes.get(key) ?? [];
    this.#flushes.delete(key);
    try {
      const outcome = await this.#handle(key);
      this.#failures.delete(key);
      if (outcome?.recheckInMs !== undefined) this.addAfter(key, outcome.recheckInMs);
    } catch (error) {
      const failures = (this.#failures.get(key) ?? 0) + 1;
      this.#failures.set(key, failures);
      const delay = Math.min(
        this.#options.maxDelayMs,
        this.#options.baseDelayMs * 2 ** (failures - 1),
      );
      this.#options.onError?.(key, error, delay);
      this.addAfter(key, delay);
    } finally {
      for (const resolve of flushed) resolve();
      this.#active.delete(key);
      this.#running--;
      if (this.#again.delete(key)) this.add(key);
      this.#pump();
      if (this.#running === 0 && this.#ready.length === 0) {
        for (const resolve of this.#idleWaiters.splice(0)) resolve();
      }
    }
  }
}
