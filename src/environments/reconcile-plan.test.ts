import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Environment, EnvironmentCreate, VolumeMount } from "./model.js";
import { planReconcile, type ReconcileAction, summarizePlan } from "./reconcile-plan.js";

const SOURCE = "/etc/slipway/environments.yaml";
const NAMES = ["a:1", "b:1", "c:1", "d:1", "e:1", "f:1"];

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
    image_pull_policy: null,
    node_selector: null,
    tolerations: null,
    service_account: null,
    image_pull_secrets: null,
    ...extra,
  };
}

/** Applies a plan to a catalog the way the store does, for the properties below. */
function applyPlanInMemory(actual: readonly Environment[], plan: ReconcileAction[]): Environment[] {
  let next = [...actual];
  for (const action of plan) {
    if (action.kind === "create") {
      next.push({ ...environment(action.name), ...action.environment });
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
const plan = (desired: EnvironmentCreate[], actual: Environment[], inUse = new Map()) =>
  planReconcile(desired, actual, { source: SOURCE, inUse });
const kinds = (actions: ReconcileAction[]) => actions.map((a) => `${a.kind} ${a.name}`);

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
    const actions = plan(desired, actual, new Map([["guid-dropped-used", 2]]));
    expect(kinds(actions)).toEqual([
      "adopt api-made",
      "update changed",
      "delete dropped",
      "retire dropped-used",
      "create new",
      "noop same",
    ]);
    expect(summarizePlan(actions)).toEqual([
      '~ adopt api-made (made through the API; matching: "any" → "exact")',
      '~ update changed (title: "Old" → "New"; python: 3.11.3 → 3.11.4)',
      "- delete dropped",
      "! retire dropped-used (still used by 2 content items; matching → none)",
      "+ create new",
      "Plan: 1 to create, 2 to change (1 adopted), 1 to retire, 1 to delete, 1 unchanged.",
    ]);
  });

  it("creates the full row, defaults applied and managed by the file", () => {
    const [create] = plan([{ name: "new:1", python: py("3.12.1") }], []);
    expect(create).toEqual({
      kind: "create",
      name: "new:1",
      environment: {
        name: "new:1",
        cluster_name: "Kubernetes",
        title: null,
        description: null,
        matching: "any",
        supervisor: null,
        managed_by: SOURCE,
        python: py("3.12.1"),
        quarto: null,
        r: null,
        tensorflow: null,
        nodejs: null,
        volume_mounts: [],
        image_pull_policy: null,
        node_selector: null,
        tolerations: null,
        service_account: null,
        image_pull_secrets: null,
      },
    });
  });

  it("updates only the fields that differ", () => {
    const [update] = plan(
      [{ name: "a:1", title: "T", supervisor: "/s", python: py("3.11.3") }],
      [environment("a:1", { title: "T", python: py("3.11.3") })],
    );
    expect(update).toMatchObject({ kind: "update", changes: { supervisor: "/s" } });
    expect(Object.keys((update as { changes: object }).changes)).toEqual(["supervisor"]);
  });

  it("treats installations as a set and volume mounts by content, not key order", () => {
    const mount = {
      target: { read_only: true, path: "/data" },
      source: { pvc_name: "data", nfs_host: null, volume_type: "pvc" },
    } as VolumeMount;
    const actual = [environment("a:1", { python: py("3.11.3", "3.12.1"), volume_mounts: [mount] })];
    const desired: EnvironmentCreate[] = [
      {
        name: "a:1",
        python: py("3.12.1", "3.11.3"),
        volume_mounts: [
          {
            source: { volume_type: "pvc", pvc_name: "data" },
            target: { path: "/data", read_only: true },
          },
        ],
      },
    ];
    expect(kinds(plan(desired, actual))).toEqual(["noop a:1"]);
    expect(kinds(plan([{ name: "a:1", python: py("3.11.3") }], actual))).toEqual(["update a:1"]);
  });

  it("keeps a retired environment until its last user leaves, and brings it back when listed", () => {
    const retired = [environment("gone:1", { matching: "none" })];
    expect(kinds(plan([], retired, new Map([["guid-gone:1", 1]])))).toEqual(["noop gone:1"]);
    expect(kinds(plan([], retired))).toEqual(["delete gone:1"]);
    const [back] = plan([{ name: "gone:1" }], retired);
    expect(back).toMatchObject({ kind: "update", changes: { matching: "any" } });
  });

  it("takes over an environment another file managed, and names it", () => {
    const actions = plan([{ name: "a:1" }], [environment("a:1", { managed_by: "/old/envs.yaml" })]);
    expect(summarizePlan(actions)[0]).toBe("~ adopt a:1 (managed by /old/envs.yaml)");
  });

  it("with an empty file, removes only its own environments", () => {
    const actual = [environment("mine:1"), environment("api:1", { managed_by: null })];
    expect(kinds(plan([], actual))).toEqual(["delete mine:1"]);
    expect(summarizePlan(plan([], [])).at(-1)).toBe(
      "Plan: 0 to create, 0 to change (0 adopted), 0 to retire, 0 to delete, 0 unchanged.",
    );
  });
});

