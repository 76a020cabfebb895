/**
 * The declarative file's sync, planned as data: desired entries against the catalog give an
 * ordered list of actions, and applying them twice plans only no-ops the second time. Pure.
 *
 * - Entries whose image is in the catalog but made through the API are taken over ("adopt").
 * - An environment the file stops listing is deleted, or, while content still uses it,
 *   retired: it stays, read-only and managed, with matching none, so nothing new selects it
 *   and running content keeps its record. Listing it again brings it back.
 * - Installations compare as sets: their order in the file only affects display.
 */
import type { Environment, EnvironmentCreate, Installations } from "./model.js";

const COMPARED = [
  "title",
  "description",
  "matching",
  "supervisor",
  "python",
  "r",
  "quarto",
  "tensorflow",
  "nodejs",
  "volume_mounts",
] as const;
type Compared = (typeof COMPARED)[number];
export type EnvironmentChanges = Partial<Pick<Environment, Compared>>;

export type ReconcileAction =
  | { kind: "create"; name: string; environment: EnvironmentCreate }
  | { kind: "update"; name: string; guid: string; changes: EnvironmentChanges; diff: string[] }
  | {
      kind: "adopt";
      name: string;
      guid: string;
      from: string | null;
      changes: EnvironmentChanges;
      diff: string[];
    }
  | { kind: "retire"; name: string; guid: string; users: number }
  | { kind: "delete"; name: string; guid: string }
  | { kind: "noop"; name: string; guid: string };

export interface PlanOptions {
  /** What manages the file's environments: written into managed_by. */
  source: string;
  /** Content items using each environment, by guid. */
  inUse: ReadonlyMap<string, number>;
}

export function planReconcile(
  desired: readonly EnvironmentCreate[],
  actual: readonly Environment[],
  options: PlanOptions,
): ReconcileAction[] {
  const byName = new Map(actual.map((e) => [e.name, e]));
  const wanted = new Set(desired.map((d) => d.name));
  const plan: ReconcileAction[] = [];

  for (const entry of desired) {
    const current = byName.get(entry.name);
    if (!current) {
      plan.push({ kind: "create", name: entry.name, environment: entry });
      continue;
    }
    const { changes, diff } = differences(current, entry);
    if (current.managed_by !== options.source) {
      plan.push({
        kind: "adopt",
        name: entry.name,
        guid: current.guid,
        from: current.managed_by,
        changes,
        diff,
      });
    } else if (diff.length > 0) {
      plan.push({ kind: "update", name: entry.name, guid: current.guid, changes, diff });
    } else {
      plan.push({ kind: "noop", name: entry.name, guid: current.guid });
    }
  }

  for (const current of actual) {
    if (current.managed_by !== options.source || wanted.has(current.name)) continue;
    const users = options.inUse.get(current.guid) ?? 0;
    if (users === 0) plan.push({ kind: "delete", name: current.name, guid: current.guid });
    else if (current.matching !== "none")
      plan.push({ kind: "retire", name: current.name, guid: current.guid, users });
    else plan.push({ kind: "noop", name: current.name, guid: current.guid });
  }

  return plan.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** The desired value of every compared field, with the API's defaults for what is left out. */
function desiredFields(entry: EnvironmentCreate): Pick<Environment, Compared> {
  return {
    title: entry.title ?? null,
    description: entry.description ?? null,
    matching: entry.matching ?? "any",
    supervisor: entry.supervisor ?? null,
    python: nonEmpty(entry.python),
    r: nonEmpty(entry.r),
    quarto: nonEmpty(entry.quarto),
    tensorflow: nonEmpty(entry.tensorflow),
    nodejs: nonEmpty(entry.nodejs),
    volume_mounts: entry.volume_mounts ?? [],
  };
}

function differences(current: Environment, entry: EnvironmentCreate) {
  const target = desiredFields(entry);
  const changes: EnvironmentChanges = {};
  const diff: string[] = [];
  for (const field of COMPARED) {
    if (canonical(field, current[field]) === canonical(field, target[field])) continue;
    (changes as Record<string, unknown>)[field] = target[field];
    diff.push(`${field}: ${show(field, current[field])} → ${show(field, target[field])}`);
  }
  return { changes, diff };
}

const RUNTIME_FIELDS = new Set<string>(["python", "r", "quarto", "tensorflow", "nodejs"]);

function canonical(field: Compared, value: unknown): string {
  if (RUNTIME_FIELDS.has(field)) {
    const list = (value as Installations)?.installations ?? [];
    return JSON.stringify(list.map((i) => `${i.version}\u0000${i.path}`).sort());
  }
  return JSON.stringify(value ?? null);
}

function show(field: Compared, value: unknown): string {
  if (RUNTIME_FIELDS.has(field)) {
    const list = (value as Installations)?.installations ?? [];
    return list.length > 0 ? list.map((i) => i.version).join(", ") : "none";
  }
  return JSON.stringify(value ?? null);
}

function nonEmpty(value: Installations | undefined): Installations {
  return value && value.installations.length > 0 ? value : null;
}

/** The plan as terraform-style lines, then a count. */
export function summarizePlan(plan: readonly ReconcileAction[]): string[] {
  const lines = plan.map(describeAction).filter((line) => line !== undefined);
  const count = (kind: ReconcileAction["kind"]) => plan.filter((a) => a.kind === kind).length;
  lines.push(
    `Plan: ${count("create")} to create, ${count("update") + count("adopt")} to change (${count("adopt")} adopted), ${count("retire")} to retire, ${count("delete")} to delete, ${count("noop")} unchanged.`,
  );
  return lines;
}

function describeAction(action: ReconcileAction): string | undefined {
  switch (action.kind) {
    case "create":
      return `+ create ${action.name}`;
    case "update":
      return `~ update ${action.name} (${action.diff.join("; ")})`;
    case "adopt": {
      const from = action.from ? `managed by ${action.from}` : "made through the API";
      const diff = action.diff.length > 0 ? `; ${action.diff.join("; ")}` : "";
      return `~ adopt ${action.name} (${from}${diff})`;
    }
    case "retire":
      return `! retire ${action.name} (still used by ${action.users} content item${action.users === 1 ? "" : "s"}; matching → none)`;
    case "delete":
      return `- delete ${action.name}`;
    case "noop":
      return undefined;
  }
}
