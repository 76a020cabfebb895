/**
 * The databases every store test runs against: SQLite always, PostgreSQL when
 * SLIPWAY_TEST_POSTGRES_URL names a server (CI always does). Each call gets a fresh database.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import pg from "pg";
import { defaults, type Settings } from "../../src/config/settings.js";
import { unavailable } from "./requirements.js";

export type DialectName = "sqlite" | "postgres";

const postgresUrl = process.env.SLIPWAY_TEST_POSTGRES_URL;
const withoutPostgres = unavailable(
  "PostgreSQL store tests",
  postgresUrl
    ? undefined
    : "SLIPWAY_TEST_POSTGRES_URL is not set (.ci/start-postgres.sh starts one)",
);

export const STORE_DIALECTS: DialectName[] = withoutPostgres ? ["sqlite"] : ["sqlite", "postgres"];

export interface TestDatabase {
  settings: Settings;
  drop(): Promise<void>;
}

export async function freshDatabase(
  dialect: DialectName,
  options: { postgresTablespace?: string } = {},
): Promise<TestDatabase> {
  const dataDir = await mkdtemp(path.join(tmpdir(), "slipway-test-"));
  const settings = defaults();
  settings.Server.DataDir = dataDir;
  settings.Server.Address = "127.0.0.1:0";
  settings.Server.LogLevel = "silent";
  settings.Server.BootstrapAdministrator = false;
  settings.Applications.HostEnvironment = false;
  if (dialect === "sqlite") {
    return { settings, drop: () => rm(dataDir, { recursive: true, force: true }) };
  }
  const name = `slipway_test_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
  const tablespace = options.postgresTablespace ? ` tablespace ${options.postgresTablespace}` : "";
  await adminQuery(`create database ${name}${tablespace}`);
  const url = new URL(postgresUrl!);
  url.pathname = `/${name}`;
  settings.Database.Provider = "postgres";
  settings.Postgres.URL = url.toString();
  return {
    settings,
    async drop() {
      await adminQuery(`drop database if exists ${name} with (force)`);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs one statement as the test server's administrator, outside any test database. */
export async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}
