import type { StoreDialect } from "./dialect.js";

export const sqliteDialect: StoreDialect = {
  name: "sqlite",
  autoIdType: "integer",
  autoId: (column) => column.primaryKey().autoIncrement(),
  isUniqueViolation: (error) =>
    typeof error === "object" &&
    error !== null &&
    "code" in error &&
    (error.code === "SQLITE_CONSTRAINT_UNIQUE" || error.code === "SQLITE_CONSTRAINT_PRIMARYKEY"),
  isStorageFull: (error) =>
    typeof error === "object" && error !== null && "code" in error && error.code === "SQLITE_FULL",
  // One process owns a SQLite file and better-sqlite3 serializes its transactions.
  withLock: (db, _key, work) => db.transaction().execute(work),
};
