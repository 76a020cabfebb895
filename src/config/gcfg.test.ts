import { describe, expect, it } from "vitest";
import { parseGcfg } from "./gcfg.js";

function values(text: string): Record<string, string> {
  const result = parseGcfg(text);
  expect(result.ok).toBe(true);
  return Object.fromEntries(result.entries.map((e) => [e.key, e.value]));
}

describe("gcfg values", () => {
  it("keeps # and ; inside quotes and drops them as comments outside", () => {
    expect(
      values(
        [
          "[S]",
          'A = "p#ss;word" ; a comment',
          "B = plain # a comment",
          'C = "a" "b"',
          "D = x;y",
        ].join("\n"),
      ),
    ).toEqual({ A: "p#ss;word", B: "plain", C: "a b", D: "x" });
  });

  it("unescapes quotes, backslashes, tabs and newlines", () => {
    expect(values('[S]\nA = "say \\"hi\\" \\\\ \\t\\n"\n')).toEqual({ A: 'say "hi" \\ \t\n' });
  });

  it("keeps spaces inside quotes and trims those outside", () => {
    expect(values('[S]\nA = "  padded  "   \nB =   bare   \nC = ""\nD =\n')).toEqual({
      A: "  padded  ",
      B: "bare",
      C: "",
      D: "",
    });
  });

  it("reads a sub-section's name, escapes included", () => {
    const result = parseGcfg(
      '[RPackageRepository "CRAN"]\nURL = https://cran\n[LDAP "a \\"b\\""]\nX = 1',
    );
    expect(result.entries.map((e) => [e.section, e.subsection, e.key])).toEqual([
      ["RPackageRepository", "CRAN", "URL"],
      ["LDAP", 'a "b"', "X"],
    ]);
  });
});
