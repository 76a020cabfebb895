/**
 * How many application processes a content item should have, and what to do about the ones it
 * has: desired state and observed state in, a list of actions out. Pure: the clock is an
 * argument, and so is the load the proxy sees.
 */
import type { ProcessSettings } from "./process-settings.js";

export interface DesiredProcesses {
  /** The spec hash every process should have; null when nothing should run. */
  readonly specHash: string | null;
  readonly settings: ProcessSettings;
  /** Client connections open to the content now, across its processes. */
  readonly connections: number;
  /** Requests waiting for a process to become ready. */
  readonly waiting: number;
  /** When the content last had a connection open or a request waiting (ms since epoch). */
  readonly lastActive: number | null;
}

export interface ObservedProcess {
  readonly id: number;
  readonly slot: number;
  readonly specHash: string;
  readonly status: "starting" | "ready" | "stopping" | "exited";
  /** When it was started (ms since epoch). */
  readonly created: number;
  readonly connections: number;
  /** Since when it has had no connection (ms since epoch); null while it has some. */
  readonly idleSince: number | null;
}

export type ProcessAction =
  | { readonly kind: "start"; readonly slot: number }
  | { readonly kind: "stop"; readonly id: number; readonly why: StopReason }
  | { readonly kind: "forget"; readonly id: number };

/** Why a process is stopped, for the log: its spec changed, it idled, it never got ready, or the content should not run. */
export type StopReason = "outdated" | "idle" | "not-ready-in-time" | "not-wanted";

export interface ProcessPlan {
  readonly actions: readonly ProcessAction[];
  /** How many processes the content should have now. */
  readonly wanted: number;
  /** When to look again (ms since epoch): a start to watch, an idle timeout to act on. */
  readonly recheckAt: number | null;
}

/** Processes wanted for the load: enough that none carries more than its share of connections. */
export function wantedProcesses(desired: DesiredProcesses, now: number): number {
  const { settings } = desired;
  const share = Math.max(1, settings.loadFactor * settings.maxConnsPerProcess);
  const load = Math.ceil((desired.connections + desired.waiting) / share);
  const recentlyActive =
    desired.waiting > 0 ||
    desired.connections > 0 ||
    (desired.lastActive !== null && now - desired.lastActive < settings.idleTimeoutMs);
  const floor = recentlyActive ? 1 : 0;
  return Math.min(settings.maxProcesses, Math.max(settings.minProcesses, floor, load));
}

export function planProcesses(
  desired: DesiredProcesses,
  observed: readonly ObservedProcess[],
  now: number,
): ProcessPlan {
  const { settings } = desired;
  const actions: ProcessAction[] = [];
  let recheckAt: number | null = null;
  const later = (at: number) => {
    recheckAt = recheckAt === null ? at : Math.min(recheckAt, at);
  };

  for (const process of observed) {
    if (process.status === "exited") actions.push({ kind: "forget", id: process.id });
  }
  const live = observed.filter((p) => p.status === "starting" || p.status === "ready");
  // Content that should not run at all loses its processes, whatever they are doing.
  if (desired.specHash === null) {
    for (const process of live) actions.push({ kind: "stop", id: process.id, why: "not-wanted" });
    return { actions, wanted: 0, recheckAt: null };
  }
  const current: ObservedProcess[] = [];
  for (const process of live) {
    if (process.specHash !== desired.specHash) {
      actions.push({ kind: "stop", id: process.id, why: "outdated" });
    } else if (process.status === "starting" && now - process.created >= settings.initTimeoutMs) {
      actions.push({ kind: "stop", id: process.id, why: "not-ready-in-time" });
    } else {
      current.push(process);
      if (process.status === "starting") later(process.created + settings.initTimeoutMs);
    }
  }

  const wanted = wantedProcesses(desired, now);
  // Slots of processes that stay; one being stopped gives its slot up (names carry the spec).
  const used = new Set(current.map((p) => p.slot));
  let missing = wanted - current.length;
  for (let slot = 0; missing > 0; slot++) {
    if (used.has(slot)) continue;
    actions.push({ kind: "start", slot });
    missing--;
  }

  // Above what is wanted, idle processes go once their idle timeout has passed, newest slot first.
  let extra = current.length - Math.max(wanted, settings.minProcesses);
  const idle = current
    .filter((p) => p.status === "ready" && p.connections === 0 && p.idleSince !== null)
    .sort((a, b) => b.slot - a.slot);
  for (const process of idle) {
    if (extra <= 0) break;
    const due = (process.idleSince ?? now) + settings.idleTimeoutMs;
    if (due <= now) {
      actions.push({ kind: "stop", id: process.id, why: "idle" });
      extra--;
    } else {
      later(due);
    }
  }
  // The last request gone, the content stops being recently active once its idle timeout passes.
  const quiet = desired.connections === 0 && desired.waiting === 0;
  if (quiet && desired.lastActive !== null && wanted > settings.minProcesses) {
    const due = desired.lastActive + settings.idleTimeoutMs;
    if (due > now) later(due);
  }
  return { actions, wanted, recheckAt };
}
