/**
 * The chart's gcfg writer against the server's gcfg reader: random values go through
 * `helm template` in one values file and must come back from src/config/gcfg.ts unchanged.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { expect, it } from "vitest";
import { parseGcfg } from "../../src/config/gcfg.js";
import { dig, find, render } from "./helm.js";

const work = mkdtempSync(path.join(tmpdir(), "slipway-gcfg-render-"));
// Everything a setting can hold but carriage returns, which gcfg cannot escape.
const character = fc.oneof(
  fc.constantFrom("#", ";", '"', "\\", " ", "\t", "\n", "=", "[", "]", "'", "é", "漢", "%"),
  fc.string({ minLength: 1, maxLength: 1 }),
);
const text = fc.string({ unit: character, maxLength: 24 }).filter((s) => !s.includes("\r"));
const setting = fc.oneof(
  text,
  fc.integer({ min: -1e12, max: 1e12 }),
  fc.boolean(),
  fc.array(text, { minLength: 1, maxLength: 4 }),
);

it("renders every string, integer, boolean and list so that the server reads it back", async () => {
  const values = fc.sample(setting, { numRuns: 300, seed: 1913 });
  values.push(1_000_000, 2 ** 40, "", " lead", "trail ", "a#b", "a;b", 'q"q', "back\\slash");
  const section = Object.fromEntries(values.map((v, i) => [`K${i}`, v]));
  const file = path.join(work, "values.json");
  writeFileSync(file, JSON.stringify({ config: { RoundTrip: section } }));

  const objects = await render([file]);
  const gcfg = dig(find(objects, "ConfigMap", "rel-slipway-config"), "data", "slipway.gcfg");
  const parsed = parseGcfg(String(gcfg));
  expect(parsed.ok).toBe(true);
  const read = new Map<string, string[]>();
  for (const entry of parsed.entries.filter((e) => e.section === "RoundTrip")) {
    read.set(entry.key, [...(read.get(entry.key) ?? []), entry.value]);
  }
  for (const [key, value] of Object.entries(section)) {
    const expected = Array.isArray(value) ? value : [String(value)];
    expect(read.get(key), `${key} = ${JSON.stringify(value)}`).toEqual(expected);
  }
  expect(String(gcfg)).not.toMatch(/e\+\d/);
});
