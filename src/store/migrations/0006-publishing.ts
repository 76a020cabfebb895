import { type Kysely, sql } from "kysely";

/**
 * Publishing beyond the core loop: content environment variables (values encrypted with the
 * server's key), a revision that changes with every write to them so running processes
 * restart, the metadata a bundle upload carries (its git source, branch and commit), and
 * numeric content ids.
 */
export const publishing = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("content_variables")
      .addColumn("content_guid", "text", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      // AES-256-GCM of the value, as "v1.<iv>.<tag>.<ciphertext>" in base64url.
      .addColumn("value", "text", (c) => c.notNull())
      .addPrimaryKeyConstraint("content_variables_key", ["content_guid", "name"])
      .execute();
    await db.schema
      .alterTable("content")
      .addColumn("variables_revision", "integer", (c) => c.notNull().defaultTo(0))
      .execute();
    await db.schema.alterTable("bundles").addColumn("metadata", "text").execute();

    // Connect's content `id` is a number (as a string): existing content is numbered by age,
    // and one counter row hands out the next, atomically on either database.
    await db.schema.alterTable("content").addColumn("id", "integer").execute();
    const rows = await sql<{ guid: string }>`
      select guid from content order by created_time, guid`.execute(db);
    let next = 0;
    for (const row of rows.rows) {
      next += 1;
      await sql`update content set id = ${next} where guid = ${row.guid}`.execute(db);
    }
    await db.schema.createIndex("content_id").on("content").column("id").unique().execute();
    await db.schema
      .createTable("content_ids")
      .addColumn("key", "integer", (c) => c.primaryKey())
      .addColumn("value", "integer", (c) => c.notNull())
      .execute();
    await sql`insert into content_ids (key, value) values (1, ${next})`.execute(db);
  },
};
