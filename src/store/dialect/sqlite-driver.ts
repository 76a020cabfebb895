/**
 * Kysely's SQLite driver with two changes:
 * - a rollback is skipped when SQLite has already ended the transaction itself, as it does on
 *   some errors (SQLITE_FULL, SQLITE_IOERR). Otherwise the ROLLBACK fails with "cannot
 *   rollback - no transaction is active", and that error replaces the one that says what
 *   went wrong;
 * - compiled statements are kept and reused. Kysely prepares every query anew, and compiling
 *   the SQL costs more than running it for the small queries on the content path (a third of
 *   the server's time under load, measured by bench/proxy.ts). The one connection runs one
 *   query at a time, so a kept statement is never busy when it is used again.
 */
import type { Database, Statement } from "better-sqlite3";
import {
  type DatabaseConnection,
  type Driver,
  type SqliteDatabase,
  SqliteDialect,
  SqliteDriver,
} from "kysely";

/** Enough for every query Slipway writes; lists of varying length come and go. */
const KEPT_STATEMENTS = 512;

function keepingStatements(database: Database): SqliteDatabase {
  const kept = new Map<string, Statement>();
  return {
    close: () => {
      kept.clear();
      database.close();
    },
    prepare: (sql: string) => {
      let statement = kept.get(sql);
      if (statement) {
        kept.delete(sql);
      } else {
        statement = database.prepare(sql);
        if (kept.size >= KEPT_STATEMENTS) kept.delete(kept.keys().next().value!);
      }
      kept.set(sql, statement);
      return statement;
    },
  };
}

class RollbackAwareSqliteDriver extends SqliteDriver {
  readonly #database: Database;

  constructor(database: Database) {
    super({ database: keepingStatements(database) });
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
