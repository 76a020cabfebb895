import type { Kysely } from "kysely";

/**
 * Where an environment's jobs run on a cluster and as whom (Slipway's extension): a node
 * selector, tolerations and image pull secrets as JSON, and a service account. Retired
 * environments keep them too, so content still running in one keeps its placement.
 */
export const environmentScheduling = {
  async up(db: Kysely<unknown>): Promise<void> {
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
