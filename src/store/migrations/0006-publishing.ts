import type { Kysely } from "kysely";

/**
 * Publishing beyond the core loop: content environment variables (values encrypted with the
 * server's key), a revision that changes with every write to them so running processes
 * restart, and the metadata a bundle upload carries (its git source, branch and commit).
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
  },
};
