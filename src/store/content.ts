import { type Insertable, type Kysely, type Selectable, sql, type Updateable } from "kysely";
import { grantedTo } from "./permissions.js";
import type { ContentTable, Tables } from "./schema.js";

export type ContentRow = Readonly<Selectable<ContentTable>>;

/** Inserts the row with the next numeric id; a refused insert hands out no id. */
export async function insertContent(
  db: Kysely<Tables>,
  row: Omit<Insertable<ContentTable>, "id">,
): Promise<void> {
  await db.transaction().execute(async (tx) => {
    const { value } = await tx
      .updateTable("content_ids")
      .set({ value: sql`value + 1` })
      .where("key", "=", 1)
      .returning("value")
      .executeTakeFirstOrThrow();
    await tx
      .insertInto("content")
      .values({ ...row, id: value })
      .execute();
  });
}

export function findContent(db: Kysely<Tables>, guid: string) {
  return db.selectFrom("content").selectAll().where("guid", "=", guid).executeTakeFirst();
}

export function listContent(
  db: Kysely<Tables>,
  filter: { name?: string; ownerGuid?: string; visibleTo?: string; tagId?: number },
) {
  let query = db.selectFrom("content").selectAll().orderBy("created_time").orderBy("guid");
  if (filter.name !== undefined) query = query.where("name", "=", filter.name);
  if (filter.ownerGuid !== undefined) query = query.where("owner_guid", "=", filter.ownerGuid);
  const tagId = filter.tagId;
  if (tagId !== undefined) {
    query = query.where((eb) =>
      eb.exists(
        eb
          .selectFrom("content_tags")
          .select("content_tags.tag_id")
          .whereRef("content_tags.content_guid", "=", "content.guid")
          .where("content_tags.tag_id", "=", tagId),
      ),
    );
  }
  const viewer = filter.visibleTo;
  if (viewer !== undefined) {
    query = query.where((eb) =>
      eb.or([
        eb("access_type", "!=", "acl"),
        eb("owner_guid", "=", viewer),
        eb.exists(
          eb
            .selectFrom("content_permissions")
            .select("content_permissions.id")
            .whereRef("content_permissions.content_guid", "=", "content.guid")
            .where(grantedTo(viewer)),
        ),
      ]),
    );
  }
  return query.execute();
}

export async function updateContent(
  db: Kysely<Tables>,
  guid: string,
  fields: Updateable<ContentTable>,
): Promise<void> {
  if (Object.keys(fields).length === 0) return;
  await db.updateTable("content").set(fields).where("guid", "=", guid).execute();
}

export async function deleteContent(db: Kysely<Tables>, guid: string): Promise<void> {
  await db.deleteFrom("content").where("guid", "=", guid).execute();
}

/**
 * Content items that use this environment: their active bundle runs in it, or they name it
 * as their default. A bundle that was only uploaded, built or drafted does not count.
 */
export function contentUsingEnvironment(db: Kysely<Tables>, guid: string, imageName: string) {
  return db
    .selectFrom("content")
    .leftJoin("bundles", "bundles.id", "content.bundle_id")
    .select(["content.guid", "content.name"])
    .where((eb) =>
      eb.or([
        eb("bundles.environment_guid", "=", guid),
        eb("content.default_environment_guid", "=", guid),
        eb("content.default_image_name", "=", imageName),
      ]),
    )
    .orderBy("content.name")
    .execute();
}

/** Every content item's references to environments (as above), for counting in one read. */
export function environmentReferences(db: Kysely<Tables>) {
  return db
    .selectFrom("content")
    .leftJoin("bundles", "bundles.id", "content.bundle_id")
    .select([
      "bundles.environment_guid",
      "content.default_environment_guid",
      "content.default_image_name",
    ])
    .where((eb) =>
      eb.or([
        eb("bundles.environment_guid", "is not", null),
        eb("content.default_environment_guid", "is not", null),
        eb("content.default_image_name", "is not", null),
      ]),
    )
    .execute();
}

/** Deployed content that keeps processes running even when idle (min_processes above 0). */
export function contentKeptWarm(db: Kysely<Tables>, defaultMinProcesses: number) {
  return db
    .selectFrom("content")
    .select("guid")
    .where("bundle_id", "is not", null)
    .where((eb) =>
      defaultMinProcesses > 0
        ? eb.or([eb("min_processes", "is", null), eb("min_processes", ">", 0)])
        : eb("min_processes", ">", 0),
    )
    .execute();
}

/** Deployed content with its active bundle's manifest, for the runtimes coverage report. */
export function deployedManifests(db: Kysely<Tables>) {
  return db
    .selectFrom("content")
    .innerJoin("bundles", "bundles.id", "content.bundle_id")
    .select([
      "content.guid",
      "content.name",
      "content.title",
      "content.default_environment_guid",
      "content.default_image_name",
      "bundles.manifest",
    ])
    .orderBy("content.name")
    .orderBy("content.guid")
    .execute();
}
