/**
 * Choosing the execution environment for a bundle (../shared/spec/selection.md). Pure: the
 * same needs, catalog and settings always give the same answer, in any catalog order.
 *
 * Where the written rules leave room, Slipway decides:
 * - Environments are compared first on the runtimes the content names a version for (R,
 *   then Python, then Quarto), then on the others (newest installation first). Comparing a
 *   runtime without a wanted version first could let a newer but otherwise irrelevant R beat
 *   an environment that matches every requested version exactly.
 * - "Fewer installations in total" counts the Python, R and Quarto installations.
 * - A pin to an environment that does not exist is reported like a pin to an unused image
 *   (code 106), since both mean "nothing in the catalog can serve this request".
 * - The explanation lists every environment in the catalog, including the ones a pin left
 *   out, so that it answers "why not that one?" too.
 */
import { ApiError } from "../errors.js";
import type { ContentNeeds, RuntimeNeed } from "./manifest.js";
import { satisfies } from "./specifiers.js";
import { compareVersions, parseVersion, part, type Version } from "./versions.js";

export type MatchingMode = "exact" | "major-minor" | "nearest";
export type SelectionRuntime = "r" | "python" | "quarto";
export type Modes = Record<SelectionRuntime, MatchingMode>;

export const DEFAULT_MODES: Modes = { r: "nearest", python: "major-minor", quarto: "nearest" };

/** R first, then Python, then Quarto: the order environments are compared in. */
const ORDER: readonly SelectionRuntime[] = ["r", "python", "quarto"];
const LABEL: Record<SelectionRuntime, string> = { r: "R", python: "Python", quarto: "Quarto" };

interface InstallationLike {
  readonly version: string;
  readonly path: string;
}

export interface SelectableEnvironment {
  readonly guid: string;
  readonly name: string;
  readonly title: string | null;
  readonly matching: "any" | "exact" | "none";
  readonly created_time: string;
  readonly cluster_name?: string;
  readonly supervisor?: string | null;
  readonly python: { readonly installations: readonly InstallationLike[] } | null;
  readonly r: { readonly installations: readonly InstallationLike[] } | null;
  readonly quarto: { readonly installations: readonly InstallationLike[] } | null;
}

export interface SelectionInput<E extends SelectableEnvironment = SelectableEnvironment> {
  readonly needs: ContentNeeds;
  readonly environments: readonly E[];
  readonly defaultEnvironmentGuid?: string | null;
  readonly defaultImageName?: string | null;
  readonly modes?: Partial<Modes>;
  /**
   * Restricted environments the content's publisher may not use: never picked, pinned or
   * defaulted to, whatever else they offer.
   */
  readonly notPermitted?: ReadonlySet<string>;
}

/** Smaller is better, compared in order; the version breaks ties, higher first. */
export interface Rank {
  readonly tier: 0 | 1 | 2 | 3;
  readonly distance: number;
  readonly older: 0 | 1;
  readonly version: string;
}

export interface Considered {
  readonly guid: string;
  readonly name: string;
  readonly title: string | null;
  readonly verdict: "chosen" | "compatible" | "excluded";
  /** The rank of each needed runtime's best installation, for compatible environments. */
  readonly ranks: Partial<Record<SelectionRuntime, Rank & { path: string }>>;
  /** Why it was left out, or how it ranked, in one sentence. */
  readonly detail: string;
}

export interface Selection<E extends SelectableEnvironment = SelectableEnvironment> {
  /** null when the content needs no runtime (static content). */
  readonly environment: E | null;
  readonly installations: Partial<Record<SelectionRuntime, { version: string; path: string }>>;
  readonly explanation: readonly Considered[];
  /** How the candidates were chosen: a pin, the content default, or automatic. */
  readonly basis: string;
}

