/**
 * Bundles of real size through a real server: every size around the 64 KiB that once hung,
 * up to 200 MB of incompressible data, raw and chunked, packed by GNU tar and by Python's
 * tarfile, each accepted, kept byte-for-byte, deployed and served byte-for-byte at its content
 * URL; a 5,000-file bundle; and staging left clean after a refusal, a cut-short archive, a
 * client that goes away mid-upload, and a server that stopped mid-upload.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdir, readdir, rm, stat, symlink, utimes, writeFile } from "node:fs/promises";
import { request } from "node:http";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bundleScratch,
  fetchSha256,
  fileSha256,
  type Packer,
  pack,
  staticBundle,
  uploadFile,
} from "../support/big-bundles.js";
import { tarGz } from "../support/bundles.js";
import { createContent, waitForTask } from "../support/deploy.js";
import { startTestServer, type TestServer } from "../support/server.js";

let server: TestServer;
let scratch: string;
beforeAll(async () => {
  server = await startTestServer();
  scratch = await bundleScratch();
});
afterAll(async () => {
  await server?.close();
  await rm(scratch, { recursive: true, force: true });
});

const stagingDir = () => path.join(server.settings.Server.DataDir, "staging");
const staging = async () => readdir(stagingDir()).catch(() => [] as string[]);

/** Waits until staging is empty; the test's timeout bounds the wait. */
async function stagingEmptied(): Promise<void> {
  while ((await staging()).length > 0) await sleep(50);
}

async function deployBundle(guid: string, bundleId: string) {
  const started = await server.call("POST", `/__api__/v1/content/${guid}/deploy`, {
    key: server.keys.publisher,
    body: { bundle_id: bundleId },
  });
  expect(started.status).toBe(202);
  return waitForTask(server, started.body.task_id);
}

const KiB = 1024;
const sizes: [number, Packer][] = [
  [0, "gnu-tar"],
  [64 * KiB - 1, "python-tarfile"],
  [64 * KiB, "gnu-tar"],
  [64 * KiB + 1, "python-tarfile"],
  [300_000, "gnu-tar"],
  [5_000_000, "python-tarfile"],
  [60_000_000, "gnu-tar"],
  [200_000_000, "python-tarfile"],
];

describe("uploading bundles of real size", () => {
  it.each(sizes)(
    "takes a static bundle with a %i-byte data file (%s), raw and chunked, and serves it byte-for-byte",
    { timeout: 600_000 },
    async (bytes, packer) => {
      const bundle = await staticBundle(scratch, bytes, packer);
      const archiveBytes = (await stat(bundle.archive)).size;
      const archive = await fileSha256(bundle.archive);
      for (const mode of ["raw", "chunked"] as const) {
        const item = await createContent(server, `upload-${bytes}-${mode}`);
        const uploaded = await uploadFile(
          server.url,
          server.keys.publisher,
          item.guid,
          bundle.archive,
          mode,
          archiveBytes,
        );
        expect(uploaded, mode).toMatchObject({ status: 200, body: { size: archiveBytes } });
        const kept = await fetchSha256(
          `${server.url}/__api__/v1/content/${item.guid}/bundles/${uploaded.body.id}/download`,
          server.keys.publisher,
        );
        expect(kept.sha256).toBe(archive);
        const task = await deployBundle(item.guid, uploaded.body.id!);
        expect(task.code, task.output.join("\n")).toBe(0);
        const served = await fetchSha256(
          new URL(bundle.dataName, item.content_url).href,
          server.keys.viewer,
        );
        expect(served).toEqual({ status: 200, sha256: bundle.sha256, bytes });
      }
      expect(await staging()).toEqual([]);
    },
  );

  it("answers a thousand small uploads in a row, four at a time", {
    timeout: 600_000,
  }, async () => {
    // Small bundles once hung about once in every 1,000 to 5,000 uploads.
    const item = await createContent(server, "many-small");
    const archive = tarGz([
      {
        path: "manifest.json",
        content: JSON.stringify({ version: 1, metadata: { appmode: "static" } }),
      },
      { path: "index.html", content: "<p>small</p>" },
    ]);
    const statuses: number[] = [];
    const worker = async (lane: number) => {
      for (let i = lane; i < 1000; i += 4) {
        const body =
          i % 2 === 0
            ? archive
            : new ReadableStream({
                start(controller) {
                  controller.enqueue(archive.subarray(0, i % archive.length));
                  controller.enqueue(archive.subarray(i % archive.length));
                  controller.close();
                },
              });
        const answer = await fetch(`${server.url}/__api__/v1/content/${item.guid}/bundles`, {
          method: "POST",
          headers: { Authorization: `Key ${server.keys.publisher}` },
          body,
          duplex: "half",
        } as RequestInit);
        await answer.arrayBuffer();
        statuses.push(answer.status);
      }
    };
    await Promise.all([0, 1, 2, 3].map(worker));
    expect(statuses.filter((s) => s !== 200)).toEqual([]);
    expect(statuses).toHaveLength(1000);
  });

  it("takes a bundle of 5,000 files and serves each of them", { timeout: 600_000 }, async () => {
    const bundle = await staticBundle(scratch, 1000, "python-tarfile", 5000);
    const item = await createContent(server, "five-thousand-files");
    const uploaded = await uploadFile(
      server.url,
      server.keys.publisher,
      item.guid,
      bundle.archive,
      "chunked",
    );
    expect(uploaded.status).toBe(200);
    expect((await deployBundle(item.guid, uploaded.body.id!)).code).toBe(0);
    for (let i = 0; i < 5000; i += 1) {
      const page = await fetch(new URL(`files/${i % 50}/file-${i}.txt`, item.content_url), {
        headers: { Authorization: `Key ${server.keys.viewer}` },
      });
      expect(await page.text()).toBe(`file ${i}\n`);
    }
  });
});

