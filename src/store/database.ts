/**
 * Opens the store on the configured database and brings its schema up to date. The drivers
 * are constructed here and nowhere else.
 */
import { mkdirSync } from "node:fs";
import path from "node:path";
import SqliteDatabase from "better-sqlite3";
import { Kysely, Migrator, PostgresDialect } from "kysely";
import pg from "pg";
import type { Settings } from "../config/settings.js";
import type { StoreDialect } from "./dialect/dialect.js";
import { postgresDialect } from "./dialect/postgres.js";
import { sqliteDialect } from "./dialect/sqlite.js";
import { StoreSqliteDialect } from "./dialect/sqlite-driver.js";
import { migrations } from "./migrations/index.js";
import { RecentReads } from "./recent-reads.js";
import type { Tables } from "./schema.js";

export interface Store {
  readonly db: Kysely<Tables>;
  readonly dialect: StoreDialect;
  /** Reads kept for a moment on the content path, made stale by every write through `db`. */
  readonly recent: RecentReads;
  close(): Promise<void>;
}

export type StoreSettings = Pick<Settings, "Database" | "Postgres"> & {
  Server: Pick<Settings["Server"], "DataDir">;
};

export async function openStore(settings: StoreSettings): Promise<Store> {
  const store =
    settings.Database.Provider === "postgres" ? openPostgres(settings) : openSqlite(settings);
  try {
    await migrate(store);
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

function openSqlite(settings: StoreSettings): Store {
  mkdirSync(settings.Server.DataDir, { recursive: true });
  const database = new SqliteDatabase(path.join(settings.Server.DataDir, "slipway.db"));
  database.pragma("journal_mode = WAL");
  database.pragma("foreign_keys = ON");
  database.pragma("busy_timeout = 5000");
  const recent = new RecentReads();
  const db = new Kysely<Tables>({
    dialect: new StoreSqliteDialect(database),
    plugins: [recent.plugin()],
  });
  return { db, dialect: sqliteDialect, recent, close: () => db.destroy() };
}

function openPostgres(settings: StoreSettings): Store {
  const pool = new pg.Pool({
    connectionString: settings.Postgres.URL,
    ...(settings.Postgres.Password ? { password: settings.Postgres.Password } : {}),
    max: 10,
  });
  // An idle connection that the database ends (a restart, a failover) is dropped by the pool
  // and replaced on the next query; without a listener the event would crash the process.
  pool.on("error", () => {});
  const recent = new RecentReads();
  const db = new Kysely<Tables>({
    dialect: new PostgresDialect({ pool }),
    plugins: [recent.plugin()],
  });
  return { db, dialect: postgresDialect, recent, close: () => db.destroy() };
}

async function migrate(store: Store): Promise<void> {
  const migrator = new Migrator({
    db: store.db,
    provider: { getMigrations: async () => migrations(store.dialect) },
    migrationTableName: "slipway_migrations",
    migrationLockTableName: "slipway_migrations_lock",
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    throw new Error(`Database migration ${failed} failed: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
