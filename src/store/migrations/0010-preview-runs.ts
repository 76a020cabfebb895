import type { Kysely } from "kysely";

/**
 * Which runs are a draft bundle's preview process: a server that restarts while one runs must
 * adopt it as the draft's, not take it for an outdated process of the live content (and send
 * the live URL's visitors to the draft meanwhile).
 */
export const previewRuns = {
  async up(db: Kysely<unknown>): Promise<void> {
    await db.schema
      .alterTable("runs")
      .addColumn("preview", "integer", (c) => c.notNull().defaultTo(0))
      .execute();
  },
};
