import type { Kysely } from "kysely";

/**
 * Leases, so server replicas sharing the database share its work: a named lease (a content
 * item's reconcile pass, a server's liveness) is held by one server until it expires. Also
 * where an environment's jobs run on a cluster and as whom (Slipway's extension): a node
 * selector, tolerations and image pull secrets as JSON, and a service account, kept by
 * retired environments too so content still running in one keeps its placement.
 */
export const leases = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .createTable("leases")
      .addColumn("name", "text", (c) => c.primaryKey())
      .addColumn("holder", "text", (c) => c.notNull())
      // Milliseconds since the epoch: compared in SQL, the same on both databases.
      .addColumn("expires_ms", "bigint", (c) => c.notNull())
      .execute();
    for (const table of ["environments", "retired_environments"]) {
      for (const column of [
        "node_selector",
        "tolerations",
        "service_account",
        "image_pull_secrets",
      ]) {
        await db.schema.alterTable(table).addColumn(column, "text").execute();
      }
    }
  },
};