export function selectEnvironment<E extends SelectableEnvironment>(
  input: SelectionInput<E>,
): Selection<E> {
  const modes = { ...DEFAULT_MODES, ...input.modes };
  const needed = ORDER.filter((runtime) => input.needs[runtime] !== undefined);
  if (needed.length === 0) {
    return { environment: null, installations: {}, explanation: [], basis: "no runtime needed" };
  }
  const { pinned, basis } = candidatesOf(input, input.environments);
  const forbidden = input.notPermitted;
  const order = [
    ...needed.filter((r) => input.needs[r]!.version),
    ...needed.filter((r) => !input.needs[r]!.version),
  ];
  const wanted = order.map((r) =>
    input.needs[r]!.version ? parseVersion(input.needs[r]!.version!) : null,
  );
  const excluded = (e: SelectableEnvironment) =>
    pinned
      ? pinExclusion(e, pinned, forbidden)
      : forbidden?.has(e.guid)
        ? NOT_PERMITTED
        : automaticExclusion(e);

  // Catalogs run to thousands of environments: the decision is one pass that keeps the best
  // so far in two reused sets of slots and allocates nothing per environment. The sentences
  // of the explanation are written by a second pass, only when someone reads them.
  let current = order.map(emptySlot);
  let best = order.map(emptySlot);
  let winner: E | undefined;
  for (const environment of input.environments) {
    if (excluded(environment)) continue;
    let fits = true;
    for (let i = 0; i < order.length && fits; i++) {
      const runtime = order[i]!;
      fits = bestInstallation(
        environment,
        runtime,
        wanted[i]!,
        input.needs[runtime]!,
        modes[runtime],
        current[i]!,
      );
    }
    if (!fits) continue;
    if (
      !winner ||
      compareSlots(current, best) < 0 ||
      (compareSlots(current, best) === 0 && tieBreak(environment, winner) < 0)
    ) {
      winner = environment;
      [current, best] = [best, current];
    }
  }

  const explain = () =>
    input.environments.map((e) =>
      considered(e, e === winner, excluded(e), input.needs, needed, modes),
    );
  if (!winner) throw noCompatible(input.needs, needed, modes, explain(), pinned);
  const chosen = winner;
  let explanation: Considered[] | undefined;
  return {
    environment: chosen,
    installations: Object.fromEntries(
      order.map((runtime, i) => {
        const { version, path } = chosen[runtime]!.installations[best[i]!.index]!;
        return [runtime, { version, path }];
      }),
    ),
    get explanation() {
      explanation ??= explain();
      return explanation;
    },
    basis,
  };
}

/** The best installation of one runtime in one environment, as its index and rank. */
interface Slot {
  index: number;
  tier: number;
  distance: number;
  older: number;
  version: Version;
}

function emptySlot(): Slot {
  return { index: -1, tier: 0, distance: 0, older: 0, version: [] };
}

