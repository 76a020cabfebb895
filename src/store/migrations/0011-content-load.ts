import type { Kysely } from "kysely";

/**
 * The load each replica proxies to each content item, so the replica that reconciles it plans
 * for the whole cluster's traffic: one row per content key and server, rewritten at most once
 * a second while the load changes. Times are milliseconds since the epoch, compared with the
 * liveness leases' in SQL.
 */
export const contentLoad = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("content_load")
      .addColumn("content_key", "text", (c) => c.notNull())
      .addColumn("server_id", "text", (c) => c.notNull())
      .addColumn("connections", "integer", (c) => c.notNull())
      .addColumn("waiting", "integer", (c) => c.notNull())
      .addColumn("last_active_ms", "bigint")
      // Per process, as JSON: [run id, connections, idle since in ms or null].
      .addColumn("runs", "text", (c) => c.notNull())
      .addColumn("updated_ms", "bigint", (c) => c.notNull())
      .addPrimaryKeyConstraint("content_load_pkey", ["content_key", "server_id"])
      .execute();
  },
};
