/**
 * The /bin/sh program run inside an image (or on the host) to find and ask each interpreter
 * for its version. It prints one `runtime<TAB>path<TAB>version output` line per executable.
 * Data only: the image name never enters the script.
 */
import { EXECUTABLES, PATH_NAMES, VERSIONED_ROOTS } from "./locations.js";

const RUNTIMES = ["r", "python", "quarto"] as const;

export function probeScript(pathLookups: boolean): string {
  // Only shell built-ins besides the interpreters themselves: an image may lack tr or head.
  // Every version line wanted is the first line printed (Python 2 prints it on stderr).
  const lines = [
    "#!/bin/sh",
    "nl='",
    "'",
    `report() { out=$("$2" --version 2>&1 </dev/null); printf '%s\\t%s\\t%s\\n' "$1" "$2" "\${out%%"$nl"*}"; }`,
  ];
  for (const runtime of RUNTIMES) {
    lines.push(`found_${runtime}=0`);
    for (const root of VERSIONED_ROOTS[runtime]) {
      const candidates =
        runtime === "quarto" ? [`${root}/bin`, `${root}/*/bin`] : [`${root}/*/bin`];
      for (const dir of candidates) {
        lines.push(`for d in ${dir}; do`);
        lines.push(`  for exe in ${EXECUTABLES[runtime].map((e) => `"$d/${e}"`).join(" ")}; do`);
        lines.push(
          `    if [ -x "$exe" ]; then report ${runtime} "$exe"; found_${runtime}=1; break; fi`,
        );
        lines.push("  done");
        lines.push("done");
      }
    }
    if (pathLookups) {
      lines.push(`if [ "$found_${runtime}" = 0 ]; then`);
      for (const name of PATH_NAMES[runtime]) {
        lines.push(
          `  exe=$(command -v ${name} 2>/dev/null); if [ -n "$exe" ]; then report ${runtime} "$exe"; fi`,
        );
      }
      lines.push("fi");
    }
  }
  return `${lines.join("\n")}\n`;
}
