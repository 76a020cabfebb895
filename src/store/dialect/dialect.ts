/**
 * What differs between the two databases, as data and tiny functions. Nothing outside
 * `src/store/dialect/` asks which database is in use.
 */
import type { ColumnDefinitionBuilder, Kysely } from "kysely";

export interface StoreDialect {
  readonly name: "sqlite" | "postgres";
  /** The column type of an auto-assigned integer primary key. */
  readonly autoIdType: "integer" | "serial";
  /** Finishes an auto-assigned integer primary key column. */
  autoId(column: ColumnDefinitionBuilder): ColumnDefinitionBuilder;
  /** True when the error is a violation of a unique constraint. */
  isUniqueViolation(error: unknown): boolean;
  /** True when the error says the database has no room left to write. */
  isStorageFull(error: unknown): boolean;
  /**
   * Runs `work` in a transaction that holds a database-wide lock named by `key`, so that two
   * servers sharing one database never run it at once.
   */
  withLock<T>(
    db: Kysely<unknown>,
    key: string,
    work: (trx: Kysely<unknown>) => Promise<T>,
  ): Promise<T>;
}
