/**
 * The two YAML files environments come from: the bootstrap file (legacy runtime.yaml,
 * `name: Kubernetes` + `images:`) and the declarative list (the Helm value
 * `executionEnvironments`). Every entry is checked with the same schema as the API, and every
 * problem is reported with file:line:column. Takes text, not paths: pure.
 */
import type { TSchema } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, type YAMLMap } from "yaml";
import { didYouMean } from "../util/did-you-mean.js";
import { DEFAULT_CLUSTER_NAME, EnvironmentCreate, FIELD_RULES, RUNTIMES } from "./model.js";

export interface FileProblem {
  file: string;
  line: number;
  column: number;
  message: string;
}

export type EnvironmentFileResult =
  | { ok: true; environments: EnvironmentCreate[] }
  | { ok: false; problems: FileProblem[] };

export type FileFormat = "bootstrap" | "declarative" | "auto";

const ENTRY_KEYS = new Set(Object.keys(EnvironmentCreate.properties));

export function parseEnvironmentFile(
  text: string,
  file: string,
  format: FileFormat = "auto",
): EnvironmentFileResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems: FileProblem[] = [];
  const at = (offset: number | undefined, message: string) => {
    const { line, col } = lines.linePos(offset ?? 0);
    problems.push({ file, line, column: col, message });
  };
  for (const error of doc.errors) at(error.pos[0], error.message.split("\n")[0]!);
  if (problems.length > 0) return { ok: false, problems };

  const list = entriesNode(doc.contents, format, at);
  if (!list) return { ok: false, problems };

  const environments: EnvironmentCreate[] = [];
  const seen = new Map<string, number>();
  list.items.forEach((item, index) => {
    const node = item as Node;
    if (!isMap(node)) {
      at(node?.range?.[0], `entry ${index + 1} must be a mapping with at least a name`);
      return;
    }
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : "";
      if (!ENTRY_KEYS.has(key)) {
        at((pair.key as Node)?.range?.[0], `unknown key "${key}"${hint(key, [...ENTRY_KEYS])}`);
      }
    }
    const entry = normalize(node.toJSON() as Record<string, unknown>);
    const error = firstError(EnvironmentCreate, entry, "");
    if (error) {
      const path = error.path.split("/").slice(1);
      const field = [...path].reverse().find((segment) => !/^\d+$/.test(segment)) ?? "";
      const rule = FIELD_RULES[field as keyof typeof FIELD_RULES];
      const message = error.message.startsWith("Expected required")
        ? "is required"
        : (rule ?? `is invalid: ${error.message}`);
      at(
        nodeAt(node, path)?.range?.[0] ?? node.range?.[0],
        `${path.join(".") || "entry"} ${message}`,
      );
    }
    const name = typeof entry.name === "string" ? entry.name : undefined;
    if (name !== undefined) {
      const first = seen.get(name);
      if (first !== undefined) {
        at(
          node.range?.[0],
          `the image ${name} is listed twice (first at line ${first}); one environment per image`,
        );
      } else seen.set(name, lines.linePos(node.range?.[0] ?? 0).line);
    }
    environments.push({
      cluster_name: DEFAULT_CLUSTER_NAME,
      matching: "any",
      ...entry,
    } as EnvironmentCreate);
  });
  return problems.length > 0 ? { ok: false, problems } : { ok: true, environments };
}

/**
 * The deepest first schema error: TypeBox stops at a nullable union ("Expected union
 * value"), so a non-null value is checked again against the union's one non-null branch.
 */
function firstError(
  schema: TSchema,
  value: unknown,
  prefix: string,
): { path: string; message: string } | undefined {
  const error = Value.Errors(schema, value).First();
  if (!error) return undefined;
  const branches = (error.schema.anyOf as TSchema[] | undefined)?.filter((b) => b.type !== "null");
  if (error.value !== null && branches?.length === 1) {
    const deeper = firstError(branches[0]!, error.value, prefix + error.path);
    if (deeper) return deeper;
  }
  return { path: prefix + error.path, message: error.message };
}

export function formatProblems(problems: readonly FileProblem[]): string[] {
  return problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`);
}

type At = (offset: number | undefined, message: string) => void;

/** The YAML sequence holding the entries, whichever of the accepted shapes the file has. */
function entriesNode(contents: unknown, format: FileFormat, at: At) {
  const node = contents as Node | null;
  if (node === null || (isScalar(node) && node.value === null)) {
    if (format === "bootstrap") at(0, "the bootstrap file is empty");
    return format === "bootstrap" ? undefined : { items: [] };
  }
  if (isSeq(node) && format !== "bootstrap") return node;
  if (isMap(node)) {
    const map = node as YAMLMap;
    if (format !== "declarative" && map.has("images")) {
      const name = map.get("name");
      if (name !== "Kubernetes") {
        at(
          keyOffset(map, "name") ?? node.range?.[0],
          `name must be "Kubernetes", not ${JSON.stringify(name ?? null)}`,
        );
      }
      const images = map.get("images", true) as Node | undefined;
      if (isSeq(images)) return images;
      at(images?.range?.[0] ?? node.range?.[0], "images must be a list of environments");
      return undefined;
    }
    if (format !== "bootstrap" && map.has("executionEnvironments")) {
      const list = map.get("executionEnvironments", true) as Node | undefined;
      if (isSeq(list)) return list;
      if (isScalar(list) && list.value === null) return { items: [] };
      at(list?.range?.[0], "executionEnvironments must be a list of environments");
      return undefined;
    }
  }
  at(
    node.range?.[0],
    format === "bootstrap"
      ? "a bootstrap file is a mapping with name: Kubernetes and an images: list"
      : "an environments file is a list of environments (or executionEnvironments: followed by one)",
  );
  return undefined;
}

/** Installations may be written as `{installations: [...]}` or, in older files, as the list itself. */
function normalize(entry: Record<string, unknown>): Record<string, unknown> {
  const out = { ...entry };
  for (const runtime of [...RUNTIMES, "tensorflow", "nodejs"]) {
    if (Array.isArray(out[runtime])) out[runtime] = { installations: out[runtime] };
  }
  for (const key of ["title", "description", "supervisor"]) {
    if (typeof out[key] === "number") out[key] = String(out[key]);
  }
  for (const runtime of [...RUNTIMES, "tensorflow", "nodejs"]) {
    const list = (out[runtime] as { installations?: unknown[] } | null | undefined)?.installations;
    if (!Array.isArray(list)) continue;
    // YAML reads an unquoted 4.3 or 1.3 as a number; a version is the text the user wrote.
    for (const installation of list as Array<Record<string, unknown>>) {
      if (installation && typeof installation.version === "number")
        installation.version = String(installation.version);
    }
  }
  return out;
}

function nodeAt(node: Node, path: string[]): Node | undefined {
  let current: Node | undefined = node;
  for (const segment of path) {
    // A list written without its `installations:` level has no node for that segment.
    if (segment === "installations" && isSeq(current)) continue;
    if (isMap(current)) current = current.get(segment, true) as Node | undefined;
    else if (isSeq(current)) current = current.get(Number(segment), true) as Node | undefined;
    else return current;
  }
  return current;
}

function keyOffset(map: YAMLMap, key: string): number | undefined {
  const pair = map.items.find((p) => isScalar(p.key) && p.key.value === key);
  return (pair?.key as Node | undefined)?.range?.[0];
}

function hint(word: string, candidates: string[]): string {
  const close = didYouMean(word, candidates);
  return close ? ` (did you mean "${close}"?)` : "";
}
