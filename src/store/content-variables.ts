/** A content item's environment variables, values sealed; and the revision that counts writes. */
import { type Kysely, sql } from "kysely";
import type { Tables } from "./schema.js";

export function variableRows(db: Kysely<Tables>, contentGuid: string) {
  return db
    .selectFrom("content_variables")
    .select(["name", "value"])
    .where("content_guid", "=", contentGuid)
    .orderBy("name")
    .execute();
}

/**
 * Applies the changes in one transaction and counts the write in the content's revision,
 * even when nothing changed: a write with no change is how posit-sdk restarts content.
 */
export async function writeVariables(
  db: Kysely<Tables>,
  contentGuid: string,
  change: { replaceAll: boolean; set: ReadonlyMap<string, string>; remove: readonly string[] },
): Promise<void> {
  await db.transaction().execute(async (tx) => {
    if (change.replaceAll) {
      await tx.deleteFrom("content_variables").where("content_guid", "=", contentGuid).execute();
    } else if (change.remove.length > 0) {
      await tx
        .deleteFrom("content_variables")
        .where("content_guid", "=", contentGuid)
        .where("name", "in", [...change.remove])
        .execute();
    }
    for (const [name, value] of change.set) {
      await tx
        .insertInto("content_variables")
        .values({ content_guid: contentGuid, name, value })
        .onConflict((oc) => oc.columns(["content_guid", "name"]).doUpdateSet({ value }))
        .execute();
    }
    await tx
      .updateTable("content")
      .set({ variables_revision: sql`variables_revision + 1` })
      .where("guid", "=", contentGuid)
      .execute();
  });
}

export async function deleteVariables(db: Kysely<Tables>, contentGuid: string): Promise<void> {
  await db.deleteFrom("content_variables").where("content_guid", "=", contentGuid).execute();
}
