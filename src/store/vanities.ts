import type { Kysely, Selectable } from "kysely";
import type { Tables, VanitiesTable } from "./schema.js";

export type VanityRow = Readonly<Selectable<VanitiesTable>>;

export function findVanity(db: Kysely<Tables>, contentGuid: string) {
  return db
    .selectFrom("vanities")
    .selectAll()
    .where("content_guid", "=", contentGuid)
    .executeTakeFirst();
}

export function listVanities(db: Kysely<Tables>) {
  return db.selectFrom("vanities").selectAll().orderBy("path").execute();
}

/** Vanities whose path is one of these, such as every prefix of a request's path. */
export function vanitiesAt(db: Kysely<Tables>, paths: readonly string[]) {
  return db.selectFrom("vanities").selectAll().where("path", "in", paths).execute();
}

/** Other content's vanities that the path would shadow or be shadowed by. */
export async function clashingVanities(db: Kysely<Tables>, contentGuid: string, path: string) {
  const others = await db
    .selectFrom("vanities")
    .selectAll()
    .where("content_guid", "!=", contentGuid)
    .execute();
  return others.filter((v) => v.path.startsWith(path) || path.startsWith(v.path));
}

export async function putVanity(db: Kysely<Tables>, contentGuid: string, path: string) {
  await db.deleteFrom("vanities").where("content_guid", "=", contentGuid).execute();
  const row = { content_guid: contentGuid, path, created_time: new Date().toISOString() };
  await db.insertInto("vanities").values(row).execute();
  return row;
}

export async function deleteVanities(db: Kysely<Tables>, contentGuids: readonly string[]) {
  if (contentGuids.length === 0) return;
  await db.deleteFrom("vanities").where("content_guid", "in", contentGuids).execute();
}
