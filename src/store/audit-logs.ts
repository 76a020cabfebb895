import type { Insertable, Kysely, Selectable } from "kysely";
import type { AuditLogsTable, Tables } from "./schema.js";

export type AuditLogRow = Readonly<Selectable<AuditLogsTable>>;

export async function insertAuditLog(
  db: Kysely<Tables>,
  row: Omit<Insertable<AuditLogsTable>, "id">,
): Promise<void> {
  await db.insertInto("audit_logs").values(row).execute();
}

/**
 * One page of entries after (or before) an id, in the order asked for; one more than
 * `limit` is read so the caller knows whether another page follows.
 */
export function auditLogPage(
  db: Kysely<Tables>,
  page: { limit: number; ascending: boolean; after?: number; before?: number },
) {
  let query = db.selectFrom("audit_logs").selectAll();
  if (page.after !== undefined) query = query.where("id", ">", page.after);
  if (page.before !== undefined) query = query.where("id", "<", page.before);
  return query
    .orderBy("id", page.ascending ? "asc" : "desc")
    .limit(page.limit + 1)
    .execute();
}
