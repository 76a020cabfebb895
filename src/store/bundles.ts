import type { Insertable, Kysely, Selectable, Updateable } from "kysely";
import type { BundlesTable, Tables } from "./schema.js";

export type BundleRow = Readonly<Selectable<BundlesTable>>;

export async function insertBundle(
  db: Kysely<Tables>,
  row: Omit<Insertable<BundlesTable>, "id">,
): Promise<BundleRow> {
  const { id } = await db
    .insertInto("bundles")
    .values(row)
    .returning("id")
    .executeTakeFirstOrThrow();
  return (await findBundle(db, Number(id)))!;
}

export function findBundle(db: Kysely<Tables>, id: number) {
  return db.selectFrom("bundles").selectAll().where("id", "=", id).executeTakeFirst();
}

export function listBundles(db: Kysely<Tables>, contentGuid: string) {
  return db
    .selectFrom("bundles")
    .selectAll()
    .where("content_guid", "=", contentGuid)
    .orderBy("id", "desc")
    .execute();
}

export async function updateBundle(
  db: Kysely<Tables>,
  id: number,
  fields: Updateable<BundlesTable>,
): Promise<void> {
  await db.updateTable("bundles").set(fields).where("id", "=", id).execute();
}

export async function deleteBundle(db: Kysely<Tables>, id: number): Promise<void> {
  await db.deleteFrom("bundles").where("id", "=", id).execute();
}
