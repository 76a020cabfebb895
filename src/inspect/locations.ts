/**
 * Where installations live in an image (as Posit's scripts look): R in /opt/R/<version> and
 * /opt/local/R/<version>, Python in /opt/python/<version> and /opt/local/python/<version>,
 * Quarto in /opt/quarto[/<version>] and /opt/local/quarto; otherwise on the PATH. Pure.
 */
import type { Runtime } from "../environments/model.js";

export interface Found {
  runtime: Runtime;
  version: string;
  path: string;
}

export interface Findings {
  python: Found[];
  r: Found[];
  quarto: Found[];
}

export const VERSIONED_ROOTS: Record<Runtime, string[]> = {
  r: ["/opt/R", "/opt/local/R"],
  python: ["/opt/python", "/opt/local/python"],
  quarto: ["/opt/quarto", "/opt/local/quarto"],
};

/** Executables tried inside `<root>/<version>/bin`, in order. */
export const EXECUTABLES: Record<Runtime, string[]> = {
  r: ["R"],
  python: ["python3", "python"],
  quarto: ["quarto"],
};

/** Names looked up on the PATH when the well-known places hold nothing. */
export const PATH_NAMES: Record<Runtime, string[]> = {
  r: ["R"],
  python: ["python3", "python", "python2"],
  quarto: ["quarto"],
};

/** The version an interpreter prints for `--version` (R, Python and Quarto each differently). */
export function versionFromOutput(runtime: Runtime, output: string): string | undefined {
  const pattern =
    runtime === "r"
      ? /R version (\d+(?:\.\d+)+)/
      : runtime === "python"
        ? /Python (\d+(?:\.\d+)+)/
        : /^\s*(\d+(?:\.\d+)+)/m;
  return pattern.exec(output)?.[1];
}

export function emptyFindings(): Findings {
  return { python: [], r: [], quarto: [] };
}

/** Sorts and removes repeats: one entry per runtime, version and path. */
export function tidy(findings: Findings): Findings {
  const out = emptyFindings();
  for (const runtime of ["python", "r", "quarto"] as const) {
    const seen = new Set<string>();
    out[runtime] = findings[runtime]
      .filter((f) => {
        const key = `${f.version}\u0000${f.path}`;
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      })
      .sort((a, b) => a.path.localeCompare(b.path));
  }
  return out;
}
