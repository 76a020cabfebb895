/**
 * Hostile bundles against a real server in its own process: gzip bombs, long names and paths
 * (up to 200,000-character PAX paths), a million entries, and manifests huge or deeply
 * nested. Each must be refused with a 4xx in Connect's error shape naming the limit and its
 * setting, leave nothing in staging, and keep the server's memory bounded: its peak resident
 * memory (VmHWM, read from /proc and reset before each case) may grow by at most MEMORY_BOUND
 * while it handles the bundle. Once they took the server to 0.4–3.7 GiB, or killed it.
 */
import { readdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bundleScratch,
  END_OF_ARCHIVE,
  gzipMembers,
  header,
  numberedFiles,
  type Part,
  paxPath,
  uploadFile,
} from "../support/big-bundles.js";
import { tar } from "../support/bundles.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const MEMORY_BOUND = 160 * MiB;

let server: ServerProcess;
let scratch: string;
let guid: string;
beforeAll(async () => {
  scratch = await bundleScratch();
  server = await startServerProcess("[Applications]\nHostEnvironment = false\n");
  guid = (await server.call("POST", "/v1/content", { name: "hostile" })).body.guid;
});
afterAll(async () => {
  await server?.stop();
  if (server) await rm(path.dirname(server.dataDir), { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
});

const manifest = (text = JSON.stringify({ version: 1, metadata: { appmode: "static" } })) =>
  tar([{ path: "manifest.json", content: text }]).subarray(0, -1024);

/** Uploads the archive and reports the answer and how far the server's peak memory rose. */
async function upload(name: string, parts: Part[]) {
  const file = path.join(scratch, `${name}.tar.gz`);
  await gzipMembers(file, parts);
  return uploadMeasured(file);
}

async function uploadMeasured(file: string) {
  await server.resetPeak();
  const before = await server.memory();
  const answer = await uploadFile(
    server.url,
    server.key,
    guid,
    file,
    "raw",
    (await stat(file)).size,
  );
  const grew = (await server.peakMemory()) - before;
  const staging = await readdir(path.join(server.dataDir, "staging")).catch(() => []);
  return { ...answer, grew, staging };
}

function expectRefused(result: Awaited<ReturnType<typeof upload>>, message: RegExp) {
  expect(result.status, result.body.error).toBeGreaterThanOrEqual(400);
  expect(result.status).toBeLessThan(500);
  expect(result.body).toMatchObject({ code: expect.any(Number), payload: null });
  expect(result.body.error).toMatch(message);
  expect(result.staging).toEqual([]);
  expect(result.grew, `peak memory grew by ${(result.grew / MiB).toFixed(0)} MiB`).toBeLessThan(
    MEMORY_BOUND,
  );
}

const zeros = Buffer.alloc(64 * MiB);

describe("gzip bombs", () => {
  it("refuses a file that announces 10 GiB, at its header", { timeout: 300_000 }, async () => {
    const result = await upload("bomb-announced", [
      Buffer.concat([manifest(), header({ path: "zeros", size: 10 * GiB })]),
      { repeat: zeros, times: 160 },
    ]);
    expectRefused(
      result,
      /more than 4294967296 bytes once decompressed \(Bundles\.MaxExpandedBytes\)/,
    );
  });

  it("refuses 5 GiB of zeros after the end of the archive, at 4 GiB", {
    timeout: 300_000,
  }, async () => {
    const result = await upload("bomb-trailing", [
      Buffer.concat([manifest(), END_OF_ARCHIVE]),
      { repeat: zeros, times: 80 },
    ]);
    expectRefused(
      result,
      /more than 4294967296 bytes once decompressed \(Bundles\.MaxExpandedBytes\)/,
    );
  });

  it("refuses an extended header of 5 GiB, at its header", { timeout: 300_000 }, async () => {
    const result = await upload("bomb-pax", [
      Buffer.concat([
        manifest(),
        header({ path: "PaxHeader", type: "ExtendedHeader", size: 5 * GiB }),
      ]),
      { repeat: zeros, times: 80 },
    ]);
    expectRefused(result, /an extended header of 5368709120 bytes .*\(Bundles\.MaxPathLength\)/);
  });
});

describe("long names and paths", () => {
  it("refuses a 300-character name", { timeout: 120_000 }, async () => {
    const result = await upload("long-name", [tar([{ path: "n".repeat(300), content: "x" }])]);
    expectRefused(result, /a name of 300 bytes, longer than 255 \(Bundles\.MaxNameLength\)/);
  });

  it("refuses a 5,000-character path", { timeout: 120_000 }, async () => {
    const deep = `${"abcdefghi/".repeat(500).slice(0, 4999)}f`;
    const result = await upload("long-path", [tar([{ path: deep, content: "x" }])]);
    expectRefused(result, /a path of 5000 bytes, longer than 1024 \(Bundles\.MaxPathLength\)/);
  });

  it.each([100_000, 200_000])(
    "refuses a %i-character PAX path of nested folders",
    { timeout: 120_000 },
    async (length) => {
      const nested = `${"a/".repeat(length / 2).slice(0, length - 1)}f`;
      const archive = Buffer.concat([
        manifest(),
        paxPath(nested),
        header({ path: "placeholder", size: 1 }),
        Buffer.alloc(512, 0x78),
        END_OF_ARCHIVE,
      ]);
      const result = await upload(`pax-${length}`, [archive]);
      expectRefused(
        result,
        /an extended header of \d+ bytes precedes .*\(Bundles\.MaxPathLength\)/,
      );
    },
  );
});

describe("a million entries", () => {
  it("refuses a million files at the 100,001st", { timeout: 600_000 }, async () => {
    const file = path.join(scratch, "million-files.tar.gz");
    await numberedFiles(file, 1_000_000);
    expectRefused(await uploadMeasured(file), /more than 100000 entries \(Bundles\.MaxFiles\)/);
  });

  it("refuses a million entries of one folder at the 100,001st", { timeout: 300_000 }, async () => {
    const folder = header({ path: "same/", type: "Directory" });
    const result = await upload("million-folders", [
      manifest(),
      { repeat: Buffer.concat(Array.from({ length: 1000 }, () => folder)), times: 1000 },
      END_OF_ARCHIVE,
    ]);
    expectRefused(result, /more than 100000 entries \(Bundles\.MaxFiles\)/);
  });
});

describe("huge and deep manifests", () => {
  it("refuses 10 MB of nested arrays as it reads them", { timeout: 120_000 }, async () => {
    const half = 5 * 1000 * 1000;
    const text = Buffer.concat([Buffer.alloc(half, "["), Buffer.alloc(half, "]")]);
    const archive = Buffer.concat([
      header({ path: "manifest.json", size: text.length }),
      text,
      Buffer.alloc((512 - (text.length % 512)) % 512),
      END_OF_ARCHIVE,
    ]);
    const result = await upload("deep-manifest", [archive]);
    expectRefused(
      result,
      /nests arrays and objects more than 32 deep \(Bundles\.MaxManifestDepth\)/,
    );
  });

  it.each([400, 700])(
    "refuses a %i MB manifest at its header",
    { timeout: 300_000 },
    async (mb) => {
      const size = mb * 1000 * 1000;
      const block = Buffer.alloc(MiB, "x");
      const result = await upload(`huge-manifest-${mb}`, [
        header({ path: "manifest.json", size }),
        Buffer.from('{"version":1,"x":"'),
        { repeat: block, times: Math.ceil(size / MiB) },
        END_OF_ARCHIVE,
      ]);
      expectRefused(
        result,
        new RegExp(
          `manifest.json is ${size} bytes, larger than 16777216 \\(Bundles\\.MaxManifestBytes\\)`,
        ),
      );
    },
  );
});
