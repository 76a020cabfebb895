/**
 * Summing the load replicas record on one content item: connections and waiting requests add
 * up, the content was last active when it was last active anywhere, and a process is idle only
 * when idle everywhere, since its last connection anywhere.
 */
import { describe, expect, it } from "vitest";
import { defaults } from "../../src/config/settings.js";
import { clusterLoad } from "../../src/content/cluster-load.js";
import type { ContentLoad, RunLoad } from "../../src/content/load-tracker.js";
import { type DesiredProcesses, planProcesses } from "../../src/content/process-plan.js";
import { DEFAULT_CONTENT_SETTINGS, processSettings } from "../../src/content/process-settings.js";

function load(
  connections: number,
  waiting: number,
  lastActive: number | null,
  runs: [number, RunLoad][] = [],
): ContentLoad {
  return { connections, waiting, lastActive, runs: new Map(runs) };
}

describe("the load across replicas", () => {
  it("is this replica's own when no peer records any", () => {
    const own = load(2, 1, 500, [[7, { connections: 2, idleSince: null }]]);
    expect(clusterLoad(own, [])).toEqual(own);
  });

  it("adds up connections and waiting requests, and takes the latest activity", () => {
    const summed = clusterLoad(load(1, 0, 1000), [load(2, 3, 4000), load(0, 1, null)]);
    expect(summed).toMatchObject({ connections: 3, waiting: 4, lastActive: 4000 });
    expect(clusterLoad(load(0, 0, null), [load(0, 0, 2000)]).lastActive).toBe(2000);
  });

  it("counts a process busy while any replica has a connection to it, and idle since the last one closed anywhere", () => {
    const summed = clusterLoad(
      load(0, 0, 100, [
        [1, { connections: 0, idleSince: 100 }],
        [2, { connections: 0, idleSince: 300 }],
      ]),
      [
        load(1, 0, 200, [
          [1, { connections: 1, idleSince: null }],
          [2, { connections: 0, idleSince: 200 }],
          [3, { connections: 0, idleSince: 900 }],
        ]),
        load(0, 0, 50, [[2, { connections: 0, idleSince: 50 }]]),
      ],
    );
    expect([...summed.runs]).toEqual([
      [1, { connections: 1, idleSince: null }],
      [2, { connections: 0, idleSince: 300 }],
      [3, { connections: 0, idleSince: 900 }],
    ]);
  });

  it("leaves this replica's own counts as they were", () => {
    const run = { connections: 1, idleSince: null };
    const own = load(1, 0, 100, [[1, run]]);
    clusterLoad(own, [load(2, 0, 200, [[1, { connections: 2, idleSince: null }]])]);
    expect(own.runs.get(1)).toEqual({ connections: 1, idleSince: null });
    expect(own.connections).toBe(1);
  });

  describe("planned with", () => {
    const settings = {
      ...processSettings(DEFAULT_CONTENT_SETTINGS, defaults().Scheduler),
      minProcesses: 0,
      maxProcesses: 3,
      maxConnsPerProcess: 1,
      loadFactor: 1,
      idleTimeoutMs: 1000,
    };
    const process = (id: number, slot: number) => ({
      id,
      slot,
      specHash: "h",
      status: "ready" as const,
      created: 0,
      connections: 0,
      idleSince: 0,
    });
    const desired = (summed: ContentLoad): DesiredProcesses => ({
      specHash: "h",
      settings,
      connections: summed.connections,
      waiting: summed.waiting,
      lastActive: summed.lastActive,
    });

    it("keeps a process another replica is sending requests to, which this one would stop as idle", () => {
      const own = load(0, 0, null, [[1, { connections: 0, idleSince: 0 }]]);
      const peer = load(1, 0, 9000, [[1, { connections: 1, idleSince: null }]]);
      const alone = planProcesses(desired(own), [process(1, 0)], 10_000);
      expect(alone.actions).toEqual([{ kind: "stop", id: 1, why: "idle" }]);
      const summed = clusterLoad(own, [peer]);
      const observed = [{ ...process(1, 0), ...summed.runs.get(1)! }];
      expect(planProcesses(desired(summed), observed, 10_000).actions).toEqual([]);
    });

    it("starts a process for connections split over replicas that neither needs alone", () => {
      const own = load(1, 0, 9000);
      const peer = load(1, 0, 9000);
      expect(planProcesses(desired(own), [process(1, 0)], 10_000).wanted).toBe(1);
      const plan = planProcesses(desired(clusterLoad(own, [peer])), [process(1, 0)], 10_000);
      expect(plan.actions).toEqual([{ kind: "start", slot: 1 }]);
    });
  });
});
