import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { JsonDepth, jsonDepth } from "./json-depth.js";

/** The nesting of a parsed value, counted the way the scanner counts the text. */
function depthOf(value: unknown): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depthOf));
  if (value !== null && typeof value === "object") {
    return 1 + Math.max(0, ...Object.values(value).map(depthOf));
  }
  return 0;
}

describe("measuring how deeply JSON nests", () => {
  it("agrees with the parsed value for any JSON, brackets and quotes in strings included", () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 12 }),
        fc.integer({ min: 0, max: 2 }),
        (value, indent) => {
          const text = JSON.stringify(value, null, indent);
          expect(jsonDepth(text)).toBe(depthOf(value));
        },
      ),
      { numRuns: 500 },
    );
  });

  it("gives the same answer however the bytes are split", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.array(fc.nat()), (value, cuts) => {
        const bytes = Buffer.from(JSON.stringify(value));
        const scanner = new JsonDepth();
        let from = 0;
        for (const cut of [...cuts.map((c) => c % (bytes.length + 1))].sort((a, b) => a - b)) {
          scanner.push(bytes.subarray(from, Math.max(from, cut)));
          from = Math.max(from, cut);
        }
        expect(scanner.push(bytes.subarray(from))).toBe(depthOf(value));
      }),
      { numRuns: 300 },
    );
  });
});
