/**
 * Reads an unpacked bundle's manifest.json within `[Bundles]` MaxManifestBytes and
 * MaxManifestDepth, so no manifest is read into memory, or handed to JSON.parse, unless both
 * are met. The unpacker checks the same limits as the archive arrives; this catches a manifest
 * that reached the bundle as a link to some other file.
 */
import { open } from "node:fs/promises";
import path from "node:path";
import { ApiError } from "../errors.js";
import type { BundleLimits } from "./bundle-tree.js";
import { jsonDepth } from "./json-depth.js";

export type ManifestLimits = Pick<BundleLimits, "MaxManifestBytes" | "MaxManifestDepth">;

/** The text of the unpacked bundle's top-level manifest.json. */
export async function readManifestText(bundleDir: string, limits: ManifestLimits): Promise<string> {
  const file = await open(path.join(bundleDir, "manifest.json")).catch((error: unknown) => {
    const why = (error as NodeJS.ErrnoException).code === "ENOENT" ? "has no" : "cannot read its";
    throw new ApiError("invalidManifest", `The bundle ${why} manifest.json at its top level.`);
  });
  try {
    const info = await file.stat();
    if (!info.isFile()) {
      throw new ApiError("invalidManifest", "The bundle's manifest.json is not a file.");
    }
    if (info.size > limits.MaxManifestBytes) {
      throw manifestTooLarge(info.size, limits.MaxManifestBytes);
    }
    const text = await file.readFile("utf8");
    if (jsonDepth(text) > limits.MaxManifestDepth) throw manifestTooDeep(limits.MaxManifestDepth);
    return text;
  } finally {
    await file.close();
  }
}

export function manifestTooLarge(size: number, limit: number): ApiError {
  return new ApiError(
    "invalidManifest",
    `The bundle's manifest.json is ${size} bytes, larger than ${limit} (Bundles.MaxManifestBytes).`,
  );
}

export function manifestTooDeep(limit: number): ApiError {
  return new ApiError(
    "invalidManifest",
    `The bundle's manifest.json nests arrays and objects more than ${limit} deep (Bundles.MaxManifestDepth).`,
  );
}
