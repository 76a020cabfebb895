/**
 * The declarative file's sync, planned as data: desired entries against the catalog give an
 * ordered list of actions, and applying them twice plans only no-ops the second time. Pure.
 *
 * - An entry whose image is in the catalog but not managed by this file (made through the API,
 *   or by the file at an older path) is taken over ("adopt") and says where it came from.
 * - An environment the file stops listing is deleted, or, while content still uses it,
 *   retired: it stays, read-only and managed, with matching none, so nothing new selects it
 *   and running content keeps its record. Listing it again brings it back.
 * - Installations compare as sets: their order in the file only affects display. Volume mounts
 *   compare by content, whatever the key order a database hands back, with null as absent.
 * - Only the file's own environments (managed_by === source) are ever deleted or retired; one
 *   made elsewhere appears in the plan only when the file names its image.
 */
import {
  type Environment,
  type EnvironmentCreate,
  type EnvironmentFields,
  fieldsWithDefaults,
  type Installations,
} from "./model.js";

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
  "image_pull_policy",
  "node_selector",
  "tolerations",
  "service_account",
  "image_pull_secrets",
] as const;
type Compared = (typeof COMPARED)[number];
export type EnvironmentChanges = Partial<Pick<Environment, Compared>>;

export type ReconcileAction =
  /** `environment` is the full row to insert, defaults applied and managed_by set. */
  | { kind: "create"; name: string; environment: EnvironmentFields }
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
  /** Content items using each environment, by guid: counts, so the summary can say how many. */
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
    const row = fieldsWithDefaults(entry, options.source);
    if (!current) {
      plan.push({ kind: "create", name: entry.name, environment: row });
      continue;
    }
    const { changes, diff } = differences(current, row);
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

function differences(current: Environment, target: EnvironmentFields) {
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
  return JSON.stringify(value ?? null, (_, v) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v)
            .filter(([, inner]) => inner !== null)
            .sort(([a], [b]) => (a < b ? -1 : 1)),
        )
      : v,
  );
}

function show(field: Compared, value: unknown): string {
  if (RUNTIME_FIELDS.has(field)) {
    const list = (value as Installations)?.installations ?? [];
    return list.length > 0 ? list.map((i) => i.version).join(", ") : "none";
  }
  return JSON.stringify(value ?? null);
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

/** One action as a line of the plan; nothing for one that changes nothing. */
export function describeAction(action: ReconcileAction): string | undefined {
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
