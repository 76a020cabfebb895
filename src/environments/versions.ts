/**
 * Dotted numeric versions (`4`, `4.3`, `3.11.3`, `1.3.340`). Missing components count as
 * zero, so `4.3` equals `4.3.0`. Pure.
 */
import { ApiError } from "../errors.js";

export type Version = readonly number[];

const DOTTED = /^\d+(\.\d+)*$/;

export function isVersion(text: string): boolean {
  return DOTTED.test(text);
}

/**
 * Catalogs repeat the same few version strings thousands of times, and selection compares
 * them again and again: parsing each distinct string once keeps a decision well under a
 * millisecond per thousand environments. Parsed versions are frozen, so sharing them is safe.
 */
const parsed = new Map<string, Version>();
const PARSED_LIMIT = 50_000;

export function parseVersion(text: string): Version {
  const known = parsed.get(text);
  if (known) return known;
  const trimmed = text.trim();
  if (!DOTTED.test(trimmed)) {
    throw new ApiError(
      "invalidParameter",
      `"${text}" is not a dotted numeric version such as 3.11.3.`,
    );
  }
  if (parsed.size >= PARSED_LIMIT) parsed.clear();
  const version = Object.freeze(trimmed.split(".").map(Number));
  parsed.set(text, version);
  return version;
}

/** Component i of a version, zero when it has fewer components. */
export function part(version: Version, i: number): number {
  return version[i] ?? 0;
}

export function compareVersions(a: Version, b: Version): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = part(a, i) - part(b, i);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export function versionsEqual(a: Version, b: Version): boolean {
  return compareVersions(a, b) === 0;
}

export function formatVersion(version: Version): string {
  return version.join(".");
}
