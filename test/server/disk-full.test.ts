/**
 * A full disk, for real: the data folder on a small tmpfs (and, for PostgreSQL, the test
 * database in a tablespace on one), filled to the last page. Writes are answered with 507
 * naming the cause and leave nothing half-written, reads keep working, a start warns that
 * the folder is nearly full, and once space is freed everything works again.
 */
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, readdirSync } from "node:fs";
import { Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catalogRevision } from "../../src/store/environments.js";
import { tarGzOf } from "../support/bundles.js";
import { expectConnectError } from "../support/connect-error.js";
import { unavailable } from "../support/requirements.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { mountSmallDisk, type SmallDisk, smallDiskUnavailable } from "../support/small-disk.js";
import { adminQuery, freshDatabase, STORE_DIALECTS } from "../support/stores.js";

const noSmallDisk = unavailable("The full disk tests", smallDiskUnavailable());

const MANIFEST = JSON.stringify({ version: 1, metadata: { appmode: "static" } });
const bundle = () => tarGzOf({ "manifest.json": MANIFEST, "index.html": "<p>disk</p>" });

/** JSON log lines written by the server, for reading its warnings. */
function logSink(): { lines: () => Record<string, unknown>[]; stream: Writable } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const lines = () =>
    chunks
      .join("")
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { lines, stream };
}

async function upload(server: TestServer, guid: string) {
  const response = await fetch(`${server.url}/__api__/v1/content/${guid}/bundles`, {
    method: "POST",
    headers: { Authorization: `Key ${server.keys.publisher}` },
    body: bundle(),
  });
  return {
    status: response.status,
    body: (await response.json()) as { error: string },
    headers: response.headers,
  };
}

/** Creates content until the store refuses; returns the refusal and the name it was for. */
async function createUntilRefused(server: TestServer) {
  for (let i = 0; i < 5000; i++) {
    const name = `filler-${i}`;
    const result = await server.call("POST", "/__api__/v1/content", {
      key: server.keys.publisher,
      body: { name, description: "d".repeat(4000) },
    });
    if (result.status !== 200) return { result, name };
  }
  throw new Error("the store never filled up");
}

function stagingLeftovers(dataDir: string): string[] {
  const staging = `${dataDir}/staging`;
  return existsSync(staging) ? readdirSync(staging) : [];
}

describe.skipIf(noSmallDisk).each(STORE_DIALECTS)("a full data folder on %s", (dialect) => {
  let disk: SmallDisk;
  let server: TestServer;
  let content: string;
  const log = logSink();
  beforeAll(async () => {
    disk = mountSmallDisk(16 * 1024 * 1024);
    server = await startTestServer(
      dialect,
      (s) => {
        s.Server.DataDir = `${disk.path}/data`;
        s.Server.LogLevel = "warn";
      },
      { serverOptions: { logDestination: log.stream } },
    );
    content = (
      await server.call("POST", "/__api__/v1/content", {
        key: server.keys.publisher,
        body: { name: "before-full", access_type: "logged_in" },
      })
    ).body.guid;
  });
  afterAll(async () => {
    await server?.close();
    disk?.unmount();
  });

  it("warns at start that the folder is nearly full", () => {
    const warning = log.lines().find((l) => String(l.msg).includes("nearly full"));
    expect(warning).toMatchObject({ level: 40, dataDir: `${disk.path}/data` });
    expect(warning!.total_bytes).toBe(16 * 1024 * 1024);
  });

  it("answers writes with 507 naming the cause, leaves nothing half-written, and recovers", async () => {
    expect((await upload(server, content)).status).toBe(200);
    disk.fill();

    const refusedUpload = await upload(server, content);
    expectConnectError(refusedUpload, 507, 1);
    expect(refusedUpload.body.error).toContain("ENOSPC");
    expect(stagingLeftovers(server.settings.Server.DataDir)).toEqual([]);
    const bundles = await server.call("GET", `/__api__/v1/content/${content}/bundles`);
    expect(bundles.body, JSON.stringify(bundles.body)).toHaveLength(1);

    if (dialect === "sqlite") {
      const { result, name } = await createUntilRefused(server);
      expectConnectError(result, 507, 1);
      expect(result.body.error).toContain("SQLITE_FULL");
      expect(result.body.error).not.toContain("no transaction is active");
      const listed = await server.call("GET", `/__api__/v1/content?name=${name}`);
      expect(listed.body).toEqual([]);

      // A change of two statements in one transaction: neither lands.
      const revision = await catalogRevision(server.server.store.db);
      const environment = await server.call("POST", "/__api__/v1/environments", {
        body: { name: "ghcr.io/org/full:1", description: "x".repeat(4000) },
      });
      expectConnectError(environment, 507, 1);
      expect(await catalogRevision(server.server.store.db)).toBe(revision);
    }

    // Reads keep working on a full disk.
    const read = await server.call("GET", "/__api__/v1/content", { key: server.keys.viewer });
    expect(read.status).toBe(200);
    expect(read.body.map((c: { name: string }) => c.name)).toContain("before-full");

    disk.free();
    expect((await upload(server, content)).status).toBe(200);
    const created = await server.call("POST", "/__api__/v1/content", {
      key: server.keys.publisher,
      body: { name: "after-full" },
    });
    expect(created.status).toBe(200);
    const environment = await server.call("POST", "/__api__/v1/environments", {
      body: { name: "ghcr.io/org/after-full:1" },
    });
    expect(environment.status).toBe(200);
  });
});