describe("reconcile plan properties", () => {
  const installations = fc.option(
    fc.constantFrom(py("3.11.3"), py("3.12.1", "3.11.3"), py("3.11.3", "3.12.1"), py()),
    { nil: undefined },
  );
  const mounts = fc.option(
    fc.constantFrom<VolumeMount[][]>(
      [],
      [{ source: { volume_type: "pvc", pvc_name: "x" }, target: { path: "/x" } }],
      [{ target: { path: "/x" }, source: { pvc_name: "x", volume_type: "pvc", nfs_host: null } }],
    ),
    { nil: undefined },
  );
  const text = fc.option(fc.constantFrom("A", "B", null), { nil: undefined });
  const matching = fc.constantFrom("any" as const, "exact" as const, "none" as const);
  const entry = fc.record(
    {
      name: fc.constantFrom(...NAMES.slice(0, 5)),
      title: text,
      description: text,
      supervisor: fc.option(fc.constantFrom("/s", null), { nil: undefined }),
      matching: fc.option(matching, { nil: undefined }),
      python: installations,
      r: installations,
      volume_mounts: mounts,
    },
    { requiredKeys: ["name"] },
  );
  const desiredList = fc.uniqueArray(entry, { selector: (e) => e.name, maxLength: 5 });
  const catalog = fc
    .uniqueArray(
      fc.record({
        name: fc.constantFrom(...NAMES),
        managed: fc.constantFrom(SOURCE, null, "/other/file.yaml"),
        matching,
        title: fc.constantFrom("A", null),
        python: fc.constantFrom(py("3.11.3"), null),
      }),
      { selector: (e) => e.name, maxLength: 6 },
    )
    .map((list) =>
      list.map(({ name, managed, ...fields }) =>
        environment(name, { managed_by: managed, ...fields }),
      ),
    );
  const inUse = fc
    .subarray(NAMES.map((n) => `guid-${n}`))
    .map((guids) => new Map(guids.map((g, i) => [g, i + 1])));

  it("plans only no-ops after applying its own plan", () => {
    fc.assert(
      fc.property(desiredList, catalog, inUse, (desired, actual, used) => {
        const applied = applyPlanInMemory(actual, plan(desired, actual, used));
        expect(plan(desired, applied, used).every((a) => a.kind === "noop")).toBe(true);
      }),
    );
  });

  it("never touches environments it does not manage and the file does not name", () => {
    fc.assert(
      fc.property(desiredList, catalog, inUse, (desired, actual, used) => {
        const named = new Set<string>(desired.map((d) => d.name));
        const applied = applyPlanInMemory(actual, plan(desired, actual, used));
        for (const before of actual) {
          if (before.managed_by === SOURCE || named.has(before.name)) continue;
          expect(plan(desired, actual, used).some((a) => a.name === before.name)).toBe(false);
          expect(applied.find((e) => e.guid === before.guid)).toEqual(before);
        }
      }),
    );
  });

  it("leaves every listed environment present and managed, and never deletes one in use", () => {
    fc.assert(
      fc.property(desiredList, catalog, inUse, (desired, actual, used) => {
        const actions = plan(desired, actual, used);
        const applied = applyPlanInMemory(actual, actions);
        for (const d of desired) {
          expect(applied.filter((e) => e.name === d.name).map((e) => e.managed_by)).toEqual([
            SOURCE,
          ]);
        }
        for (const e of actual) {
          if (used.has(e.guid)) expect(applied.some((a) => a.guid === e.guid)).toBe(true);
        }
        expect(actions.every((a) => a.kind !== "delete" || !used.has(a.guid))).toBe(true);
      }),
    );
  });

  it("orders by image name, whatever the order of its inputs", () => {
    fc.assert(
      fc.property(desiredList, catalog, inUse, fc.nat(), (desired, actual, used, seed) => {
        const rotate = <T>(list: T[]) => list.map((_, i) => list[(i + seed) % list.length]!);
        const actions = plan(desired, actual, used);
        expect(plan(rotate(desired), rotate(actual), used)).toEqual(actions);
        const names = actions.map((a) => a.name);
        expect(names).toEqual([...names].sort());
      }),
    );
  });
});
