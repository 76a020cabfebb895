/**
 * A controller's work queue, as client-go's: keys are deduplicated, one key is never handled
 * twice at once, and a key added while it is being handled is handled again afterwards.
 */
export class WorkQueue {
  #queued = new Set<string>();
  #running = new Set<string>();
  #again = new Set<string>();
  #closed = false;

  constructor(
    readonly handler: (key: string) => Promise<void>,
    readonly onError: (key: string, error: unknown) => void,
  ) {}

  add(key: string): void {
    if (this.#closed) return;
    if (this.#running.has(key)) {
      this.#again.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    queueMicrotask(() => this.#run(key));
  }

  async #run(key: string): Promise<void> {
    this.#queued.delete(key);
    if (this.#closed) return;
    this.#running.add(key);
    try {
      await this.handler(key);
    } catch (error) {
      this.onError(key, error);
    } finally {
      this.#running.delete(key);
      if (this.#again.delete(key)) this.add(key);
    }
  }

  close(): void {
    this.#closed = true;
  }
}
