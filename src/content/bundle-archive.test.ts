import { createReadStream } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { type TarEntry, tar, tarGz, tarGzOf } from "../../test/support/bundles.js";
import { defaults } from "../config/settings.js";
import { isApiError } from "../errors.js";
import { type BundleLimits, unpackBundle } from "./bundle-archive.js";
import { readManifestText } from "./bundle-manifest.js";

const LIMITS: BundleLimits = {
  ...defaults().Bundles,
  MaxExpandedBytes: 1024 * 1024,
  MaxFiles: 100,
};

const scratchRoot = await mkdtemp(path.join(tmpdir(), "slipway-unpack-"));
afterAll(() => rm(scratchRoot, { recursive: true, force: true }));

/** A scratch folder holding `files`, the destination, and nothing else. */
async function scratch() {
  const parent = await mkdtemp(path.join(scratchRoot, "case-"));
  const dir = path.join(parent, "work");
  await mkdir(dir);
  return { parent, dir, dest: path.join(dir, "files") };
}

async function refusal(archive: Buffer | Readable, limits: BundleLimits = LIMITS) {
  const { parent, dir, dest } = await scratch();
  const error = await unpackBundle(archive, dest, limits).then(
    () => undefined,
    (e: unknown) => e,
  );
  // Nothing is left: no destination, no staging folder, nothing written beside or above it.
  expect(await readdir(dir)).toEqual([]);
  expect(await readdir(parent)).toEqual(["work"]);
  if (!isApiError(error)) throw new Error(`expected a refusal, got ${String(error)}`);
  return error;
}

