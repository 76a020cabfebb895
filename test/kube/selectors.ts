/**
 * Label selectors (the string form of `?labelSelector=` and the object form of
 * `spec.selector`) and field selectors, with the API server's grammar and refusals.
 */
import { badRequest } from "./status-error.js";

export type Requirement =
  | { op: "=" | "!="; key: string; value: string }
  | { op: "in" | "notin"; key: string; values: string[] }
  | { op: "exists" | "!"; key: string };

export type Labels = Record<string, string> | undefined;

/** Parses `a=b,c!=d,e in (x,y),f notin (z),g,!h`; throws a 400 like the API server does. */
export function parseLabelSelector(text: string | undefined): Requirement[] {
  const requirements: Requirement[] = [];
  if (!text?.trim()) return requirements;
  for (const part of splitTopLevel(text)) requirements.push(parseRequirement(part.trim()));
  return requirements;
}

function parseRequirement(item: string): Requirement {
  const not = /^!\s*([^\s=!,()]+)$/.exec(item);
  if (not) return { op: "!", key: not[1]! };
  const set = /^([^\s=!,()]+)\s+(in|notin)\s*\(([^)]*)\)$/.exec(item);
  if (set)
    return {
      op: set[2] as "in" | "notin",
      key: set[1]!,
      values: set[3]!.split(",").map((v) => v.trim()),
    };
  const equality = /^([^\s=!,()]+)\s*(==|=|!=)\s*([^\s=!,()]*)$/.exec(item);
  if (equality)
    return { op: equality[2] === "!=" ? "!=" : "=", key: equality[1]!, value: equality[3]! };
  if (/^[^\s=!,()]+$/.test(item)) return { op: "exists", key: item };
  throw badRequest(
    `unable to parse requirement: found '${item}', expected: in, notin, =, ==, !=, gt, lt`,
  );
}

function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of text) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      parts.push(current);
      current = "";
    } else current += ch;
  }
  parts.push(current);
  return parts;
}

export function matchesRequirements(requirements: Requirement[], labels: Labels): boolean {
  const l = labels ?? {};
  return requirements.every((r) => {
    const has = Object.hasOwn(l, r.key);
    switch (r.op) {
      case "=":
        return has && l[r.key] === r.value;
      case "!=":
        return !has || l[r.key] !== r.value;
      case "in":
        return has && r.values.includes(l[r.key]!);
      case "notin":
        return !has || !r.values.includes(l[r.key]!);
      case "exists":
        return has;
      case "!":
        return !has;
    }
    return false;
  });
}

export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** `spec.selector` of a Job, Deployment or EndpointSlice owner; an empty selector matches all. */
export function selectorRequirements(selector: LabelSelectorObject | undefined): Requirement[] {
  const out: Requirement[] = [];
  for (const [key, value] of Object.entries(selector?.matchLabels ?? {}))
    out.push({ op: "=", key, value });
  for (const e of selector?.matchExpressions ?? []) {
    if (e.operator === "In") out.push({ op: "in", key: e.key, values: e.values ?? [] });
    else if (e.operator === "NotIn") out.push({ op: "notin", key: e.key, values: e.values ?? [] });
    else if (e.operator === "Exists") out.push({ op: "exists", key: e.key });
    else if (e.operator === "DoesNotExist") out.push({ op: "!", key: e.key });
  }
  return out;
}

/** A Service's `spec.selector` map: matches nothing when empty (such Services get no endpoints). */
export function matchesMap(selector: Record<string, string> | undefined, labels: Labels): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

export interface FieldRequirement {
  field: string;
  op: "=" | "!=";
  value: string;
}

/** The fields each kind may be selected on, beyond metadata.name and metadata.namespace. */
const FIELDS: Record<string, string[]> = {
  Pod: [
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
  ],
  Event: [
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
  ],
  Secret: ["type"],
  Namespace: ["status.phase"],
  Job: ["status.successful"],
  Node: ["spec.unschedulable"],
};

export function parseFieldSelector(text: string | undefined, kind: string): FieldRequirement[] {
  if (!text?.trim()) return [];
  return text.split(",").map((part) => {
    const m = /^\s*([^=!\s]+)\s*(==|=|!=)\s*(.*?)\s*$/.exec(part);
    if (!m) throw badRequest(`invalid selector: '${text}'; can't understand '${part}'`);
    const field = m[1]!;
    if (
      field !== "metadata.name" &&
      field !== "metadata.namespace" &&
      !FIELDS[kind]?.includes(field)
    )
      throw badRequest(`field label not supported: ${field}`);
    return { field, op: m[2] === "!=" ? "!=" : "=", value: m[3]! };
  });
}

export function fieldValue(object: unknown, field: string): string {
  if (field === "source") return String(get(object, "source.component") ?? "");
  if (field === "status.successful") return String(get(object, "status.succeeded") ?? "0");
  const value = get(object, field);
  return value === undefined || value === null ? "" : String(value);
}

function get(object: unknown, dotted: string): unknown {
  let at: unknown = object;
  for (const key of dotted.split(".")) {
    if (!at || typeof at !== "object") return undefined;
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

export function matchesFields(requirements: FieldRequirement[], object: unknown): boolean {
  return requirements.every((r) => (fieldValue(object, r.field) === r.value) === (r.op === "="));
}
