/**
 * The load the proxy puts on each application: open connections per process, requests waiting
 * for a process, and when each content item and process was last busy. The scheduler reads it
 * to decide how many processes a content item needs and which may stop. Each change is told to
 * whoever listens (the publisher that shares it with the other replicas).
 */

export interface ContentLoad {
  connections: number;
  waiting: number;
  lastActive: number | null;
  runs: ReadonlyMap<number, RunLoad>;
}

export interface RunLoad {
  connections: number;
  /** Since when the process has had no connection; null while it has some. */
  idleSince: number | null;
}

interface Entry {
  waiting: number;
  lastActive: number | null;
  runs: Map<number, RunLoad>;
}

export class LoadTracker {
  readonly #content = new Map<string, Entry>();
  readonly #now: () => number;
  readonly #listeners: ((contentGuid: string) => void)[] = [];

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** Calls `listener` with the content guid after each connection or wait begins or ends. */
  onChange(listener: (contentGuid: string) => void): void {
    this.#listeners.push(listener);
  }

  /**
   * Counts a connection to a process until the returned function is called, which answers
   * the connections the process has left.
   */
  connect(contentGuid: string, runId: number): () => number {
    const entry = this.#entry(contentGuid);
    const run = entry.runs.get(runId) ?? { connections: 0, idleSince: null };
    run.connections++;
    run.idleSince = null;
    entry.runs.set(runId, run);
    entry.lastActive = this.#now();
    this.#changed(contentGuid);
    let released = false;
    return () => {
      if (released) return run.connections;
      released = true;
      run.connections--;
      entry.lastActive = this.#now();
      if (run.connections === 0) run.idleSince = this.#now();
      this.#changed(contentGuid);
      return run.connections;
    };
  }

  /** Counts a request waiting for a process until the returned function is called. */
  wait(contentGuid: string): () => void {
    const entry = this.#entry(contentGuid);
    entry.waiting++;
    entry.lastActive = this.#now();
    this.#changed(contentGuid);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      entry.waiting--;
      entry.lastActive = this.#now();
      this.#changed(contentGuid);
    };
  }

  /** A process that has started: idle from now until its first connection. */
  started(contentGuid: string, runId: number): void {
    const entry = this.#entry(contentGuid);
    if (!entry.runs.has(runId)) entry.runs.set(runId, { connections: 0, idleSince: this.#now() });
  }

  forgetRun(contentGuid: string, runId: number): void {
    this.#content.get(contentGuid)?.runs.delete(runId);
  }

  forget(contentGuid: string): void {
    this.#content.delete(contentGuid);
  }

  load(contentGuid: string): ContentLoad {
    const entry = this.#content.get(contentGuid);
    if (!entry) return { connections: 0, waiting: 0, lastActive: null, runs: new Map() };
    let connections = 0;
    for (const run of entry.runs.values()) connections += run.connections;
    return { connections, waiting: entry.waiting, lastActive: entry.lastActive, runs: entry.runs };
  }

  #changed(contentGuid: string): void {
    for (const listener of this.#listeners) listener(contentGuid);
  }

  #entry(contentGuid: string): Entry {
    let entry = this.#content.get(contentGuid);
    if (!entry) {
      entry = { waiting: 0, lastActive: null, runs: new Map() };
      this.#content.set(contentGuid, entry);
    }
    return entry;
  }
}
