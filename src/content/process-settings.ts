/**
 * Connect's process and resource settings of a content item: what the publisher set on it
 * (null meaning the server's `[Scheduler]` default), resolved into what Slipway applies, and
 * the checks a change must pass. Pure.
 */
import type { Settings } from "../config/settings.js";
import { ApiError } from "../errors.js";
import type { ResourceName, Resources } from "../runners/runner.js";
import { PROCESS_FIELDS, RESOURCE_FIELDS } from "./model.js";

export type ProcessField = (typeof PROCESS_FIELDS)[number];
export type ResourceField = (typeof RESOURCE_FIELDS)[number];
export type ContentSettings = Record<ProcessField | ResourceField, number | null>;

/** Every setting unset: the server's defaults throughout. */
export const DEFAULT_CONTENT_SETTINGS = Object.fromEntries(
  [...PROCESS_FIELDS, ...RESOURCE_FIELDS].map((field) => [field, null]),
) as Readonly<ContentSettings>;

/** What the scheduler works with, all in milliseconds or counts. */
export interface ProcessSettings {
  minProcesses: number;
  maxProcesses: number;
  maxConnsPerProcess: number;
  loadFactor: number;
  idleTimeoutMs: number;
  initTimeoutMs: number;
  /** 0: never. */
  connectionTimeoutMs: number;
  readTimeoutMs: number;
}

export function processSettings(
  content: Readonly<ContentSettings>,
  scheduler: Settings["Scheduler"],
): ProcessSettings {
  const or = (value: number | null, fallback: number) => value ?? fallback;
  const min = or(content.min_processes, scheduler.MinProcesses);
  return {
    minProcesses: min,
    maxProcesses: Math.max(min, or(content.max_processes, scheduler.MaxProcesses), 1),
    maxConnsPerProcess: Math.max(
      1,
      or(content.max_conns_per_process, scheduler.MaxConnsPerProcess),
    ),
    loadFactor: or(content.load_factor, scheduler.LoadFactor),
    idleTimeoutMs: or(content.idle_timeout, scheduler.IdleTimeout) * 1000,
    initTimeoutMs: or(content.init_timeout, scheduler.InitTimeout) * 1000,
    connectionTimeoutMs: or(content.connection_timeout, scheduler.ConnectionTimeout) * 1000,
    readTimeoutMs: or(content.read_timeout, scheduler.ReadTimeout) * 1000,
  };
}

const RESOURCE_OF: Record<ResourceField, ResourceName> = {
  memory_limit: "memoryLimitBytes",
  memory_request: "memoryRequestBytes",
  cpu_limit: "cpuLimit",
  cpu_request: "cpuRequest",
  nvidia_gpu_limit: "nvidiaGpus",
  amd_gpu_limit: "amdGpus",
};

/** The resources a job of this content asks for; unset (and zero) fields ask for nothing. */
export function contentResources(content: Readonly<ContentSettings>): Resources {
  const resources: Partial<Record<ResourceName, number>> = {};
  for (const field of RESOURCE_FIELDS) {
    const value = content[field];
    if (value !== null && value > 0) resources[RESOURCE_OF[field]] = value;
  }
  return resources;
}

/** The resource settings a runner that enforces `enforces` can honour. */
export function enforcedResourceFields(enforces: ReadonlySet<ResourceName>): ResourceField[] {
  return RESOURCE_FIELDS.filter((field) => enforces.has(RESOURCE_OF[field]));
}

/**
 * Refuses a change that leaves the settings inconsistent (min above max, a request above its
 * limit, beyond the server's limits) or asks the runner for a resource it cannot enforce, with
 * the field named. `merged` is the content's settings with the change applied.
 */
export function checkContentSettings(
  merged: Readonly<ContentSettings>,
  changed: readonly string[],
  scheduler: Settings["Scheduler"],
  enforces: ReadonlySet<ResourceName>,
  backend: string,
): void {
  const refuse = (field: string, why: string) => {
    throw new ApiError("invalidParameter", `${field} ${why}.`, { payload: { field } });
  };
  const limit = scheduler.MaxProcessesLimit;
  for (const field of ["min_processes", "max_processes"] as const) {
    const value = merged[field];
    if (value !== null && value > limit) {
      refuse(
        field,
        `is ${value}, above the server's limit of ${limit} (Scheduler.MaxProcessesLimit)`,
      );
    }
  }
  if (merged.max_processes === 0) refuse("max_processes", "must be at least 1");
  const min = merged.min_processes ?? scheduler.MinProcesses;
  const max = merged.max_processes ?? scheduler.MaxProcesses;
  if (min > max) {
    refuse(
      changed.includes("min_processes") ? "min_processes" : "max_processes",
      `leaves min_processes (${min}) above max_processes (${max})`,
    );
  }
  if (merged.max_conns_per_process === 0) refuse("max_conns_per_process", "must be at least 1");
  if (merged.load_factor !== null && (merged.load_factor < 0 || merged.load_factor > 1)) {
    refuse("load_factor", "must be between 0 and 1");
  }
  for (const [request, ceiling] of [
    ["memory_request", "memory_limit"],
    ["cpu_request", "cpu_limit"],
  ] as const) {
    const asked = merged[request];
    const most = merged[ceiling];
    if (asked !== null && most !== null && most > 0 && asked > most) {
      refuse(request, `(${asked}) is above ${ceiling} (${most})`);
    }
  }
  for (const field of RESOURCE_FIELDS) {
    const value = merged[field];
    if (
      changed.includes(field) &&
      value !== null &&
      value > 0 &&
      !enforces.has(RESOURCE_OF[field])
    ) {
      refuse(
        field,
        `cannot be enforced by the ${backend} runner; run content on a container backend ([Docker] or [Kubernetes]) to limit resources`,
      );
    }
  }
}
