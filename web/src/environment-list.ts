/** Search and sort of the environment table, shared by the Environments tab and the picker. */
import { type Environment, RUNTIMES } from "./api";

export const SORT_KEYS = [
  "title",
  "name",
  "python",
  "r",
  "quarto",
  "matching",
  "managed_by",
] as const;
export type SortKey = (typeof SORT_KEYS)[number];

export function versions(environment: Environment, runtime: "python" | "r" | "quarto"): string {
  return environment[runtime]?.installations.map((i) => i.version).join(", ") ?? "";
}

export function matches(environment: Environment, query: string): boolean {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const haystack = [
    environment.title ?? "",
    environment.description ?? "",
    environment.name,
    ...RUNTIMES.map((r) => versions(environment, r)),
  ]
    .join(" ")
    .toLowerCase();
  return words.every((word) => haystack.includes(word));
}

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.,\s]+/).map(Number);
  const pb = b.split(/[.,\s]+/).map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

export function sortEnvironments(
  list: Environment[],
  key: SortKey,
  descending: boolean,
): Environment[] {
  const value = (e: Environment) =>
    key === "python" || key === "r" || key === "quarto" ? versions(e, key) : String(e[key] ?? "");
  const sorted = [...list].sort((a, b) => {
    const va = value(a);
    const vb = value(b);
    const c =
      key === "python" || key === "r" || key === "quarto"
        ? compareVersions(va, vb)
        : va.localeCompare(vb);
    return c || a.name.localeCompare(b.name);
  });
  return descending ? sorted.reverse() : sorted;
}
