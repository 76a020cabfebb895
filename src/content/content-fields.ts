/**
 * The parts of Connect's content object Slipway answers beyond its own columns, and the
 * fields Connect documents for POST and PATCH that Slipway does not have: those are refused
 * by name rather than answered 200 with nothing changed.
 */
import { ApiError } from "../errors.js";
import type { Store } from "../store/database.js";
import { tagsOfContent, toTag } from "../store/tags.js";
import { findUser } from "../store/users.js";
import { findVanity } from "../store/vanities.js";
import type { Content } from "./model.js";

/** What each documented field Slipway lacks may still be, so a client restating it passes. */
const ONLY_VALUE = new Map<string, { value: unknown; why: string }>(
  Object.entries({
    run_as: { value: null, why: "Slipway runs every job as its runner's one account" },
    run_as_current_user: {
      value: false,
      why: "Slipway runs every job as its runner's one account",
    },
    locked: { value: false, why: "Slipway has no content locking" },
    locked_message: { value: "", why: "Slipway has no content locking" },
    service_account_name: {
      value: null,
      why: "content Jobs use the namespace's service account ([Kubernetes] settings)",
    },
    parameterized: { value: false, why: "Slipway has no parameterized reports" },
  }),
);

/** Refuses a documented field that Slipway cannot apply, unless it restates what is so. */
export function refuseUnsupportedFields(body: unknown): void {
  if (typeof body !== "object" || body === null) return;
  for (const [field, given] of Object.entries(body)) {
    // A Map, so inherited names in a body ("constructor", "toString") find no rule.
    const rule = ONLY_VALUE.get(field);
    if (!rule || given === rule.value || (rule.value === null && given === "")) continue;
    throw new ApiError(
      "invalidParameter",
      `${field} cannot be set to ${JSON.stringify(given)}: ${rule.why}.`,
      { payload: { field } },
    );
  }
}

const INCLUDES = ["owner", "tags", "vanity_url"] as const;

/** `include=owner,tags,vanity_url`, checked; unknown names are refused by name. */
export function parseIncludes(include: string | undefined): Set<(typeof INCLUDES)[number]> {
  const out = new Set<(typeof INCLUDES)[number]>();
  for (const part of (include ?? "").split(",").map((p) => p.trim())) {
    if (part === "") continue;
    const known = INCLUDES.find((name) => name === part);
    if (!known) {
      throw new ApiError(
        "invalidParameter",
        `include names "${part.slice(0, 64)}"; it takes ${INCLUDES.join(", ")}.`,
        { payload: { field: "include" } },
      );
    }
    out.add(known);
  }
  return out;
}

/** Adds what was asked for: the owner's names, the tags, the vanity path. */
export async function withIncludes(
  store: Store,
  content: Content,
  include: ReadonlySet<string>,
): Promise<Content> {
  if (include.size === 0) return content;
  const out: Content = { ...content };
  if (include.has("owner")) {
    const owner = await findUser(store.db, content.owner_guid);
    out.owner = owner
      ? {
          guid: owner.guid,
          username: owner.username,
          first_name: owner.first_name,
          last_name: owner.last_name,
        }
      : null;
  }
  if (include.has("tags")) out.tags = (await tagsOfContent(store.db, content.guid)).map(toTag);
  if (include.has("vanity_url")) {
    out.vanity_url = (await findVanity(store.db, content.guid))?.path ?? null;
  }
  return out;
}
