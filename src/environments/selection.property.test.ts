import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isApiError } from "../errors.js";
import type { ContentNeeds } from "./manifest.js";
import { contentNeeds, parseManifest } from "./manifest.js";
import {
  type MatchingMode,
  type Modes,
  NOT_PERMITTED,
  type SelectableEnvironment,
  selectEnvironment,
} from "./selection.js";
import { type EnvironmentPermit, notPermittedFor } from "./selection-permits.js";
import { satisfies } from "./specifiers.js";
import { compareVersions, parseVersion, part } from "./versions.js";

const version = fc
  .tuple(
    fc.integer({ min: 3, max: 4 }),
    fc.integer({ min: 0, max: 4 }),
    fc.integer({ min: 0, max: 3 }),
  )
  .map((v) => v.join("."));
const installations = fc.option(
  fc.uniqueArray(version, { minLength: 1, maxLength: 3 }).map((vs) => ({
    installations: vs.map((v) => ({ version: v, path: `/opt/x/${v}/bin/x` })),
  })),
  { nil: null },
);
const environment = (matching: fc.Arbitrary<"any" | "exact" | "none">) =>
  fc.record({
    guid: fc.uuid(),
    name: fc.string({ minLength: 1, maxLength: 8 }),
    title: fc.constant(null),
    matching,
    created_time: fc
      .integer({ min: 0, max: 50 })
      .map((s) => `2026-01-01T00:00:${String(s).padStart(2, "0")}Z`),
    python: installations,
    r: installations,
    quarto: installations,
  });
const catalog = fc.uniqueArray(environment(fc.constantFrom("any", "exact", "none")), {
  maxLength: 8,
  selector: (e) => e.guid,
});
const mode = fc.constantFrom<MatchingMode>("exact", "major-minor", "nearest");
const modes = fc.record({ r: mode, python: mode, quarto: mode });
const requires = fc.option(
  fc.tuple(fc.constantFrom(">=", "<", "~=", "==", "!="), version).map(([op, v]) => `${op}${v}`),
  { nil: undefined },
);
const needs = fc
  .record({
    appmode: fc.constantFrom("python-api", "shiny", "quarto-static"),
    python: fc.option(version, { nil: undefined }),
    platform: fc.option(version, { nil: undefined }),
    quarto: fc.option(version, { nil: undefined }),
    pyRequires: requires,
    rRequires: requires,
  })
  .map(
    (n): ContentNeeds =>
      contentNeeds(
        parseManifest({
          metadata: { appmode: n.appmode },
          ...(n.appmode !== "shiny" ? { python: { version: n.python } } : {}),
          ...(n.platform ? { platform: n.platform } : {}),
          ...(n.appmode === "quarto-static"
            ? { quarto: { version: n.quarto, engines: ["knitr"] } }
            : {}),
          environment: {
            ...(n.pyRequires ? { python: { requires: n.pyRequires } } : {}),
            ...(n.rRequires ? { r: { requires: n.rRequires } } : {}),
          },
        }),
      ),
  );

type Outcome = { guid: string | null; installations: unknown } | { code: number };
function outcome(n: ContentNeeds, environments: SelectableEnvironment[], m: Modes): Outcome {
  try {
    const result = selectEnvironment({ needs: n, environments, modes: m });
    return { guid: result.environment?.guid ?? null, installations: result.installations };
  } catch (error) {
    if (isApiError(error)) return { code: error.code };
    throw error;
  }
}

