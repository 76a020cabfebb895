/**
 * Kysely's SQLite driver, except that a rollback is skipped when SQLite has already ended
 * the transaction itself, as it does on some errors (SQLITE_FULL, SQLITE_IOERR). Otherwise the
 * ROLLBACK fails with "cannot rollback - no transaction is active", and that error replaces
 * the one that says what went wrong.
 */
import type { Database } from "better-sqlite3";
import { type DatabaseConnection, type Driver, SqliteDialect, SqliteDriver } from "kysely";

class RollbackAwareSqliteDriver extends SqliteDriver {
  readonly #database: Database;

  constructor(database: Database) {
    super({ database });
    this.#database = database;
  }

  override async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    if (this.#database.inTransaction) await super.rollbackTransaction(connection);
  }
}

export class StoreSqliteDialect extends SqliteDialect {
  readonly #database: Database;

  constructor(database: Database) {
    super({ database });
    this.#database = database;
  }

  override createDriver(): Driver {
    return new RollbackAwareSqliteDriver(this.#database);
  }
}
