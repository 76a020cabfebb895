/**
 * What Slipway measures about itself, in Prometheus's terms: how long selection, image pulls,
 * builds, application starts and requests through the content proxy take; how many processes
 * run per content item and per environment; how tasks end. One registry per server, so tests
 * that start several servers in one process each read their own.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** Processes this server runs, as the runs table records them, counted at scrape time. */
export interface ProcessCount {
  readonly contentGuid: string;
  /** The environment's image name, or "" where content runs without one (the host). */
  readonly environment: string;
  readonly count: number;
}

export type ProcessCounter = () => Promise<readonly ProcessCount[]>;

/** Seconds, from a tenth of a second (a cached selection) to ten minutes (a cold build). */
const WORK_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];
/** Seconds for requests through the proxy: milliseconds to a minute of a slow application. */
const REQUEST_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class Metrics {
  readonly registry = new Registry();

  readonly selection = new Histogram({
    name: "slipway_selection_duration_seconds",
    help: "Time to select an execution environment for a bundle, by result (selected, failed).",
    labelNames: ["result"] as const,
    buckets: WORK_BUCKETS,
    registers: [this.registry],
  });

  readonly imagePull = new Histogram({
    name: "slipway_image_pull_duration_seconds",
    help: "Time to pull a job's image onto the backend, by result (pulled, failed).",
    labelNames: ["result"] as const,
    buckets: WORK_BUCKETS,
    registers: [this.registry],
  });

  readonly build = new Histogram({
    name: "slipway_build_duration_seconds",
    help: "Time to build a bundle's packages (a cache hit included), by result (built, failed).",
    labelNames: ["result"] as const,
    buckets: WORK_BUCKETS,
    registers: [this.registry],
  });

  readonly appStart = new Histogram({
    name: "slipway_app_start_duration_seconds",
    help: "Time from starting an application process to its answering on its port, by result (ready, failed).",
    labelNames: ["result"] as const,
    buckets: WORK_BUCKETS,
    registers: [this.registry],
  });

  readonly proxyRequest = new Histogram({
    name: "slipway_content_request_duration_seconds",
    help: "Time to answer a request to an application through the content proxy, a start on demand included, by content and status class (2xx, 5xx...).",
    labelNames: ["content_guid", "status_class"] as const,
    buckets: REQUEST_BUCKETS,
    registers: [this.registry],
  });

  readonly proxyDirect = new Counter({
    name: "slipway_content_requests_direct_total",
    help: "Requests to applications taken by the content fast path (an API key or open content, no body), without the framework's routing.",
    registers: [this.registry],
  });

  readonly tasks = new Counter({
    name: "slipway_tasks_total",
    help: "Tasks finished, by kind (deploy, build...) and result (success, failure).",
    labelNames: ["kind", "result"] as const,
    registers: [this.registry],
  });

  #countProcesses: ProcessCounter = async () => [];

  constructor(options: { processMetrics?: boolean } = {}) {
    const counts = () => this.#countProcesses();
    new Gauge({
      name: "slipway_content_processes",
      help: "Application processes this server runs (starting, ready or stopping), by content.",
      labelNames: ["content_guid"] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const [guid, count] of sum(await counts(), (c) => c.contentGuid)) {
          this.set({ content_guid: guid }, count);
        }
      },
    });
    new Gauge({
      name: "slipway_environment_processes",
      help: 'Application processes this server runs, by execution environment (its image; "" for none).',
      labelNames: ["environment"] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const [environment, count] of sum(await counts(), (c) => c.environment)) {
          this.set({ environment }, count);
        }
      },
    });
    // The process's own figures (memory, CPU, event loop) only where someone scrapes them.
    if (options.processMetrics) collectDefaultMetrics({ register: this.registry });
  }

  /** Where the process gauges read their figures from (the runs table, once the store is open). */
  countProcessesWith(counter: ProcessCounter): void {
    this.#countProcesses = counter;
  }

  /** Runs `work`, observing its duration with `ok` on success and `failed` on a throw. */
  async time<T>(
    histogram: Histogram<"result">,
    results: { ok: string; failed: string },
    work: () => Promise<T>,
  ): Promise<T> {
    const end = histogram.startTimer();
    try {
      const value = await work();
      end({ result: results.ok });
      return value;
    } catch (error) {
      end({ result: results.failed });
      throw error;
    }
  }

  /** The exposition: Prometheus's text format, with its content type. */
  async exposition(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

function sum(counts: readonly ProcessCount[], key: (c: ProcessCount) => string) {
  const totals = new Map<string, number>();
  for (const count of counts) totals.set(key(count), (totals.get(key(count)) ?? 0) + count.count);
  return totals;
}
