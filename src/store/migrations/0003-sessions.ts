import type { Kysely } from "kysely";

export const sessions = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("sessions")
      .addColumn("id_hash", "text", (c) => c.primaryKey())
      .addColumn("user_guid", "text", (c) =>
        c.notNull().references("users.guid").onDelete("cascade"),
      )
      .addColumn("csrf_token", "text", (c) => c.notNull())
      .addColumn("created_time", "text", (c) => c.notNull())
      .addColumn("expires_time", "text", (c) => c.notNull())
      .execute();
  },
};
