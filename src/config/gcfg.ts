/**
 * Reads git-config style text (Posit Connect's `.gcfg`): `[Section]` or `[Section "sub"]`
 * headers, `Key = value` lines, `;` and `#` comments, double-quoted values with escapes.
 * Keys may repeat; every entry keeps its line so later checks can point at it.
 */

export interface GcfgEntry {
  section: string;
  subsection: string | null;
  key: string;
  value: string;
  line: number;
  /** Line of the section header the entry sits under. */
  sectionLine: number;
}

export interface GcfgProblem {
  line: number;
  column: number;
  message: string;
}

export type GcfgResult =
  | { ok: true; entries: GcfgEntry[] }
  | { ok: false; problems: GcfgProblem[]; entries: GcfgEntry[] };

const HEADER = /^\[\s*([A-Za-z][\w.-]*)\s*(?:"((?:[^"\\]|\\.)*)")?\s*\]$/;
const ASSIGNMENT = /^([A-Za-z][\w-]*)\s*(?:=\s*(.*))?$/;

export function parseGcfg(text: string): GcfgResult {
  const entries: GcfgEntry[] = [];
  const problems: GcfgProblem[] = [];
  let section: string | null = null;
  let subsection: string | null = null;
  let sectionLine = 0;

  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith(";") || trimmed.startsWith("#")) return;
    const column = raw.indexOf(trimmed) + 1;

    if (trimmed.startsWith("[")) {
      const header = HEADER.exec(stripComment(trimmed));
      if (!header) {
        problems.push({ line, column, message: `malformed section header ${trimmed}` });
        return;
      }
      section = header[1]!;
      sectionLine = line;
      subsection = header[2] === undefined ? null : unescapeText(header[2]);
      return;
    }

    const assignment = ASSIGNMENT.exec(trimmed);
    if (!assignment) {
      problems.push({ line, column, message: `expected "Key = value", found ${trimmed}` });
      return;
    }
    if (section === null) {
      problems.push({ line, column, message: `${assignment[1]} is outside of any [Section]` });
      return;
    }
    const value = parseValue(assignment[2] ?? "true");
    if (value === null) {
      problems.push({ line, column, message: `unterminated quoted value for ${assignment[1]}` });
      return;
    }
    entries.push({ section, subsection, key: assignment[1]!, value, line, sectionLine });
  });

  return problems.length === 0 ? { ok: true, entries } : { ok: false, problems, entries };
}

/** Removes a trailing comment that is not inside quotes. */
function stripComment(text: string): string {
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\") i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && (c === ";" || c === "#")) return text.slice(0, i).trimEnd();
  }
  return text;
}

/**
 * Unquotes a value; returns null for an unterminated quote. Spaces inside quotes or escaped
 * are kept; those around the unquoted text are not.
 */
function parseValue(raw: string): string | null {
  let out = "";
  let kept = 0;
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (c === "\\" && i + 1 < raw.length) {
      out += unescapeText(`\\${raw[++i]}`);
      kept = out.length;
    } else if (c === '"') {
      quoted = !quoted;
      kept = out.length;
    } else if (!quoted && (c === ";" || c === "#")) {
      break;
    } else {
      out += c;
      if (quoted) kept = out.length;
    }
  }
  return quoted ? null : out.slice(0, kept) + out.slice(kept).trimEnd();
}

function unescapeText(text: string): string {
  return text.replace(/\\(.)/g, (_, c: string) =>
    c === "n" ? "\n" : c === "t" ? "\t" : c === "b" ? "\b" : c,
  );
}
