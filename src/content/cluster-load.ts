/**
 * The load on a content item across the replicas that proxy it: this replica's own, fresh from
 * memory, plus what each live peer last recorded. Pure, so the planner gets the sum as data.
 */
import type { ContentLoad, RunLoad } from "./load-tracker.js";

export function clusterLoad(own: ContentLoad, peers: readonly ContentLoad[]): ContentLoad {
  let { connections, waiting, lastActive } = own;
  const runs = new Map<number, RunLoad>(own.runs);
  for (const peer of peers) {
    connections += peer.connections;
    waiting += peer.waiting;
    lastActive = latest(lastActive, peer.lastActive);
    for (const [id, run] of peer.runs) {
      const mine = runs.get(id);
      runs.set(id, mine ? sumRun(mine, run) : run);
    }
  }
  return { connections, waiting, lastActive, runs };
}

/** A process is idle only when idle everywhere, and since it last had a connection anywhere. */
function sumRun(a: RunLoad, b: RunLoad): RunLoad {
  const connections = a.connections + b.connections;
  return { connections, idleSince: connections > 0 ? null : latest(a.idleSince, b.idleSince) };
}

function latest(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}
