import { sql } from "kysely";
import type { StoreDialect } from "./dialect.js";

export const postgresDialect: StoreDialect = {
  name: "postgres",
  autoIdType: "serial",
  autoId: (column) => column.primaryKey(),
  isUniqueViolation: (error) =>
    typeof error === "object" && error !== null && "code" in error && error.code === "23505",
  withLock: (db, key, work) =>
    db.transaction().execute(async (trx) => {
      await sql`select pg_advisory_xact_lock(hashtext(${key}))`.execute(trx);
      return work(trx);
    }),
};