describe("staging", () => {
  it("is left empty by a refused bundle, refused while it is still arriving", {
    timeout: 120_000,
  }, async () => {
    const item = await createContent(server, "refused-midway");
    // A link out, then megabytes the server no longer unpacks but still reads to the end.
    const dir = path.join(scratch, "refused");
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "manifest.json"), "{}");
    await symlink("/etc/passwd", path.join(dir, "a-link"));
    await writeFile(path.join(dir, "z-data.bin"), randomBytes(5_000_000));
    const evil = path.join(scratch, "evil.tar.gz");
    await pack(dir, ["a-link", "manifest.json", "z-data.bin"], evil, "gnu-tar");
    for (const mode of ["raw", "chunked"] as const) {
      const refused = await uploadFile(
        server.url,
        server.keys.publisher,
        item.guid,
        evil,
        mode,
        (await stat(evil)).size,
      );
      expect(refused.status).toBe(400);
      expect(refused.body.error).toBe(
        "The bundle was refused: a-link links to the absolute path /etc/passwd.",
      );
      expect(await staging()).toEqual([]);
    }
    expect((await server.call("GET", `/__api__/v1/content/${item.guid}/bundles`)).body).toEqual([]);
  });

  it("is left empty by archives cut short anywhere, each refused with a 400", {
    timeout: 300_000,
  }, async () => {
    const item = await createContent(server, "cut-short");
    const bundle = await staticBundle(scratch, 1000, "gnu-tar", 300);
    const whole = readFileSync(bundle.archive);
    const cut = path.join(scratch, "cut.tar.gz");
    for (let i = 1; i <= 40; i++) {
      const at = Math.floor((whole.length * i) / 41);
      await writeFile(cut, whole.subarray(0, at));
      const refused = await uploadFile(
        server.url,
        server.keys.publisher,
        item.guid,
        cut,
        "raw",
        at,
      );
      expect(refused.status, `cut at ${at}: ${refused.body.error}`).toBe(400);
      expect(refused.body.error).toMatch(/^The bundle was refused: it is cut short/);
      expect(await staging()).toEqual([]);
    }
  });

  it("is emptied when the client goes away mid-upload, and the next upload works", {
    timeout: 120_000,
  }, async () => {
    const item = await createContent(server, "gone-away");
    const bundle = await staticBundle(scratch, 5_000_000, "python-tarfile");
    const whole = readFileSync(bundle.archive);
    const req = request(`${server.url}/__api__/v1/content/${item.guid}/bundles`, {
      method: "POST",
      headers: {
        Authorization: `Key ${server.keys.publisher}`,
        "Content-Length": whole.length,
      },
    });
    req.on("error", () => {});
    req.write(whole.subarray(0, whole.length / 2));
    while ((await staging()).length === 0) await sleep(20);
    req.destroy();
    await stagingEmptied();
    const again = await uploadFile(
      server.url,
      server.keys.publisher,
      item.guid,
      bundle.archive,
      "raw",
      whole.length,
    );
    expect(again.status).toBe(200);
    expect(await staging()).toEqual([]);
  });

  it("is cleared at start of what a stopped server left, and only of that", {
    timeout: 120_000,
  }, async () => {
    const left = path.join(stagingDir(), "left-by-a-crash");
    await mkdir(path.join(left, "files.unpacking-x", "app"), { recursive: true });
    await writeFile(path.join(left, "bundle.tar.gz"), "partial");
    const longAgo = new Date(Date.now() - 2 * 60 * 60 * 1000);
    for (const p of [
      path.join(left, "files.unpacking-x"),
      path.join(left, "bundle.tar.gz"),
      left,
    ]) {
      await utimes(p, longAgo, longAgo);
    }
    // Another server sharing the data folder is writing this one right now.
    const live = path.join(stagingDir(), "in-progress-elsewhere");
    await mkdir(live, { recursive: true });
    await writeFile(path.join(live, "bundle.tar.gz"), "arriving");
    await server.restart();
    expect(await staging()).toEqual(["in-progress-elsewhere"]);
    await rm(live, { recursive: true });
  });
});