describe("selection properties (selection.md section 7)", () => {
  it("does not depend on the order of the environment list", () => {
    fc.assert(
      fc.property(
        needs,
        catalog,
        modes,
        fc.infiniteStream(fc.nat()),
        (n, environments, m, seeds) => {
          const shuffled = [...environments]
            .map((e) => ({ e, k: seeds.next().value }))
            .sort((a, b) => a.k - b.k)
            .map((x) => x.e);
          expect(outcome(n, shuffled, m)).toEqual(outcome(n, environments, m));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("is unchanged by adding a none environment, or an exact one when nothing is pinned", () => {
    fc.assert(
      fc.property(
        needs,
        catalog,
        modes,
        environment(fc.constantFrom("none", "exact")),
        (n, environments, m, extra) => {
          fc.pre(!environments.some((e) => e.guid === extra.guid));
          expect(outcome(n, [...environments, extra], m)).toEqual(outcome(n, environments, m));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("always picks installations that satisfy the constraint and the mode", () => {
    fc.assert(
      fc.property(needs, catalog, modes, (n, environments, m) => {
        const result = outcome(n, environments, m);
        if ("code" in result) return;
        for (const runtime of ["python", "r", "quarto"] as const) {
          const need = n[runtime];
          if (!need) continue;
          const chosen = (result.installations as Record<string, { version: string }>)[runtime]!;
          const v = parseVersion(chosen.version);
          if (need.constraint) expect(satisfies(v, need.constraint)).toBe(true);
          if (need.version) {
            const w = parseVersion(need.version);
            if (m[runtime] === "exact") expect(compareVersions(v, w)).toBe(0);
            if (m[runtime] === "major-minor")
              expect([part(v, 0), part(v, 1)]).toEqual([part(w, 0), part(w, 1)]);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it("never lets an environment without exact matches beat one that matches every wanted version", () => {
    fc.assert(
      fc.property(needs, catalog, modes, (n, environments, m) => {
        const result = outcome(n, environments, m);
        if ("code" in result || result.guid === null) return;
        const winner = environments.find((e) => e.guid === result.guid)!;
        const wanted = (["python", "r", "quarto"] as const).filter((r) => n[r]?.version);
        const exactEverywhere = (e: SelectableEnvironment) =>
          wanted.every((r) => {
            const chosen = outcome(n, [e], m);
            return (
              "installations" in chosen &&
              (chosen.installations as Record<string, { version: string }>)[r]!.version ===
                n[r]!.version
            );
          });
        const anyExactCandidate = environments.some(
          (e) => e.matching === "any" && !("code" in outcome(n, [e], m)) && exactEverywhere(e),
        );
        if (anyExactCandidate && wanted.length > 0) expect(exactEverywhere(winner)).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});

/** Users, groups, memberships and environment permissions over a catalog, all random. */
const PEOPLE = ["u1", "u2", "u3", "u4"];
const GROUPS = ["g1", "g2", "g3"];
const permissionSets = (environments: SelectableEnvironment[]) =>
  fc.record({
    members: fc.uniqueArray(fc.tuple(fc.constantFrom(...GROUPS), fc.constantFrom(...PEOPLE)), {
      maxLength: 8,
      selector: ([g, u]) => `${g}/${u}`,
    }),
    permits:
      environments.length === 0
        ? fc.constant<EnvironmentPermit[]>([])
        : fc.array(
            fc.record({
              environment_guid: fc.constantFrom(...environments.map((e) => e.guid)),
              principal_type: fc.constantFrom("user", "group"),
              principal_guid: fc.constantFrom(...PEOPLE, ...GROUPS),
            }),
            { maxLength: 10 },
          ),
  });
const scenario = fc
  .tuple(needs, catalog, modes, fc.constantFrom(...PEOPLE))
  .chain(([n, environments, m, user]) =>
    permissionSets(environments).map((people) => ({ n, environments, m, user, ...people })),
  );

/** The oracle, said the other way round: may this user use this environment? */
function mayUse(
  environment: string,
  user: string,
  members: readonly (readonly [string, string])[],
  permits: readonly EnvironmentPermit[],
): boolean {
  const own = permits.filter((p) => p.environment_guid === environment);
  return (
    own.length === 0 ||
    own.some((p) =>
      p.principal_type === "user"
        ? p.principal_guid === user
        : members.some(([g, u]) => g === p.principal_guid && u === user),
    )
  );
}

describe("environment permissions in selection", () => {
  const publisher = (user: string, members: readonly (readonly [string, string])[]) => ({
    guid: user,
    groups: members.filter(([, u]) => u === user).map(([g]) => g),
    administrator: false,
  });

  it("never selects, for a publisher, an environment restricted to others", () => {
    fc.assert(
      fc.property(scenario, ({ n, environments, m, user, members, permits }) => {
        const notPermitted = notPermittedFor(publisher(user, members), permits);
        for (const e of environments) {
          expect(notPermitted.has(e.guid)).toBe(!mayUse(e.guid, user, members, permits));
        }
        try {
          const result = selectEnvironment({ needs: n, environments, modes: m, notPermitted });
          if (result.environment) {
            expect(mayUse(result.environment.guid, user, members, permits)).toBe(true);
          }
          for (const row of result.explanation) {
            if (notPermitted.has(row.guid)) {
              expect(row).toMatchObject({ verdict: "excluded", detail: NOT_PERMITTED });
            }
          }
        } catch (error) {
          if (!isApiError(error)) throw error;
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("chooses as if the restricted environments were not in the catalog", () => {
    fc.assert(
      fc.property(scenario, ({ n, environments, m, user, members, permits }) => {
        const notPermitted = notPermittedFor(publisher(user, members), permits);
        const kept = environments.filter((e) => !notPermitted.has(e.guid));
        const restricted = (() => {
          try {
            const r = selectEnvironment({ needs: n, environments, modes: m, notPermitted });
            return { guid: r.environment?.guid ?? null, installations: r.installations };
          } catch (error) {
            if (isApiError(error)) return { code: error.code };
            throw error;
          }
        })();
        expect(restricted).toEqual(outcome(n, kept, m));
      }),
      { numRuns: 1000 },
    );
  });

  it("refuses a pin or a default naming an environment restricted to others", () => {
    fc.assert(
      fc.property(
        scenario,
        fc.constantFrom("identifier", "default"),
        ({ n, environments, m, user, members, permits }, how) => {
          const notPermitted = notPermittedFor(publisher(user, members), permits);
          const target = environments.find((e) => notPermitted.has(e.guid));
          fc.pre(target !== undefined && n.python !== undefined);
          const pinned: ContentNeeds =
            how === "identifier" ? { ...n, pin: { ...n.pin, identifier: target!.guid } } : n;
          const input = {
            needs: pinned,
            environments,
            modes: m,
            notPermitted,
            ...(how === "default" ? { defaultEnvironmentGuid: target!.guid } : {}),
          };
          let chosen: string | null | undefined;
          let code: number | undefined;
          try {
            chosen = selectEnvironment(input).environment?.guid;
          } catch (error) {
            if (!isApiError(error)) throw error;
            code = error.code;
          }
          expect(chosen).not.toBe(target!.guid);
          // A manifest pin beats the content default; otherwise the refusal names the rule.
          if (how === "identifier" || !n.pin.identifier) expect(code).toBe(108);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("lets administrators use every environment", () => {
    fc.assert(
      fc.property(scenario, ({ user, members, permits }) => {
        expect(
          notPermittedFor({ ...publisher(user, members), administrator: true }, permits).size,
        ).toBe(0);
      }),
    );
  });
});
