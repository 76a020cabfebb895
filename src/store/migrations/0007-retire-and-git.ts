import type { Kysely } from "kysely";

/**
 * Retired environments, content backed by a git repository, and the packages each bundle's
 * build installed.
 */
export const retireAndGit = {
  async up(db: Kysely<unknown>): Promise<void> {
    // A retired environment leaves the catalog (so its image name is free again) but keeps
    // every field, so content still running in it and a later restore lose nothing.
    await db.schema
      .createTable("retired_environments")
      .addColumn("id", "integer", (c) => c.primaryKey())
      .addColumn("guid", "text", (c) => c.notNull().unique())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("cluster_name", "text", (c) => c.notNull())
      .addColumn("title", "text")
      .addColumn("description", "text")
      .addColumn("matching", "text", (c) => c.notNull())
      .addColumn("supervisor", "text")
      .addColumn("managed_by", "text")
      .addColumn("python", "text")
      .addColumn("quarto", "text")
      .addColumn("r", "text")
      .addColumn("tensorflow", "text")
      .addColumn("nodejs", "text")
      .addColumn("volume_mounts", "text", (c) => c.notNull())
      .addColumn("image_pull_policy", "text")
      .addColumn("created_time", "text", (c) => c.notNull())
      .addColumn("updated_time", "text", (c) => c.notNull())
      .addColumn("retired_time", "text", (c) => c.notNull())
      // Retiring forces matching to none; a restore gives back what it was.
      .addColumn("matching_before", "text", (c) => c.notNull())
      .execute();

    await db.schema
      .createTable("content_repositories")
      .addColumn("content_guid", "text", (c) =>
        c.primaryKey().references("content.guid").onDelete("cascade"),
      )
      .addColumn("repository", "text", (c) => c.notNull())
      .addColumn("branch", "text", (c) => c.notNull())
      .addColumn("directory", "text", (c) => c.notNull())
      .addColumn("polling", "integer", (c) => c.notNull())
      .addColumn("last_commit", "text")
      .addColumn("last_checked_time", "text")
      .addColumn("last_error", "text")
      .addColumn("created_time", "text", (c) => c.notNull())
      .addColumn("updated_time", "text", (c) => c.notNull())
      .execute();

    // What the build installed, as JSON, for the packages and lockfile endpoints.
    await db.schema.alterTable("bundles").addColumn("packages", "text").execute();
  },
};
