/** Runs the real helm on the chart and parses what it renders. */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { parseAllDocuments } from "yaml";
import { kubeTools } from "../support/kube-tools.js";

export const CHART = fileURLToPath(new URL("../../deploy/helm/slipway", import.meta.url));
export const FIXTURES = fileURLToPath(new URL("../fixtures/helm/", import.meta.url));

export interface HelmResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  [key: string]: unknown;
}

/** The value at a path of keys and indexes, or undefined. */
export function dig(value: unknown, ...path: Array<string | number>): unknown {
  let current = value;
  for (const step of path) {
    if (current === null || typeof current !== "object") return undefined;
    current = (current as Record<string | number, unknown>)[step];
  }
  return current;
}

export async function helm(args: string[]): Promise<HelmResult> {
  const { helm: binary } = await kubeTools();
  return new Promise((resolve) => {
    execFile(binary, args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** `helm template` of the chart as release `rel` in `namespace`; throws on a failed render. */
export async function render(
  valuesFiles: string[],
  extra: string[] = [],
  namespace = "slipway",
): Promise<KubeObject[]> {
  const result = await renderRaw(valuesFiles, extra, namespace);
  if (result.code !== 0) throw new Error(`helm template failed: ${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(`rendered YAML is invalid: ${doc.errors[0]}`);
      return doc.toJS() as KubeObject | null;
    })
    .filter((object): object is KubeObject => object !== null);
}

export function renderRaw(
  valuesFiles: string[],
  extra: string[] = [],
  namespace = "slipway",
): Promise<HelmResult> {
  return helm([
    "template",
    "rel",
    CHART,
    "--namespace",
    namespace,
    ...valuesFiles.flatMap((file) => ["-f", file]),
    ...extra,
  ]);
}

export function find(objects: KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) {
    const have = objects.map((o) => `${o.kind}/${o.metadata.name}`).join(", ");
    throw new Error(`no ${kind}/${name} in the render (have ${have})`);
  }
  return found;
}