describe("unpacking bundles", () => {
  it("unpacks files, folders and links that stay inside, from a stream or a buffer", async () => {
    const archive = tarGz([
      { path: "manifest.json", content: "{}" },
      { path: "./app/", type: "Directory" },
      { path: "app/main.py", content: "print('hi')", mode: 0o4755 },
      { path: "app/data.csv", content: "a,b", mode: 0o600 },
      { path: "latest", type: "SymbolicLink", linkpath: "app/main.py" },
      { path: "app/up", type: "SymbolicLink", linkpath: ".." },
      { path: "app/copy.py", type: "Link", linkpath: "app/main.py" },
    ]);
    for (const source of [archive, Readable.from([archive])]) {
      const { dest } = await scratch();
      expect(await unpackBundle(source, dest, LIMITS)).toEqual({ entries: 7, bytes: 16 });
      expect(await readFile(path.join(dest, "latest"), "utf8")).toBe("print('hi')");
      expect(await readlink(path.join(dest, "latest"))).toBe("app/main.py");
      expect(await readFile(path.join(dest, "app/up/app/copy.py"), "utf8")).toBe("print('hi')");
      expect((await readdir(path.join(dest, "app"))).sort()).toEqual([
        "copy.py",
        "data.csv",
        "main.py",
        "up",
      ]);
      expect((await stat(path.join(dest, "app/main.py"))).mode & 0o7777).toBe(0o755);
      expect((await stat(path.join(dest, "app/data.csv"))).mode & 0o7777).toBe(0o644);
      expect((await readdir(path.dirname(dest))).sort()).toEqual(["files"]);
    }
  });

  it("unpacks into an empty destination folder", async () => {
    const { dest } = await scratch();
    await mkdir(dest);
    await unpackBundle(tarGzOf({ "manifest.json": "{}" }), dest, LIMITS);
    expect(await readdir(dest)).toEqual(["manifest.json"]);
  });

  // The first unpacker stalled on about 1 in 60 of these (8 of 500 in a probe), a race on the
  // tar parser's drain: the cause of a deploy test that waited out its timeout under load.
  it("unpacks a one-file bundle read from a file 300 times in a row, none stalling", async () => {
    const { parent, dir } = await scratch();
    const archive = path.join(parent, "bundle.tar.gz");
    await writeFile(archive, tarGzOf({ "manifest.json": '{"metadata":{"appmode":"static"}}' }));
    for (let i = 0; i < 300; i++) {
      const dest = path.join(dir, `files-${i}`);
      expect(await unpackBundle(createReadStream(archive), dest, LIMITS)).toMatchObject({
        entries: 1,
      });
      await rm(dest, { recursive: true });
    }
  }, 120_000);

  it.each<[string, TarEntry[], string]>([
    [
      "path traversal",
      [{ path: "../evil.txt", content: "x" }],
      "../evil.txt points outside the bundle",
    ],
    [
      "nested traversal",
      [{ path: "a/../../evil.txt", content: "x" }],
      "a/../../evil.txt points outside the bundle",
    ],
    ["an absolute path", [{ path: "/tmp/evil", content: "x" }], "/tmp/evil has an absolute path"],
    [
      "a symlink out",
      [{ path: "link", type: "SymbolicLink", linkpath: "../../etc/passwd" }],
      "link points outside the bundle",
    ],
    [
      "an absolute symlink",
      [{ path: "link", type: "SymbolicLink", linkpath: "/etc/passwd" }],
      "link links to the absolute path /etc/passwd",
    ],
    [
      "a chain of links that climbs out",
      [
        { path: "sub/", type: "Directory" },
        { path: "sub/b", type: "SymbolicLink", linkpath: ".." },
        { path: "sub/c", type: "SymbolicLink", linkpath: "b/../.." },
      ],
      "sub/c points outside the bundle",
    ],
    [
      "a write through a link",
      [
        { path: "sub/", type: "Directory" },
        { path: "d", type: "SymbolicLink", linkpath: "sub" },
        { path: "d/evil.txt", content: "x" },
      ],
      "d/evil.txt lies inside the link d",
    ],
    [
      "a file replacing a link",
      [
        { path: "f", type: "SymbolicLink", linkpath: "manifest.json" },
        { path: "f", content: "overwrite through the link" },
      ],
      "f appears twice",
    ],
    [
      "a dangling link",
      [{ path: "nowhere", type: "SymbolicLink", linkpath: "missing" }],
      "nowhere links to something the bundle does not hold",
    ],
    [
      "a hard link out",
      [{ path: "link", type: "Link", linkpath: "../outside" }],
      "link points outside the bundle",
    ],
    [
      "a hard link to a later entry",
      [
        { path: "link", type: "Link", linkpath: "later" },
        { path: "later", content: "x" },
      ],
      "link is a hard link to later, which is not a file before it",
    ],
    [
      "a character device",
      [{ path: "dev", type: "CharacterDevice" }],
      "dev is a CharacterDevice entry; bundles hold only files, folders and links",
    ],
    [
      "a block device",
      [{ path: "disk", type: "BlockDevice" }],
      "disk is a BlockDevice entry; bundles hold only files, folders and links",
    ],
    [
      "a fifo",
      [{ path: "pipe", type: "FIFO" }],
      "pipe is a FIFO entry; bundles hold only files, folders and links",
    ],
  ])("refuses %s, leaving nothing on disk", async (_, entries, message) => {
    const error = await refusal(
      tarGz([
        { path: "manifest.json", content: "{}" },
        { path: "ok.txt", content: "fine" },
        ...entries,
      ]),
    );
    expect(error.kind).toBe("badRequest");
    expect(error.message).toBe(`The bundle was refused: ${message}.`);
  });

  it("refuses archives over the limits", async () => {
    const many = tarGz(Array.from({ length: 5 }, (_, i) => ({ path: `f${i}`, content: "x" })));
    expect((await refusal(many, { ...LIMITS, MaxFiles: 3 })).message).toBe(
      "The bundle was refused: it holds more than 3 entries (Bundles.MaxFiles).",
    );
    const big = tarGzOf({ small: "x".repeat(600), big: "y".repeat(600) });
    expect((await refusal(big, { ...LIMITS, MaxExpandedBytes: 2000 })).message).toBe(
      "The bundle was refused: it holds more than 2000 bytes once decompressed (Bundles.MaxExpandedBytes).",
    );
  });

  it("takes a file of 8 MiB of zeros, which compresses 1000:1", async () => {
    const { dest } = await scratch();
    const zeros = Buffer.alloc(8 * 1024 * 1024);
    await unpackBundle(tarGzOf({ zeros }), dest, { ...LIMITS, MaxExpandedBytes: 16 * 1024 * 1024 });
    expect((await readFile(path.join(dest, "zeros"))).equals(zeros)).toBe(true);
  });

  it.each<[string, TarEntry[], string]>([
    [
      "a sparse file",
      [{ path: "sparse", type: "SparseFile" as never }],
      "sparse is a SparseFile entry; bundles hold only files, folders and links",
    ],
    [
      "an extended header larger than any allowed path needs",
      [{ path: `${"d/".repeat(40_000)}f`, content: "x" }],
      "an extended header of 80013 bytes precedes PaxHeader/f; at most 67584 bytes are read, enough for paths of 1024 bytes (Bundles.MaxPathLength)",
    ],
  ])("refuses %s", async (_, entries, message) => {
    expect((await refusal(tarGz(entries))).message).toBe(`The bundle was refused: ${message}.`);
  });

  it.each<[string, Buffer]>([
    ["garbage", Buffer.from("this is not a tarball at all, not even close".repeat(20))],
    ["an uncompressed tar", tar([{ path: "manifest.json", content: "{}" }])],
    ["an empty upload", Buffer.alloc(0)],
    ["gzip of garbage", gzipSync(Buffer.from("x".repeat(3000)))],
    [
      "a truncated archive",
      tarGzOf({ "manifest.json": "{}", data: "z".repeat(5000) }).subarray(0, 40),
    ],
    ["an archive with no entries", tarGz([])],
    ["an archive compressed twice", gzipSync(tarGzOf({ "manifest.json": "{}" }))],
  ])("refuses %s", async (_, archive) => {
    const error = await refusal(archive);
    expect(error.kind).toBe("badRequest");
    expect(error.message).toMatch(/^The bundle was refused: /);
  });
});

