import { lstat, mkdtemp, readdir, readlink, rm } from "node:fs/promises";
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
  startBuild,
} from "./package-cache.js";

const base = {
  cacheRoot: "/var/lib/slipway/cache",
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
  it("places an environment by image, interpreter version and key", () => {
    const entry = pythonCacheEntry({ ...base, requirements: "flask" });
    expect(entry.dir).toBe(
      `/var/lib/slipway/cache/ghcr.io_2forg_2fpy_3a3.11/python-3.11.7/${entry.key}`,
    );
    expect(entry.python).toBe(`${entry.dir}/bin/python`);
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
    const cacheRoot = await mkdtemp(path.join(tmpdir(), "slipway-cache-"));
    const entry = pythonCacheEntry({ ...base, cacheRoot, requirements: "flask" });
    const first = await startBuild(entry);
    const second = await startBuild(entry);
    expect(await isCached(entry)).toBe(false);
    expect(await publishBuild(entry, second.buildDir)).toBe(true);
    expect(await publishBuild(entry, first.buildDir)).toBe(false);
    expect(await isCached(entry)).toBe(true);
    expect(await readlink(entry.dir)).toBe(path.basename(second.buildDir));
    expect((await readdir(path.dirname(entry.dir))).sort()).toEqual(
      [entry.key, path.basename(second.buildDir)].sort(),
    );

    // A published build whose marker was removed by hand is replaced by the next one.
    await rm(path.join(second.buildDir, ".complete"));
    expect(await isCached(entry)).toBe(false);
    const third = await startBuild(entry);
    expect(await publishBuild(entry, third.buildDir)).toBe(true);
    expect(await readlink(entry.dir)).toBe(path.basename(third.buildDir));
    expect((await lstat(entry.dir)).isSymbolicLink()).toBe(true);
  });
});
