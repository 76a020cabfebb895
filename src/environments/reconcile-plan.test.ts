import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Environment, EnvironmentCreate } from "./model.js";
import { planReconcile, type ReconcileAction, summarizePlan } from "./reconcile-plan.js";

const SOURCE = "/etc/slipway/environments.yaml";

function environment(name: string, extra: Partial<Environment> = {}): Environment {
  return {
    id: "1",
    guid: `guid-${name}`,
    created_time: "2026-01-01T00:00:00Z",
    updated_time: "2026-01-01T00:00:00Z",
    title: null,
    description: null,
    cluster_name: "Kubernetes",
    name,
    environment_type: "Kubernetes",
    matching: "any",
    supervisor: null,
    managed_by: SOURCE,
    python: null,
    quarto: null,
    r: null,
    tensorflow: null,
    nodejs: null,
    volume_mounts: [],
    ...extra,
  };
}

/** Applies a plan to a catalog the way the store does, for the properties below. */
function applyPlanInMemory(actual: Environment[], plan: ReconcileAction[]): Environment[] {
  let next = [...actual];
  for (const action of plan) {
    if (action.kind === "create") {
      const e = action.environment;
      next.push(
        environment(action.name, {
          title: e.title ?? null,
          matching: e.matching ?? "any",
          python: e.python ?? null,
          managed_by: SOURCE,
        }),
      );
    } else if (action.kind === "update" || action.kind === "adopt") {
      next = next.map((e) =>
        e.guid === action.guid ? { ...e, ...action.changes, managed_by: SOURCE } : e,
      );
    } else if (action.kind === "retire") {
      next = next.map((e) => (e.guid === action.guid ? { ...e, matching: "none" } : e));
    } else if (action.kind === "delete") {
      next = next.filter((e) => e.guid !== action.guid);
    }
  }
  return next;
}

const py = (...versions: string[]) => ({
  installations: versions.map((v) => ({ version: v, path: `/opt/python/${v}/bin/python3` })),
});

describe("reconcile plan", () => {
  it("creates, updates, adopts, retires, deletes and leaves alone", () => {
    const actual = [
      environment("same", { title: "Same" }),
      environment("changed", { title: "Old", python: py("3.11.3") }),
      environment("api-made", { managed_by: null }),
      environment("dropped-used"),
      environment("dropped"),
      environment("other", { managed_by: null }),
    ];
    const desired: EnvironmentCreate[] = [
      { name: "same", title: "Same" },
      { name: "changed", title: "New", python: py("3.11.4") },
      { name: "api-made", matching: "exact" },
      { name: "new", description: "fresh" },
    ];
    const plan = planReconcile(desired, actual, {
      source: SOURCE,
      inUse: new Map([["guid-dropped-used", 2]]),
    });
    expect(plan.map((a) => `${a.kind} ${a.name}`)).toEqual([
      "adopt api-made",
      "update changed",
      "delete dropped",
      "retire dropped-used",
      "create new",
      "noop same",
    ]);
    expect(summarizePlan(plan)).toEqual([
      '~ adopt api-made (made through the API; matching: "any" → "exact")',
      '~ update changed (title: "Old" → "New"; python: 3.11.3 → 3.11.4)',
      "- delete dropped",
      "! retire dropped-used (still used by 2 content items; matching → none)",
      "+ create new",
      "Plan: 1 to create, 2 to change (1 adopted), 1 to retire, 1 to delete, 1 unchanged.",
    ]);
  });

  it("treats installations as a set and a retired, still-used entry as settled", () => {
    const actual = [
      environment("a", { python: py("3.11.3", "3.12.1") }),
      environment("gone", { matching: "none" }),
    ];
    const plan = planReconcile([{ name: "a", python: py("3.12.1", "3.11.3") }], actual, {
      source: SOURCE,
      inUse: new Map([["guid-gone", 1]]),
    });
    expect(plan.map((a) => a.kind)).toEqual(["noop", "noop"]);
  });

  const entry = fc.record(
    {
      name: fc.constantFrom("a:1", "b:1", "c:1", "d:1", "e:1"),
      title: fc.option(fc.constantFrom("A", "B"), { nil: undefined }),
      matching: fc.option(fc.constantFrom("any" as const, "exact" as const, "none" as const), {
        nil: undefined,
      }),
      python: fc.option(fc.constantFrom(py("3.11.3"), py("3.12.1", "3.11.3")), { nil: undefined }),
    },
    { requiredKeys: ["name"] },
  );
  const desiredList = fc.uniqueArray(entry, { selector: (e) => e.name, maxLength: 5 });
  const catalog = fc
    .uniqueArray(
      fc.record({
        name: fc.constantFrom("a:1", "b:1", "c:1", "d:1", "e:1", "f:1"),
        managed: fc.constantFrom(SOURCE, null, "/other/file.yaml"),
        matching: fc.constantFrom("any" as const, "none" as const),
      }),
      { selector: (e) => e.name, maxLength: 6 },
    )
    .map((list) =>
      list.map((e) => environment(e.name, { managed_by: e.managed, matching: e.matching })),
    );
  const inUse = fc
    .subarray(["guid-a:1", "guid-b:1", "guid-c:1", "guid-d:1", "guid-e:1", "guid-f:1"])
    .map((guids) => new Map(guids.map((g) => [g, 1])));

  it("plans only no-ops after applying its own plan", () => {
    fc.assert(
      fc.property(desiredList, catalog, inUse, (desired, actual, used) => {
        const options = { source: SOURCE, inUse: used };
        const applied = applyPlanInMemory(actual, planReconcile(desired, actual, options));
        expect(planReconcile(desired, applied, options).every((a) => a.kind === "noop")).toBe(true);
      }),
    );
  });

  it("never touches environments it does not manage and the file does not name", () => {
    fc.assert(
      fc.property(desiredList, catalog, inUse, (desired, actual, used) => {
        const named = new Set<string>(desired.map((d) => d.name));
        const plan = planReconcile(desired, actual, { source: SOURCE, inUse: used });
        for (const action of plan) {
          const current = actual.find((e) => e.name === action.name);
          if (current && current.managed_by !== SOURCE) expect(named.has(current.name)).toBe(true);
        }
      }),
    );
  });

  it("leaves every listed environment present and managed, and never deletes one in use", () => {
    fc.assert(
      fc.property(desiredList, catalog, inUse, (desired, actual, used) => {
        const plan = planReconcile(desired, actual, { source: SOURCE, inUse: used });
        const applied = applyPlanInMemory(actual, plan);
        for (const d of desired) {
          expect(applied.find((e) => e.name === d.name)?.managed_by).toBe(SOURCE);
        }
        for (const action of plan) {
          if (action.kind === "delete") expect(used.has(action.guid)).toBe(false);
        }
      }),
    );
  });
});
