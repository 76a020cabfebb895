import { describe, expect, it } from "vitest";
import { parseSpecifiers, satisfies } from "./specifiers.js";
import { compareVersions, parseVersion } from "./versions.js";

describe("versions", () => {
  it.each([
    ["4.3", "4.3.0", 0],
    ["4", "4.0.0", 0],
    ["4.3.2", "4.3.10", -1],
    ["1.3.340", "1.3.99", 1],
    ["3.10", "3.9.18", 1],
  ])("compares %s with %s", (a, b, expected) => {
    expect(compareVersions(parseVersion(a), parseVersion(b))).toBe(expected);
  });

  it.each(["", "3.x", "v3.11", "3..1", "3.11.", "-1"])("refuses %j", (text) => {
    expect(() => parseVersion(text)).toThrow(/dotted numeric version/);
  });
});

describe("PEP 440 specifiers", () => {
  const cases: Array<[string, string, boolean]> = [
    ["==3.11.4", "3.11.4", true],
    ["==3.11", "3.11.0", true],
    ["==3.11", "3.11.4", false],
    ["!=3.11.4", "3.11.4", false],
    ["<3.12", "3.11.9", true],
    ["<3.12", "3.12.0", false],
    ["<=3.12", "3.12", true],
    [">3.9", "3.9.1", true],
    [">=4.2", "4.1.3", false],
    ["~=3.11.0", "3.11.9", true],
    ["~=3.11.0", "3.12.0", false],
    ["~=3.11.2", "3.11.1", false],
    ["~=3.11", "3.12.1", true],
    ["~=3.11", "4.0", false],
    ["==3.11.*", "3.11.7", true],
    ["==3.11.*", "3.12.0", false],
    ["!=3.11.*", "3.11.7", false],
    ["!=3.11.*", "3.10.2", true],
    [">=3.9, <3.12", "3.10.4", true],
    [">=3.9,<3.12", "3.12.1", false],
    [" >= 3.9 , != 3.10.* ", "3.10.1", false],
  ];
  it.each(cases)("%s holds for %s: %s", (spec, version, expected) => {
    expect(satisfies(parseVersion(version), parseSpecifiers(spec))).toBe(expected);
  });

  it.each(["3.11", ">=3.x", "=>3.9", "~=3", ">=3.11.*", "", ">=3.9,"])("refuses %j", (spec) => {
    expect(() => parseSpecifiers(spec)).toThrow();
  });

  it("normalizes its text", () => {
    expect(parseSpecifiers(" >= 3.9 , ==3.10.* ").text).toBe(">=3.9,==3.10.*");
  });
});
