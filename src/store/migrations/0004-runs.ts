import type { Kysely } from "kysely";
import type { StoreDialect } from "../dialect/dialect.js";

/** Connect's process and resource settings on content; null means the server's default. */
export const CONTENT_SETTING_COLUMNS = {
  min_processes: "integer",
  max_processes: "integer",
  max_conns_per_process: "integer",
  load_factor: "double precision",
  idle_timeout: "integer",
  init_timeout: "integer",
  connection_timeout: "integer",
  read_timeout: "integer",
  memory_limit: "double precision",
  memory_request: "double precision",
  cpu_limit: "double precision",
  cpu_request: "double precision",
  nvidia_gpu_limit: "integer",
  amd_gpu_limit: "integer",
} as const;

export function runs(dialect: StoreDialect) {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable("runs")
        .addColumn("id", dialect.autoIdType, (c) => dialect.autoId(c))
        .addColumn("key", "text", (c) => c.notNull().unique())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("content_guid", "text", (c) => c.notNull())
        .addColumn("bundle_id", "integer", (c) => c.notNull())
        .addColumn("task_id", "text")
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("slot", "integer")
        .addColumn("spec_hash", "text", (c) => c.notNull())
        .addColumn("image", "text")
        .addColumn("backend", "text", (c) => c.notNull())
        .addColumn("handle", "text")
        .addColumn("status", "text", (c) => c.notNull())
        .addColumn("endpoint", "text")
        .addColumn("exit_code", "integer")
        .addColumn("reason", "text")
        .addColumn("server_id", "text", (c) => c.notNull())
        .addColumn("created_time", "text", (c) => c.notNull())
        .addColumn("ready_time", "text")
        .addColumn("ended_time", "text")
        .execute();
      await db.schema.createIndex("runs_content").on("runs").column("content_guid").execute();
      await db.schema.createIndex("runs_status").on("runs").column("status").execute();

      for (const [column, type] of Object.entries(CONTENT_SETTING_COLUMNS)) {
        await db.schema.alterTable("content").addColumn(column, type).execute();
      }
      // What the bundle was built into (interpreters, cache entries), once built.
      await db.schema.alterTable("bundles").addColumn("build", "text").execute();
      await db.schema.alterTable("environments").addColumn("image_pull_policy", "text").execute();

      // Names this installation of Slipway to the backends it labels its work on.
      await db.schema
        .createTable("installation")
        .addColumn("id", "integer", (c) => c.primaryKey())
        .addColumn("instance", "text", (c) => c.notNull())
        .execute();
    },
  };
}