describe("the manifest", () => {
  const limits = { ...LIMITS, MaxManifestBytes: 1000, MaxManifestDepth: 3 };

  it("is refused when larger than MaxManifestBytes, from its header", async () => {
    const error = await refusal(tarGzOf({ "manifest.json": "x".repeat(1001) }), limits);
    expect(error).toMatchObject({
      kind: "invalidManifest",
      message:
        "The bundle's manifest.json is 1001 bytes, larger than 1000 (Bundles.MaxManifestBytes).",
    });
  });

  it("is refused when nested deeper than MaxManifestDepth, counting only outside strings", async () => {
    const error = await refusal(tarGzOf({ "manifest.json": '{"a":[{"b":[1]}]}' }), limits);
    expect(error.message).toBe(
      "The bundle's manifest.json nests arrays and objects more than 3 deep (Bundles.MaxManifestDepth).",
    );
    const { dest } = await scratch();
    await unpackBundle(tarGzOf({ "manifest.json": '{"a":[{"b":"[[[[\\"{{"}]}' }), dest, limits);
    expect(JSON.parse(await readManifestText(dest, limits))).toEqual({ a: [{ b: '[[[["{{' }] });
  });

  it("is held to the same limits when it is a link to another file", async () => {
    const { dest } = await scratch();
    await unpackBundle(
      tarGz([
        { path: "data.json", content: `[${"1,".repeat(600)}1]` },
        { path: "manifest.json", type: "SymbolicLink", linkpath: "data.json" },
      ]),
      dest,
      limits,
    );
    await expect(readManifestText(dest, limits)).rejects.toMatchObject({
      kind: "invalidManifest",
      message:
        "The bundle's manifest.json is 1203 bytes, larger than 1000 (Bundles.MaxManifestBytes).",
    });
  });

  it("reads the top-level manifest, and names a missing one", async () => {
    const { dest } = await scratch();
    await unpackBundle(
      tarGzOf({ "manifest.json": '{"version":1}', "sub/manifest.json": "{}" }),
      dest,
      LIMITS,
    );
    expect(await readManifestText(dest, LIMITS)).toBe('{"version":1}');
    const { dir } = await scratch();
    await writeFile(path.join(dir, "app.py"), "");
    await expect(readManifestText(dir, LIMITS)).rejects.toMatchObject({
      kind: "invalidManifest",
      message: "The bundle has no manifest.json at its top level.",
    });
  });
});
