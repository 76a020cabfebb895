/**
 * What a bundle upload says of itself: Connect's source-control fields, sent as the
 * `metadata` part of a multipart upload (rsconnect-python's git_metadata.py detects them:
 * `source: "git"`, `source_repo`, `source_branch`, `source_commit`) and returned on the
 * bundle as posit-sdk's `BundleMetadata` reads them (src/posit/connect/bundles.py).
 */
import { ApiError } from "../errors.js";

export const METADATA_FIELDS = ["source", "source_repo", "source_branch", "source_commit"] as const;
export type BundleMetadata = Partial<Record<(typeof METADATA_FIELDS)[number], string>>;

const MAX_FIELD_BYTES = 2048;

/** The metadata part checked: a JSON object of Connect's fields, each a short string. */
export function parseBundleMetadata(text: string): BundleMetadata {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ApiError("invalidJson", "The upload's metadata part is not JSON.", {
      payload: { field: "metadata" },
    });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ApiError("invalidParameter", "The upload's metadata part must be a JSON object.", {
      payload: { field: "metadata" },
    });
  }
  const out: BundleMetadata = {};
  for (const [key, field] of Object.entries(value)) {
    const known = METADATA_FIELDS.find((name) => name === key);
    if (!known) {
      throw new ApiError(
        "invalidParameter",
        `The upload's metadata has an unknown field "${key.slice(0, 64)}"; known: ${METADATA_FIELDS.join(", ")}.`,
        { payload: { field: `metadata.${key.slice(0, 64)}` } },
      );
    }
    if (field === null) continue;
    if (typeof field !== "string" || Buffer.byteLength(field) > MAX_FIELD_BYTES) {
      throw new ApiError(
        "invalidParameter",
        `metadata.${key} must be a string of at most ${MAX_FIELD_BYTES} bytes.`,
        { payload: { field: `metadata.${key}` } },
      );
    }
    out[known] = field;
  }
  return out;
}

/** The bundle's metadata as Connect answers it: every field, null when not sent. */
export function bundleMetadataView(stored: string | null): Record<string, string | null> {
  const given = stored ? (JSON.parse(stored) as BundleMetadata) : {};
  return Object.fromEntries(METADATA_FIELDS.map((name) => [name, given[name] ?? null]));
}
