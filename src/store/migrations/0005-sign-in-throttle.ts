import type { Kysely } from "kysely";

/**
 * Failed sign-ins per user name and per client address, shared by every server on the
 * database so replicas throttle together; and an index to end all of a user's sessions at once.
 */
export const signInThrottle = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("sign_in_failures")
      .addColumn("key", "text", (c) => c.primaryKey())
      .addColumn("failures", "integer", (c) => c.notNull())
      .addColumn("last_failure_time", "text", (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex("sign_in_failures_time")
      .on("sign_in_failures")
      .column("last_failure_time")
      .execute();
    await db.schema.createIndex("sessions_user").on("sessions").column("user_guid").execute();
  },
};
