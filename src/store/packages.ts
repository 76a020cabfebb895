/** The packages recorded on bundles, read for Connect's packages endpoints. */
import type { Kysely } from "kysely";
import type { Tables } from "./schema.js";

/** Every content item's active bundle that has its packages recorded. */
export function activeBundlePackages(db: Kysely<Tables>) {
  return db
    .selectFrom("content")
    .innerJoin("bundles", "bundles.id", "content.bundle_id")
    .select([
      "content.guid as content_guid",
      "content.owner_guid",
      "bundles.id as bundle_id",
      "bundles.packages",
    ])
    .where("bundles.packages", "is not", null)
    .orderBy("content.created_time")
    .orderBy("content.guid")
    .execute();
}
