import { mkdtemp, rm, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { afterEach, describe, expect, it } from "vitest";
import {
  cacheName,
  markUsed,
  publishBuild,
  pythonCacheEntry,
  startBuild,
} from "./package-cache.js";
import {
  buildsInProgress,
  decodeCacheName,
  listRuntimeCaches,
  runtimeCacheSubPath,
} from "./runtime-caches.js";

describe("runtime cache names", () => {
  it("decodes every escaped image or version name back to itself", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (name) => {
        expect(decodeCacheName(cacheName(name))).toBe(name);
      }),
    );
    expect(decodeCacheName(cacheName(null))).toBeNull();
  });

  it("names the folder package-cache.ts builds into", () => {
    const entry = pythonCacheEntry({
      image: "ghcr.io/org/py:3.11",
      pythonVersion: "3.11.2",
      requirements: "",
      systemSitePackages: false,
    });
    const target = { language: "Python", version: "3.11.2", image_name: "ghcr.io/org/py:3.11" };
    expect(path.dirname(entry.subPath)).toBe(runtimeCacheSubPath(target as never));
  });
});

/** A host Python cache entry, as a build of a Flask app makes it. */
const entry = pythonCacheEntry({
  image: null,
  pythonVersion: "3.11.2",
  requirements: "flask\n",
  systemSitePackages: false,
});

describe("builds in progress", () => {
  let dataDir: string | undefined;
  afterEach(() => (dataDir ? rm(dataDir, { recursive: true, force: true }) : undefined));

  it("counts build folders whose task has not finished, and only those", async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "slipway-caches-"));
    await startBuild(dataDir, entry, "finished-task", null);
    const folder = path.dirname(entry.subPath);
    const running = (id: string) => Promise.resolve(id === "running-task");
    expect(await buildsInProgress(dataDir, folder, running)).toEqual([]);
    await startBuild(dataDir, entry, "running-task", null);
    expect(await buildsInProgress(dataDir, folder, running)).toEqual(["running-task"]);
  });
});

describe("a cache's last use", () => {
  let dataDir: string | undefined;
  afterEach(() => (dataDir ? rm(dataDir, { recursive: true, force: true }) : undefined));

  it("is when its newest package set was published or last reused, null before any", async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "slipway-caches-"));
    const build = await startBuild(dataDir, entry, "task-1", null);
    expect((await listRuntimeCaches(dataDir))[0]?.last_used_time).toBeNull();
    expect(await publishBuild(dataDir, entry, build)).toBe(true);
    // Published long ago, then reused by a build now.
    const past = new Date("2020-01-02T03:04:05.000Z");
    await utimes(path.join(dataDir, entry.subPath, ".complete"), past, past);
    expect((await listRuntimeCaches(dataDir))[0]?.last_used_time).toBe(past.toISOString());
    const before = Date.now() - 1000;
    await markUsed(dataDir, entry);
    const used = Date.parse((await listRuntimeCaches(dataDir))[0]!.last_used_time!);
    expect(used).toBeGreaterThanOrEqual(before);
  });
});
