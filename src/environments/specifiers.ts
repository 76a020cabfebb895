/**
 * PEP 440 version specifiers as manifests write them (`>=3.9,<3.12`, `~=3.11.0`, `==4.3.*`),
 * over dotted numeric versions. Pure.
 */
import { ApiError } from "../errors.js";
import { compareVersions, parseVersion, part, type Version } from "./versions.js";

export type Operator = "==" | "!=" | "<" | "<=" | ">" | ">=" | "~=";

export interface Clause {
  readonly operator: Operator;
  readonly version: Version;
  /** `==X.Y.*` / `!=X.Y.*`: compare only the given components. */
  readonly prefix: boolean;
}

export interface SpecifierSet {
  readonly text: string;
  readonly clauses: readonly Clause[];
}

const CLAUSE = /^(~=|==|!=|<=|>=|<|>)\s*(\d+(?:\.\d+)*)(\.\*)?$/;

export function parseSpecifiers(text: string): SpecifierSet {
  const clauses = text.split(",").map((raw) => {
    const match = CLAUSE.exec(raw.trim());
    if (!match) {
      throw new ApiError(
        "invalidParameter",
        `"${raw.trim()}" in "${text}" is not a version specifier such as >=3.9, ~=3.11.0 or ==4.3.*.`,
      );
    }
    const operator = match[1] as Operator;
    const prefix = match[3] !== undefined;
    if (prefix && operator !== "==" && operator !== "!=") {
      throw new ApiError("invalidParameter", `"${raw.trim()}": only == and != take a .* suffix.`);
    }
    const version = parseVersion(match[2]!);
    if (operator === "~=" && version.length < 2) {
      throw new ApiError(
        "invalidParameter",
        `"${raw.trim()}": ~= needs at least two components, such as ~=3.11.`,
      );
    }
    return { operator, version, prefix };
  });
  return { text: clauses.map(formatClause).join(","), clauses };
}

export function satisfies(version: Version, set: SpecifierSet): boolean {
  return set.clauses.every((clause) => holds(version, clause));
}

function holds(version: Version, { operator, version: bound, prefix }: Clause): boolean {
  if (prefix) {
    const same = bound.every((_, i) => part(version, i) === part(bound, i));
    return operator === "==" ? same : !same;
  }
  const c = compareVersions(version, bound);
  switch (operator) {
    case "==":
      return c === 0;
    case "!=":
      return c !== 0;
    case "<":
      return c < 0;
    case "<=":
      return c <= 0;
    case ">":
      return c > 0;
    case ">=":
      return c >= 0;
    case "~=": {
      // ~=X.Y.Z means >=X.Y.Z and ==X.Y.*: every component but the last must match.
      const fixed = bound.slice(0, -1);
      return c >= 0 && fixed.every((_, i) => part(version, i) === part(bound, i));
    }
  }
}

function formatClause(clause: Clause): string {
  return `${clause.operator}${clause.version.join(".")}${clause.prefix ? ".*" : ""}`;
}
