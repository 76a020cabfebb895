/**
 * The two YAML files environments come from: the bootstrap file (legacy runtime.yaml,
 * `name: Kubernetes` + `images:`) and the declarative list (the Helm value
 * `executionEnvironments`). Every entry is checked with the same schema as the API, and every
 * problem is reported with file:line:column. Takes text, not paths: pure.
 */
import { isMap, isScalar, isSeq, LineCounter, type Node, parseDocument, type YAMLMap } from "yaml";
import { checkEntry, hint, type Report } from "./environment-file-entry.js";
import type { EnvironmentCreate } from "./model.js";

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

const BOOTSTRAP_KEYS = ["name", "images"];
const VALUES_KEY = "executionEnvironments";

/**
 * Reads either format. `auto` takes a mapping with `images:` as a bootstrap file and anything
 * else as declarative. An empty declarative file (or `[]`) is valid and manages nothing.
 * Environments come back normalized: runtimes as `{installations: [...]}`, `matching` and
 * `cluster_name` filled in with the API's defaults.
 */
export function parseEnvironmentFile(
  text: string,
  file: string,
  format: FileFormat = "auto",
): EnvironmentFileResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const problems: FileProblem[] = [];
  const atOffset = (offset: number, message: string) => {
    const { line, col } = lines.linePos(offset);
    problems.push({ file, line, column: col, message });
  };
  // Syntax errors leave the structure unreliable: report them all and stop there.
  for (const error of doc.errors) atOffset(error.pos[0], error.message.split("\n")[0]!);
  if (problems.length > 0) return { ok: false, problems };

  let entryNode: Node | undefined;
  const report: Report = (node, message) =>
    atOffset(node?.range?.[0] ?? entryNode?.range?.[0] ?? 0, message);

  const entries = entryNodes(doc.contents, format, report);
  const environments: EnvironmentCreate[] = [];
  const firstLine = new Map<string, number>();
  entries?.forEach((item, index) => {
    entryNode = item;
    if (!isMap(item)) {
      report(item, `entry ${index + 1} must be a mapping with at least a name`);
      return;
    }
    const nameNode = item.get("name", true) as Node | undefined;
    const name = isScalar(nameNode) ? String(nameNode.value) : undefined;
    if (name !== undefined) {
      const line = lines.linePos(nameNode!.range![0]).line;
      const first = firstLine.get(name);
      if (first === undefined) firstLine.set(name, line);
      else {
        report(
          nameNode,
          `the image ${name} is listed twice, at lines ${first} and ${line}; one environment per image`,
        );
      }
    }
    const environment = checkEntry(item, report);
    if (environment) environments.push(environment);
  });
  if (!entries || problems.length > 0) {
    problems.sort((a, b) => a.line - b.line || a.column - b.column);
    return { ok: false, problems };
  }
  return { ok: true, environments };
}

/** Problems as `file:line:column: message` lines, the form editors and CI logs link. */
export function formatProblems(problems: readonly FileProblem[]): string[] {
  return problems.map((p) => `${p.file}:${p.line}:${p.column}: ${p.message}`);
}

/** The entries, whichever of the accepted shapes the file has; undefined after a report. */
function entryNodes(contents: unknown, format: FileFormat, report: Report): Node[] | undefined {
  const node = contents as Node | null;
  if (node === null || (isScalar(node) && node.value === null)) {
    if (format !== "bootstrap") return [];
    report(node, "the bootstrap file is empty");
    return undefined;
  }
  if (isSeq(node) && format !== "bootstrap") return node.items as Node[];
  if (isMap(node) && format !== "declarative" && (node.has("images") || format === "bootstrap")) {
    return bootstrapImages(node, report);
  }
  if (isMap(node) && format !== "bootstrap" && node.has(VALUES_KEY)) {
    // A pasted values.yaml keeps its other keys (license, sharedStorage...): they are not ours.
    const list = node.get(VALUES_KEY, true) as Node | undefined;
    if (isSeq(list)) return list.items as Node[];
    if (isScalar(list) && list.value === null) return [];
    report(list, `${VALUES_KEY} must be a list of environments`);
    return undefined;
  }
  if (format === "bootstrap") {
    report(node, "a bootstrap file is a mapping with name: Kubernetes and an images: list");
  } else if (isMap(node) && node.has("images")) {
    report(node, "this is a bootstrap file (name: + images:); an environments file is a list");
  } else {
    const keys = isMap(node)
      ? node.items.flatMap((p) => (isScalar(p.key) ? [String(p.key.value)] : []))
      : [];
    const near = keys.find((key) => hint(key, [VALUES_KEY]) !== "");
    report(
      node,
      `an environments file is a list of environments (or ${VALUES_KEY}: followed by one)${near ? `; found "${near}"` : ""}`,
    );
  }
  return undefined;
}

function bootstrapImages(map: YAMLMap, report: Report): Node[] | undefined {
  for (const pair of map.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : "";
    if (!BOOTSTRAP_KEYS.includes(key)) {
      report(pair.key as Node, `unknown key "${key}"${hint(key, BOOTSTRAP_KEYS)}`);
    }
  }
  const name = map.get("name");
  if (name !== "Kubernetes") {
    const pair = map.items.find((p) => isScalar(p.key) && p.key.value === "name");
    report(
      (pair?.key as Node | undefined) ?? map,
      `name must be "Kubernetes", not ${JSON.stringify(name ?? null)}`,
    );
  }
  const images = map.get("images", true) as Node | undefined;
  if (isSeq(images)) return images.items as Node[];
  report(images ?? map, "images must be a list of environments");
  return undefined;
}
