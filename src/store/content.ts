import type { Insertable, Kysely, Selectable, Updateable } from "kysely";
import type { ContentTable, Tables } from "./schema.js";

export type ContentRow = Readonly<Selectable<ContentTable>>;

export async function insertContent(
  db: Kysely<Tables>,
  row: Insertable<ContentTable>,
): Promise<void> {
  await db.insertInto("content").values(row).execute();
}

export function findContent(db: Kysely<Tables>, guid: string) {
  return db.selectFrom("content").selectAll().where("guid", "=", guid).executeTakeFirst();
}

export function listContent(db: Kysely<Tables>, filter: { name?: string; ownerGuid?: string }) {
  let query = db.selectFrom("content").selectAll().orderBy("created_time").orderBy("guid");
  if (filter.name !== undefined) query = query.where("name", "=", filter.name);
  if (filter.ownerGuid !== undefined) query = query.where("owner_guid", "=", filter.ownerGuid);
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

/** Content items whose current or default environment is this one. */
export function contentUsingEnvironment(db: Kysely<Tables>, guid: string, imageName: string) {
  return db
    .selectFrom("content")
    .select(["guid", "name"])
    .where((eb) =>
      eb.or([
        eb("environment_guid", "=", guid),
        eb("default_environment_guid", "=", guid),
        eb("default_image_name", "=", imageName),
      ]),
    )
    .orderBy("name")
    .execute();
}

/** Every content item's references to environments, for counting users of each in one read. */
export function environmentReferences(db: Kysely<Tables>) {
  return db
    .selectFrom("content")
    .select(["environment_guid", "default_environment_guid", "default_image_name"])
    .where((eb) =>
      eb.or([
        eb("environment_guid", "is not", null),
        eb("default_environment_guid", "is not", null),
        eb("default_image_name", "is not", null),
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
