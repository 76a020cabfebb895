import type { Kysely, Selectable } from "kysely";
import type { Tables, TagsTable } from "./schema.js";

export type TagRow = Readonly<Selectable<TagsTable>>;

/** A tag as Connect answers it: ids as strings. */
export const toTag = (row: TagRow) => ({
  id: String(row.id),
  name: row.name,
  parent_id: row.parent_id === null ? null : String(row.parent_id),
  created_time: row.created_time,
  updated_time: row.updated_time,
});

export function listTags(db: Kysely<Tables>, filter: { name?: string; parentId?: number | null }) {
  let query = db.selectFrom("tags").selectAll().orderBy("id");
  if (filter.name !== undefined) query = query.where("name", "=", filter.name);
  if (filter.parentId === null) query = query.where("parent_id", "is", null);
  else if (filter.parentId !== undefined) query = query.where("parent_id", "=", filter.parentId);
  return query.execute();
}

export function findTag(db: Kysely<Tables>, id: number) {
  return db.selectFrom("tags").selectAll().where("id", "=", id).executeTakeFirst();
}

export async function insertTag(
  db: Kysely<Tables>,
  name: string,
  parentId: number | null,
): Promise<TagRow> {
  const now = new Date().toISOString();
  return db
    .insertInto("tags")
    .values({ name, parent_id: parentId, created_time: now, updated_time: now })
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function updateTag(
  db: Kysely<Tables>,
  id: number,
  change: { name: string; parent_id: number | null },
): Promise<TagRow> {
  return db
    .updateTable("tags")
    .set({ ...change, updated_time: new Date().toISOString() })
    .where("id", "=", id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** Deletes the tag; its descendants and their content links go with it (foreign keys). */
export async function deleteTag(db: Kysely<Tables>, id: number): Promise<void> {
  await db.deleteFrom("tags").where("id", "=", id).execute();
}

export function tagsOfContent(db: Kysely<Tables>, contentGuid: string) {
  return db
    .selectFrom("content_tags")
    .innerJoin("tags", "tags.id", "content_tags.tag_id")
    .selectAll("tags")
    .where("content_tags.content_guid", "=", contentGuid)
    .orderBy("tags.id")
    .execute();
}

export async function tagContent(db: Kysely<Tables>, contentGuid: string, tagId: number) {
  await db
    .insertInto("content_tags")
    .values({ content_guid: contentGuid, tag_id: tagId })
    .execute();
}

/** True when the content had the tag. */
export async function untagContent(
  db: Kysely<Tables>,
  contentGuid: string,
  tagId: number,
): Promise<boolean> {
  const result = await db
    .deleteFrom("content_tags")
    .where("content_guid", "=", contentGuid)
    .where("tag_id", "=", tagId)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}
