import type { Kysely } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";

/**
 * Groups and their members, who may see and change content (access type and permissions),
 * who may use an environment, tags, vanity URLs, and the audit log.
 */
export function people(dialect: StoreDialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("groups")
        .addColumn("guid", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull().unique())
        .addColumn("owner_guid", "text", (c) => c.references("users.guid").onDelete("set null"))
        .addColumn("created_time", "text", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("group_members")
        .addColumn("group_guid", "text", (c) =>
          c.notNull().references("groups.guid").onDelete("cascade"),
        )
        .addColumn("user_guid", "text", (c) =>
          c.notNull().references("users.guid").onDelete("cascade"),
        )
        .addPrimaryKeyConstraint("group_members_pk", ["group_guid", "user_guid"])
        .execute();
      await db.schema
        .createIndex("group_members_user")
        .on("group_members")
        .column("user_guid")
        .execute();

      await db.schema
        .alterTable("content")
        .addColumn("access_type", "text", (c) => c.notNull().defaultTo("acl"))
        .execute();
      await db.schema
        .createTable("content_permissions")
        .addColumn("id", dialect.autoIdType, (c) => dialect.autoId(c))
        .addColumn("content_guid", "text", (c) =>
          c.notNull().references("content.guid").onDelete("cascade"),
        )
        .addColumn("principal_guid", "text", (c) => c.notNull())
        .addColumn("principal_type", "text", (c) => c.notNull())
        .addColumn("role", "text", (c) => c.notNull())
        .addUniqueConstraint("content_permissions_principal", [
          "content_guid",
          "principal_type",
          "principal_guid",
        ])
        .execute();
      await db.schema
        .createIndex("content_permissions_principal_guid")
        .on("content_permissions")
        .column("principal_guid")
        .execute();

      await db.schema
        .createTable("environment_permissions")
        .addColumn("guid", "text", (c) => c.primaryKey())
        .addColumn("environment_guid", "text", (c) =>
          c.notNull().references("environments.guid").onDelete("cascade"),
        )
        .addColumn("principal_guid", "text", (c) => c.notNull())
        .addColumn("principal_type", "text", (c) => c.notNull())
        .addColumn("created_time", "text", (c) => c.notNull())
        .addUniqueConstraint("environment_permissions_principal", [
          "environment_guid",
          "principal_type",
          "principal_guid",
        ])
        .execute();

      await db.schema
        .createTable("tags")
        .addColumn("id", dialect.autoIdType, (c) => dialect.autoId(c))
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("parent_id", "integer", (c) => c.references("tags.id").onDelete("cascade"))
        .addColumn("created_time", "text", (c) => c.notNull())
        .addColumn("updated_time", "text", (c) => c.notNull())
        .addUniqueConstraint("tags_parent_name", ["parent_id", "name"])
        .execute();
      await db.schema
        .createTable("content_tags")
        .addColumn("content_guid", "text", (c) =>
          c.notNull().references("content.guid").onDelete("cascade"),
        )
        .addColumn("tag_id", "integer", (c) =>
          c.notNull().references("tags.id").onDelete("cascade"),
        )
        .addPrimaryKeyConstraint("content_tags_pk", ["content_guid", "tag_id"])
        .execute();
      await db.schema.createIndex("content_tags_tag").on("content_tags").column("tag_id").execute();

      await db.schema
        .createTable("vanities")
        .addColumn("content_guid", "text", (c) =>
          c.primaryKey().references("content.guid").onDelete("cascade"),
        )
        .addColumn("path", "text", (c) => c.notNull().unique())
        .addColumn("created_time", "text", (c) => c.notNull())
        .execute();

      await db.schema
        .createTable("audit_logs")
        .addColumn("id", dialect.autoIdType, (c) => dialect.autoId(c))
        .addColumn("time", "text", (c) => c.notNull())
        .addColumn("user_guid", "text")
        .addColumn("user_description", "text", (c) => c.notNull())
        .addColumn("action", "text", (c) => c.notNull())
        .addColumn("event_description", "text", (c) => c.notNull())
        .execute();
    },
  };
}
