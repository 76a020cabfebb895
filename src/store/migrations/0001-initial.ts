import type { Kysely } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";

export function initial(dialect: StoreDialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("users")
        .addColumn("guid", "text", (c) => c.primaryKey())
        .addColumn("username", "text", (c) => c.notNull().unique())
        .addColumn("email", "text", (c) => c.notNull())
        .addColumn("first_name", "text", (c) => c.notNull())
        .addColumn("last_name", "text", (c) => c.notNull())
        .addColumn("user_role", "text", (c) => c.notNull())
        .addColumn("password_hash", "text")
        .addColumn("locked", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("created_time", "text", (c) => c.notNull())
        .addColumn("updated_time", "text", (c) => c.notNull())
        .addColumn("active_time", "text")
        .execute();

      await db.schema
        .createTable("api_keys")
        .addColumn("guid", "text", (c) => c.primaryKey())
        .addColumn("user_guid", "text", (c) =>
          c.notNull().references("users.guid").onDelete("cascade"),
        )
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("key_hash", "text", (c) => c.notNull().unique())
        .addColumn("created_time", "text", (c) => c.notNull())
        .addColumn("last_used_time", "text")
        .addColumn("revoked_time", "text")
        .execute();

      await db.schema
        .createTable("environments")
        .addColumn("id", dialect.autoIdType, (c) => dialect.autoId(c))
        .addColumn("guid", "text", (c) => c.notNull().unique())
        .addColumn("name", "text", (c) => c.notNull().unique())
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
        .addColumn("created_time", "text", (c) => c.notNull())
        .addColumn("updated_time", "text", (c) => c.notNull())
        .execute();

      // One row whose number grows with every change to the catalog, so a server can tell
      // whether its cached copy is current with a single read, whoever made the change.
      await db.schema
        .createTable("catalog_revision")
        .addColumn("id", "integer", (c) => c.primaryKey())
        .addColumn("revision", "integer", (c) => c.notNull())
        .execute();
      await (db as Kysely<{ catalog_revision: { id: number; revision: number } }>)
        .insertInto("catalog_revision")
        .values({ id: 1, revision: 0 })
        .execute();
    },
  };
}