function compareSlots(a: readonly Slot[], b: readonly Slot[]): number {
  for (let i = 0; i < a.length; i++) {
    const c = compareRank(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return 0;
}

function tieBreak(a: SelectableEnvironment, b: SelectableEnvironment): number {
  return installationCount(a) - installationCount(b) || byAgeThenGuid(a, b);
}

function considered(
  environment: SelectableEnvironment,
  chosen: boolean,
  exclusion: string | undefined,
  needs: ContentNeeds,
  needed: readonly SelectionRuntime[],
  modes: Modes,
): Considered {
  const { guid, name, title } = environment;
  if (exclusion) return { guid, name, title, verdict: "excluded", ranks: {}, detail: exclusion };
  const ranks: Partial<Record<SelectionRuntime, Rank & { path: string }>> = {};
  for (const runtime of needed) {
    const need = needs[runtime]!;
    const slot = emptySlot();
    const wanted = need.version ? parseVersion(need.version) : null;
    if (!bestInstallation(environment, runtime, wanted, need, modes[runtime], slot)) {
      const detail = refusals(environment, runtime, need, modes[runtime]);
      return { guid, name, title, verdict: "excluded", ranks: {}, detail };
    }
    const { version, path } = environment[runtime]!.installations[slot.index]!;
    ranks[runtime] = {
      tier: slot.tier as Rank["tier"],
      distance: slot.distance,
      older: slot.older as 0 | 1,
      version,
      path,
    };
  }
  return {
    guid,
    name,
    title,
    verdict: chosen ? "chosen" : "compatible",
    ranks,
    detail: describeRanks(ranks, needed, needs),
  };
}

type Pin = {
  kind: "identifier" | "image" | "default environment" | "default image";
  value: string;
};

function candidatesOf(
  input: SelectionInput,
  catalog: readonly SelectableEnvironment[],
): { pinned?: Pin; basis: string } {
  const pin: Pin | undefined = input.needs.pin.identifier
    ? { kind: "identifier", value: input.needs.pin.identifier }
    : input.needs.pin.image
      ? { kind: "image", value: input.needs.pin.image }
      : input.defaultEnvironmentGuid
        ? { kind: "default environment", value: input.defaultEnvironmentGuid }
        : input.defaultImageName
          ? { kind: "default image", value: input.defaultImageName }
          : undefined;
  if (!pin) return { basis: "automatic: every environment with matching any" };

  const matches = catalog.filter((e) => pinMatches(e, pin));
  const where =
    pin.kind === "identifier" || pin.kind === "image" ? "the manifest" : "the content settings";
  if (matches.length === 0) {
    const what = pin.kind.endsWith("image")
      ? `the image ${pin.value}`
      : `the environment ${pin.value}`;
    throw new ApiError(
      "versionMismatch",
      `Cannot find compatible environment: ${where} asks for ${what}, which no environment in the catalog provides.`,
      {
        payload: { pin: pin.value, reasons: [] },
      },
    );
  }
  if (input.notPermitted && matches.every((e) => input.notPermitted!.has(e.guid))) {
    const e = matches[0]!;
    throw new ApiError(
      "prohibitedEnvironment",
      `The environment ${e.name} (${e.guid}) that ${where} asks for is ${NOT_PERMITTED}.`,
      { status: 403, payload: { guid: e.guid, name: e.name } },
    );
  }
  if (matches.every((e) => e.matching === "none")) {
    const e = matches[0]!;
    throw new ApiError(
      "prohibitedEnvironment",
      `The environment ${e.name} (${e.guid}) that ${where} asks for is disabled (matching none) and cannot be used.`,
      {
        payload: { guid: e.guid, name: e.name },
      },
    );
  }
  return { pinned: pin, basis: `${pin.kind} ${pin.value} from ${where}` };
}

function pinMatches(environment: SelectableEnvironment, pin: Pin): boolean {
  return pin.kind === "identifier" || pin.kind === "default environment"
    ? environment.guid === pin.value
    : environment.name === pin.value;
}

/** The explanation's words for an environment restricted to other users and groups. */
export const NOT_PERMITTED = "not permitted for this publisher";

function pinExclusion(
  environment: SelectableEnvironment,
  pin: Pin,
  forbidden: ReadonlySet<string> | undefined,
): string | undefined {
  if (!pinMatches(environment, pin)) return `not requested (${pin.kind} ${pin.value} is pinned)`;
  if (forbidden?.has(environment.guid)) return NOT_PERMITTED;
  if (environment.matching === "none") return "matching none";
  return undefined;
}

function automaticExclusion(environment: SelectableEnvironment): string | undefined {
  if (environment.matching === "none") return "matching none";
  if (environment.matching === "exact") return "exact and not requested";
  return undefined;
}

/** Fills `slot` with the best compatible installation; false when there is none. */
function bestInstallation(
  environment: SelectableEnvironment,
  runtime: SelectionRuntime,
  wanted: Version | null,
  need: RuntimeNeed,
  mode: MatchingMode,
  slot: Slot,
): boolean {
  const installations = environment[runtime]?.installations ?? [];
  const probe = emptySlot();
  slot.index = -1;
  for (let i = 0; i < installations.length; i++) {
    const version = parseVersion(installations[i]!.version);
    if (wanted && !compatibleByMode(version, wanted, mode)) continue;
    if (need.constraint && !satisfies(version, need.constraint)) continue;
    rank(version, wanted, probe);
    if (slot.index < 0 || compareRank(probe, slot) < 0) Object.assign(slot, probe, { index: i });
  }
  return slot.index >= 0;
}

/** Why no installation of `runtime` in the environment can serve the content. */
function refusals(
  environment: SelectableEnvironment,
  runtime: SelectionRuntime,
  need: RuntimeNeed,
  mode: MatchingMode,
): string {
  const installations = environment[runtime]?.installations ?? [];
  if (installations.length === 0) return `no ${LABEL[runtime]} installation`;
  const wanted = need.version === null ? null : parseVersion(need.version);
  return installations
    .map((installation) => {
      const version = parseVersion(installation.version);
      return wanted && !compatibleByMode(version, wanted, mode)
        ? `${runtime} ${installation.version} not compatible with ${need.version} (${mode})`
        : `${runtime} ${installation.version} fails constraint ${need.constraint?.text}`;
    })
    .join("; ");
}

function compatibleByMode(version: Version, wanted: Version, mode: MatchingMode): boolean {
  switch (mode) {
    case "exact":
      return compareVersions(version, wanted) === 0;
    case "major-minor":
      return part(version, 0) === part(wanted, 0) && part(version, 1) === part(wanted, 1);
    case "nearest":
      return true;
  }
}

/** Writes the closeness of `version` to `wanted` into `slot` (selection.md, section 4). */
function rank(version: Version, wanted: Version | null, slot: Slot): void {
  slot.version = version;
  slot.tier = 0;
  slot.distance = 0;
  slot.older = 0;
  if (!wanted) return;
  const length = Math.max(version.length, wanted.length);
  for (let i = 0; i < length; i++) {
    const have = part(version, i);
    const want = part(wanted, i);
    if (have === want) continue;
    slot.tier = i === 0 ? 3 : i === 1 ? 2 : 1;
    slot.distance = Math.abs(have - want);
    slot.older = have < want ? 1 : 0;
    return;
  }
}

function compareRank(a: Slot, b: Slot): number {
  return (
    a.tier - b.tier ||
    a.distance - b.distance ||
    a.older - b.older ||
    compareVersions(b.version, a.version)
  );
}

function installationCount(environment: SelectableEnvironment): number {
  return ORDER.reduce((sum, runtime) => sum + (environment[runtime]?.installations.length ?? 0), 0);
}

function byAgeThenGuid(a: SelectableEnvironment, b: SelectableEnvironment): number {
  return a.created_time < b.created_time
    ? -1
    : a.created_time > b.created_time
      ? 1
      : a.guid < b.guid
        ? -1
        : a.guid > b.guid
          ? 1
          : 0;
}

const TIER = ["same version", "same major.minor", "same major", "other major"];

function describeRanks(
  ranks: Partial<Record<SelectionRuntime, Rank & { path: string }>>,
  needed: readonly SelectionRuntime[],
  needs: ContentNeeds,
): string {
  return needed
    .map((runtime) => {
      const r = ranks[runtime]!;
      const closeness = !needs[runtime]!.version
        ? "newest installation"
        : r.tier === 0
          ? TIER[0]
          : `${TIER[r.tier]}, ${r.distance} ${r.older ? "older" : "newer"}`;
      return `${runtime} ${r.version} (${closeness})`;
    })
    .join("; ");
}

function noCompatible(
  needs: ContentNeeds,
  needed: readonly SelectionRuntime[],
  modes: Modes,
  explanation: readonly Considered[],
  pinned: Pin | undefined,
): ApiError {
  const wants = needed
    .map((runtime) => {
      const need = needs[runtime]!;
      const version = need.version ? `version ${need.version}` : "(any version)";
      const rules = [need.version ? modes[runtime] : undefined, need.constraint?.text]
        .filter(Boolean)
        .join(", ");
      return `${LABEL[runtime]} ${version}${rules ? ` (${rules})` : ""}`;
    })
    .join(" and ");
  const target = pinned
    ? `the requested ${pinned.kind} ${pinned.value} is not compatible with `
    : "no compatible environment with ";
  return new ApiError("versionMismatch", `Cannot find compatible environment: ${target}${wants}`, {
    payload: {
      reasons: explanation.map((c) => ({ guid: c.guid, name: c.name, reason: c.detail })),
    },
  });
}

/** The explanation as table rows: environment, image, verdict, detail. */
export function explanationRows(selection: Selection): string[][] {
  return selection.explanation.map((c) => [c.title ?? "-", c.name, c.verdict, c.detail]);
}
