import { lstat, mkdtemp, readdir, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  cacheName,
  isCached,
  normalizeRequirements,
  publishBuild,
  pythonCacheEntry,
  rCacheEntry,
  removeAbandonedBuilds,
  startBuild,
} from "./package-cache.js";

const base = {
  image: "ghcr.io/org/py:3.11",
  pythonVersion: "3.11.7",
  requirements: "",
  systemSitePackages: false,
};

describe("requirement sets", () => {
  it("drops comments, blanks, repeats, order and insignificant whitespace", () => {
    const text =
      "# pinned for prod\nrequests >= 2.0 , < 3  # http\n\nflask==3.0.0\r\nrequests>=2.0,<3\nnumpy \\\n  ==1.26.4\n--find-links /wheels\nurl#fragment-is-kept\n";
    expect(normalizeRequirements(text)).toEqual([
      "--find-links /wheels",
      "flask==3.0.0",
      "numpy==1.26.4",
      "requests>=2.0,<3",
      "url#fragment-is-kept",
    ]);
  });

  it("gives one key to any arrangement of the same set", () => {
    const requirement = fc.constantFrom("flask==3.0.0", "requests>=2", "numpy", "pandas<3,>=2");
    const noise = ["", "# comment", "   "];
    const arrangement = fc
      .uniqueArray(requirement, { minLength: 1 })
      .chain((set) =>
        fc.tuple(
          fc.constant(set),
          fc.shuffledSubarray([...set, ...noise], { minLength: set.length + noise.length }),
        ),
      );
    const key = (text: string) => pythonCacheEntry({ ...base, requirements: text }).key;
    fc.assert(
      fc.property(arrangement, ([set, shuffled]) => {
        const spaced = shuffled.map((line) => ` ${line.replace(/([<>=]=?)/, " $1 ")}  # why`);
        expect(key(spaced.join("\n"))).toBe(key(set.join("\n")));
      }),
    );
  });

  it("gives different keys to different sets and to system site packages", () => {
    const key = (requirements: string, systemSitePackages = false) =>
      pythonCacheEntry({ ...base, requirements, systemSitePackages }).key;
    expect(key("flask==3.0.0")).not.toBe(key("flask==3.0.1"));
    expect(key("flask")).not.toBe(key("flask", true));
    expect(key("flask")).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe("cache layout", () => {
  it("places an entry by image, runtime and version, and key, as a data sub-path", () => {
    const entry = pythonCacheEntry({ ...base, requirements: "flask" });
    expect(entry.subPath).toBe(`cache/ghcr.io_2forg_2fpy_3a3.11/python-3.11.7/${entry.key}`);
    const r = rCacheEntry({
      image: null,
      rVersion: "4.2.2",
      packages: [
        { name: "shiny", version: "1.7.4" },
        { name: "jsonlite", version: null },
      ],
      repository: "https://cran.example.org",
    });
    expect(r.subPath).toBe(`cache/_host/R-4.2.2/${r.key}`);
    expect(r.contents).toEqual(["jsonlite", "shiny 1.7.4"]);
  });

  it("gives R package sets one key whatever their order, and another for another version or repository", () => {
    const key = (packages: { name: string; version: string | null }[], repository = "r") =>
      rCacheEntry({ image: "i", rVersion: "4.3.1", packages, repository }).key;
    const a = { name: "a", version: "1.0" };
    const b = { name: "b", version: null };
    expect(key([a, b])).toBe(key([b, a]));
    expect(key([a, b])).not.toBe(key([{ ...a, version: "1.1" }, b]));
    expect(key([a])).not.toBe(key([a], "other"));
  });

  it("escapes image names so that different names never share a folder", () => {
    expect(cacheName(null)).toBe("_host");
    expect(cacheName("_host")).toBe("_5fhost");
    expect(cacheName("a/b")).not.toBe(cacheName("a_b"));
    expect(cacheName("..")).toBe("_2e.");
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        if (a !== b) expect(cacheName(a)).not.toBe(cacheName(b));
        expect(cacheName(a)).toMatch(/^[A-Za-z0-9_-][A-Za-z0-9._-]*$|^$/);
      }),
    );
  });

  it("publishes only completed builds, and the first of two builds of one key", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "slipway-cache-"));
    const entry = pythonCacheEntry({ ...base, requirements: "flask" });
    const link = path.join(dataDir, entry.subPath);
    const first = await startBuild(dataDir, entry, "task-1", null);
    const second = await startBuild(dataDir, entry, "task-2", null);
    expect(await readFile(path.join(dataDir, first, "contents.txt"), "utf8")).toBe("flask\n");
    expect(await isCached(dataDir, entry)).toBe(false);
    expect(await publishBuild(dataDir, entry, second)).toBe(true);
    expect(await publishBuild(dataDir, entry, first)).toBe(false);
    expect(await isCached(dataDir, entry)).toBe(true);
    expect(await readlink(link)).toBe(path.basename(second));
    expect((await readdir(path.dirname(link))).sort()).toEqual(
      [entry.key, path.basename(second)].sort(),
    );

    // A published build whose marker was removed by hand is replaced by the next one.
    await rm(path.join(dataDir, second, ".complete"));
    expect(await isCached(dataDir, entry)).toBe(false);
    const third = await startBuild(dataDir, entry, "task-3", null);
    expect(await publishBuild(dataDir, entry, third)).toBe(true);
    expect(await readlink(link)).toBe(path.basename(third));
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
  });

  it("sweeps away unpublished builds whose task has ended, and keeps the rest", async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), "slipway-cache-"));
    const entry = pythonCacheEntry({ ...base, requirements: "numpy" });
    const published = await startBuild(dataDir, entry, "done-1", null);
    await publishBuild(dataDir, entry, published);
    const running = await startBuild(dataDir, entry, "running", null);
    const abandoned = await startBuild(dataDir, entry, "done-2", null);
    const removed = await removeAbandonedBuilds(dataDir, async (task) => task === "running");
    expect(removed).toEqual([abandoned]);
    const left = await readdir(path.dirname(path.join(dataDir, entry.subPath)));
    expect(left.sort()).toEqual(
      [entry.key, path.basename(published), path.basename(running)].sort(),
    );
    expect(await isCached(dataDir, entry)).toBe(true);
  });
});