/** A PostgreSQL on this machine, which can put a tablespace in a folder of ours. */
function localPostgresUnavailable(): string | undefined {
  const url = process.env.SLIPWAY_TEST_POSTGRES_URL;
  if (!url) return "SLIPWAY_TEST_POSTGRES_URL is not set";
  if (!["127.0.0.1", "localhost"].includes(new URL(url).hostname)) {
    return "the test PostgreSQL is not on this machine, so no tablespace can be made on a small disk";
  }
  try {
    execFileSync("id", ["-u", "postgres"], { stdio: "ignore" });
    return undefined;
  } catch {
    return "there is no postgres user to own the tablespace folder";
  }
}

const noFullPostgres =
  noSmallDisk || unavailable("The full PostgreSQL test", localPostgresUnavailable());

describe.skipIf(noFullPostgres)("a full PostgreSQL tablespace", () => {
  let disk: SmallDisk;
  let server: TestServer;
  const tablespace = `slipway_full_${process.pid}_${Date.now().toString(36)}`;
  beforeAll(async () => {
    // Room for the copy of template1 a new database gets, and a little more.
    disk = mountSmallDisk(32 * 1024 * 1024);
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString());
    execFileSync("mkdir", [`${disk.path}/pg`]);
    chownSync(`${disk.path}/pg`, uid, gid);
    await adminQuery(`create tablespace ${tablespace} location '${disk.path}/pg'`);
    const database = await freshDatabase("postgres", { postgresTablespace: tablespace });
    server = await startTestServer("postgres", () => {}, { database });
  });
  afterAll(async () => {
    await server?.close();
    await adminQuery(`drop tablespace if exists ${tablespace}`);
    disk?.unmount();
  });

  it("answers writes with 507 naming PostgreSQL's disk-full error, and recovers", async () => {
    disk.fill();
    const { result, name } = await createUntilRefused(server);
    expectConnectError(result, 507, 1);
    expect(result.body.error).toContain("53100");
    const listed = await server.call("GET", `/__api__/v1/content?name=${name}`);
    expect(listed.status).toBe(200);
    expect(listed.body).toEqual([]);

    disk.free();
    const created = await server.call("POST", "/__api__/v1/content", {
      key: server.keys.publisher,
      body: { name: "after-full" },
    });
    expect(created.status).toBe(200);
  });
});
