import type { Kysely } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";

export function content(dialect: StoreDialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("content")
        .addColumn("guid", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("title", "text")
        .addColumn("description", "text", (c) => c.notNull())
        .addColumn("owner_guid", "text", (c) => c.notNull().references("users.guid"))
        .addColumn("app_mode", "text")
        .addColumn("content_category", "text", (c) => c.notNull())
        .addColumn("created_time", "text", (c) => c.notNull())
        .addColumn("last_deployed_time", "text")
        .addColumn("bundle_id", "integer")
        .addColumn("default_image_name", "text")
        .addColumn("default_environment_guid", "text")
        .addColumn("default_r_environment_management", "integer")
        .addColumn("default_py_environment_management", "integer")
        .addColumn("image_name", "text")
        .addColumn("environment_guid", "text")
        .addColumn("cluster_name", "text")
        .addColumn("r_version", "text")
        .addColumn("py_version", "text")
        .addColumn("quarto_version", "text")
        .addColumn("needs_rebuild", "integer", (c) => c.notNull().defaultTo(0))
        .addUniqueConstraint("content_owner_name", ["owner_guid", "name"])
        .execute();

      await db.schema
        .createTable("bundles")
        .addColumn("id", dialect.autoIdType, (c) => dialect.autoId(c))
        .addColumn("content_guid", "text", (c) =>
          c.notNull().references("content.guid").onDelete("cascade"),
        )
        .addColumn("created_time", "text", (c) => c.notNull())
        .addColumn("size", "integer", (c) => c.notNull())
        .addColumn("manifest", "text", (c) => c.notNull())
        .addColumn("r_version", "text")
        .addColumn("py_version", "text")
        .addColumn("quarto_version", "text")
        .addColumn("image_name", "text")
        .addColumn("environment_guid", "text")
        .addColumn("cluster_name", "text")
        .addColumn("pick", "text")
        .execute();
      await db.schema.createIndex("bundles_content").on("bundles").column("content_guid").execute();

      await db.schema
        .createTable("tasks")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("content_guid", "text")
        .addColumn("bundle_id", "integer")
        .addColumn("user_guid", "text")
        .addColumn("created_time", "text", (c) => c.notNull())
        .addColumn("finished_time", "text")
        .addColumn("code", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("error", "text", (c) => c.notNull().defaultTo(""))
        .addColumn("result", "text")
        .addColumn("server_id", "text", (c) => c.notNull())
        .execute();

      await db.schema
        .createTable("task_output")
        .addColumn("task_id", "text", (c) => c.notNull().references("tasks.id").onDelete("cascade"))
        .addColumn("seq", "integer", (c) => c.notNull())
        .addColumn("line", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("task_output_pk", ["task_id", "seq"])
        .execute();
    },
  };
}
