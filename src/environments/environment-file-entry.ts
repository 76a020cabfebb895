/**
 * One entry of an environments file, checked against the API's create schema while its YAML
 * nodes are still at hand, so that every problem can point at a line and column.
 */
import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { isMap, isScalar, isSeq, type Node, visit, type YAMLMap } from "yaml";
import { didYouMean } from "../util/did-you-mean.js";
import {
  clusterNameProblem,
  DEFAULT_CLUSTER_NAME,
  EnvironmentCreate,
  FIELD_RULES,
  INSTALLATION_FIELDS,
} from "./model.js";

/** Reports a problem at a node (its start), or at the entry when the node is missing. */
export type Report = (node: Node | null | undefined, message: string) => void;

/** The entry as the API would receive it, or undefined when it has problems (all reported). */
export function checkEntry(node: YAMLMap, report: Report): EnvironmentCreate | undefined {
  let found = false;
  const problem: Report = (at, message) => {
    found = true;
    report(at, message);
  };
  textFromNumbers(node);
  unknownKeys(node, EnvironmentCreate, problem);
  const entry = listsAsInstallations(node.toJSON() as Record<string, unknown>);
  for (const error of schemaErrors(EnvironmentCreate, entry, "")) {
    const path = error.path.split("/").slice(1);
    problem(deepestNode(node, path), `${path.join(".")} ${describe(path, error.message)}`);
  }
  const cluster = entry.cluster_name;
  const clusterProblem = typeof cluster === "string" ? clusterNameProblem(cluster) : undefined;
  if (clusterProblem) problem(node.get("cluster_name", true) as Node, clusterProblem);
  if (found) return undefined;
  return { cluster_name: DEFAULT_CLUSTER_NAME, matching: "any", ...entry } as EnvironmentCreate;
}

/**
 * No field of an environment is a number, but YAML reads an unquoted `3.10` as the number 3.1:
 * every number becomes the text the user wrote, so versions keep their trailing zeros.
 */
function textFromNumbers(node: YAMLMap): void {
  visit(node, {
    Scalar(_, scalar) {
      if (typeof scalar.value === "number" && scalar.source !== undefined) {
        scalar.value = scalar.source;
      }
    },
  });
}

/** Older files write a runtime as the list of installations itself; the API wants it wrapped. */
function listsAsInstallations(entry: Record<string, unknown>): Record<string, unknown> {
  const out = { ...entry };
  for (const runtime of INSTALLATION_FIELDS) {
    if (Array.isArray(out[runtime])) out[runtime] = { installations: out[runtime] };
  }
  return out;
}

/** The object schema a value must match, seeing through optional and nullable wrappers. */
function objectSchema(schema: TSchema | undefined): TSchema | undefined {
  if (schema?.type === "object" && schema.properties) return schema;
  const branches = (schema?.anyOf as TSchema[] | undefined)?.filter((b) => b.type !== "null");
  return branches?.length === 1 ? objectSchema(branches[0]) : undefined;
}

function itemSchema(schema: TSchema | undefined): TSchema | undefined {
  if (schema?.type === "array") return schema.items as TSchema;
  const branches = (schema?.anyOf as TSchema[] | undefined)?.filter((b) => b.type !== "null");
  return branches?.length === 1 ? itemSchema(branches[0]) : undefined;
}

/** Keys the schema does not know, at any depth, with the nearest known key as a hint. */
function unknownKeys(node: unknown, schema: TSchema | undefined, report: Report): void {
  if (isMap(node)) {
    const properties = objectSchema(schema)?.properties as Record<string, TSchema> | undefined;
    if (!properties) return;
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : "";
      const known = properties[key];
      if (known) unknownKeys(pair.value, known, report);
      else report(pair.key as Node, `unknown key "${key}"${hint(key, Object.keys(properties))}`);
    }
  } else if (isSeq(node)) {
    const items = itemSchema(schema) ?? itemSchema(objectSchema(schema)?.properties?.installations);
    for (const item of node.items) unknownKeys(item, items, report);
  }
}

export function hint(word: string, candidates: readonly string[]): string {
  const close = didYouMean(word, candidates);
  return close ? ` (did you mean "${close}"?)` : "";
}

/**
 * Every schema error, one per path. TypeBox stops at a nullable union ("Expected union
 * value"), so a non-null value is checked again against the union's one non-null branch.
 */
function schemaErrors(
  schema: TSchema,
  value: unknown,
  prefix: string,
): Array<{ path: string; message: string }> {
  const found = new Map<string, string>();
  for (const error of Value.Errors(schema, value)) {
    const path = prefix + error.path;
    const branches = (error.schema.anyOf as TSchema[] | undefined)?.filter(
      (b) => b.type !== "null",
    );
    const deeper =
      error.value !== null && branches?.length === 1
        ? schemaErrors(branches[0]!, error.value, path)
        : [];
    for (const inner of deeper) if (!found.has(inner.path)) found.set(inner.path, inner.message);
    if (deeper.length === 0 && !found.has(path)) found.set(path, error.message);
  }
  return [...found].map(([path, message]) => ({ path, message }));
}

const TYPE_WORDS: Record<string, string> = {
  "Expected string": "must be text",
  "Expected array": "must be a list",
  "Expected object": "must be a mapping",
  "Expected boolean": "must be true or false",
};

function describe(path: string[], message: string): string {
  if (message.startsWith("Expected required")) return "is required";
  const field = [...path].reverse().find((segment) => !/^\d+$/.test(segment)) ?? "";
  const rule = FIELD_RULES[field as keyof typeof FIELD_RULES];
  if (rule && (message.includes("to match") || message.includes("union"))) return rule;
  return TYPE_WORDS[message] ?? `is invalid: ${message[0]!.toLowerCase()}${message.slice(1)}`;
}

/** The node at a schema path, or its deepest ancestor present in the file. */
function deepestNode(node: Node, path: string[]): Node {
  let current: Node = node;
  for (const segment of path) {
    // A runtime written as a bare list has no node for the `installations` level.
    if (segment === "installations" && isSeq(current)) continue;
    let next: unknown;
    if (isMap(current)) next = current.get(segment, true);
    else if (isSeq(current)) next = current.get(Number(segment), true);
    if (!next || !(next as Node).range) return current;
    current = next as Node;
  }
  return current;
}
