import { sql } from "kysely";
import type { StoreDialect } from "./dialect.js";

export const postgresDialect: StoreDialect = {
  name: "postgres",
  autoIdType: "serial",
  autoId: (column) => column.primaryKey(),
  isUniqueViolation: (error) =>
    typeof error === "object" && error !== null && "code" in error && error.code === "23505",
  // disk_full; PostgreSQL also reports a full WAL or temporary folder under it.
  isStorageFull: (error) =>
    typeof error === "object" && error !== null && "code" in error && error.code === "53100",
  withLock: (db, key, work) =>
    db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext(${key}))`.execute(trx);
      return work(trx);
    }),
};
