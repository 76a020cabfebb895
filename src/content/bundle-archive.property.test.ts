/**
 * The unpacker over generated archives: whatever their sizes, entry counts, links and path
 * lengths, and however the bytes are split into chunks, an archive either unpacks to exactly
 * what it holds (compared with a listing made from the archive's own entries) or is refused
 * with a 4xx that leaves nothing on disk. A case that neither settles nor makes progress fails
 * as a hang at once, instead of waiting for the test's timeout.
 */
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { type TarEntry, tar } from "../../test/support/bundles.js";
import { defaults } from "../config/settings.js";
import { isApiError } from "../errors.js";
import { type BundleLimits, unpackBundle } from "./bundle-archive.js";

const LIMITS: BundleLimits = { ...defaults().Bundles };
const RUNS = Number(process.env.SLIPWAY_PROPERTY_RUNS ?? 40);
// A failure is reported as found: shrinking a hang would cost its wait once per step.
const OPTIONS = { numRuns: RUNS, endOnFailure: true };
const scratchRoot = await mkdtemp(path.join(tmpdir(), "slipway-unpack-property-"));
afterAll(() => rm(scratchRoot, { recursive: true, force: true }));

/** Fast compression: the cases are about the unpacker, not about how well gzip packs. */
const gz = (archive: Buffer) => gzipSync(archive, { level: 1 });

type Listed =
  | { kind: "dir" }
  | { kind: "file"; content: Buffer; mode: number }
  | { kind: "link"; target: string };

/** A generated bundle: the entries of its archive, and what unpacking them must give. */
interface Model {
  entries: TarEntry[];
  listing: Map<string, Listed>;
}

/** Deterministic incompressible bytes, so a large file does not cost fast-check a large value. */
function bytes(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let x = seed | 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const name = fc.oneof(
  { weight: 8, arbitrary: fc.stringMatching(/^[a-z][a-z0-9_-]{0,11}$/) },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-zé日][a-z0-9é日 .]{0,60}$/) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 255 }).map((n) => `n${"x".repeat(n - 1)}`) },
);
const size = fc.oneof(
  { weight: 2, arbitrary: fc.constant(0) },
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 2000 }) },
  { weight: 1, arbitrary: fc.integer({ min: 65536 - 600, max: 65536 + 600 }) },
  { weight: 1, arbitrary: fc.integer({ min: 100_000, max: 300_000 }) },
);
const op = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op: fc.constant("dir"), in: fc.nat(), name }) },
  {
    weight: 5,
    arbitrary: fc.record({
      op: fc.constant("file"),
      in: fc.nat(),
      name,
      size,
      seed: fc.integer(),
      exec: fc.boolean(),
      setuid: fc.boolean(),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ op: fc.constant("symlink"), in: fc.nat(), name, to: fc.nat() }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("hardlink"), in: fc.nat(), name, to: fc.nat() }),
  },
);

type Op = typeof op extends fc.Arbitrary<infer T> ? T : never;

/** Builds a valid bundle from operations; names get their index so none collide. */
function build(ops: Op[], implicit: boolean[]): Model {
  const dirs = [""];
  const targets: string[] = [""];
  const files: string[] = [];
  const entries: TarEntry[] = [];
  const listing = new Map<string, Listed>();
  for (const [i, o] of ops.entries()) {
    const dir = dirs[o.in % dirs.length]!;
    const at = path.posix.join(dir, `${o.name}.${i}`);
    if (Buffer.byteLength(at) > LIMITS.MaxPathLength || at.split("/").length > LIMITS.MaxDepth) {
      continue;
    }
    if (Buffer.byteLength(`${o.name}.${i}`) > LIMITS.MaxNameLength) continue;
    if (o.op === "dir") {
      entries.push({ path: `${at}/`, type: "Directory", mode: 0o700 });
      listing.set(at, { kind: "dir" });
      dirs.push(at);
      targets.push(at);
    } else if (o.op === "file") {
      const content = bytes(o.size, o.seed);
      const mode = (o.exec ? 0o755 : 0o640) | (o.setuid ? 0o6000 : 0);
      entries.push({ path: at, content, mode });
      listing.set(at, { kind: "file", content, mode: o.exec ? 0o755 : 0o644 });
      files.push(at);
      targets.push(at);
    } else if (o.op === "symlink") {
      const to = targets[o.to % targets.length]!;
      const target = path.posix.relative(dir, to) || ".";
      entries.push({ path: at, type: "SymbolicLink", linkpath: target });
      listing.set(at, { kind: "link", target });
      targets.push(at);
    } else if (files.length > 0) {
      const to = files[o.to % files.length]!;
      entries.push({ path: at, type: "Link", linkpath: to });
      listing.set(at, { ...(listing.get(to) as Listed & { kind: "file" }) });
      files.push(at);
      targets.push(at);
    }
  }
  // Folders that hold something may come without an entry of their own.
  const kept = entries.filter((e, i) => {
    if (e.type !== "Directory" || !implicit[i]) return true;
    const dir = e.path.slice(0, -1);
    return !entries.some((other) => other.path.startsWith(`${dir}/`) && other !== e);
  });
  if (kept.length === 0) {
    kept.push({ path: "manifest.json", content: "{}" });
    listing.set("manifest.json", { kind: "file", content: Buffer.from("{}"), mode: 0o644 });
  }
  return { entries: kept, listing };
}

const model = fc
  .tuple(fc.array(op, { minLength: 1, maxLength: 30 }), fc.array(fc.boolean(), { maxLength: 30 }))
  .map(([ops, implicit]) => build(ops, implicit));

/** Split points, as fractions of the archive's length, or one fixed chunk size. */
const chunking = fc.oneof(
  fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }).map((cuts) => ({ cuts })),
  fc.constantFrom(1, 7, 511, 512, 513, 16384, 65535, 65536, 65537).map((every) => ({ every })),
);

/** The archive in chunks; past 2,000 chunks the rest comes as one (a large chunk is a case too). */
function split(archive: Buffer, how: { cuts?: number[]; every?: number }): Buffer[] {
  const points = how.every
    ? Array.from(
        { length: Math.min(2000, Math.floor(archive.length / how.every)) },
        (_, i) => (i + 1) * how.every!,
      )
    : [...new Set(how.cuts!.map((c) => Math.floor(c * archive.length)))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const at of [...points, archive.length]) {
    if (at > from) chunks.push(archive.subarray(from, at));
    from = Math.max(from, at);
  }
  return chunks;
}

/**
 * Unpacks the chunks, through a generator stage or as a stream, and settles with the result or
 * the error; rejects as a hang once nothing has been read for a while and no file-system work
 * is in flight, while the unpacker has still not answered.
 */
async function unpack(chunks: Buffer[], dest: string, limits: BundleLimits, generator: boolean) {
  let pulls = 0;
  async function* feed() {
    for (const chunk of chunks) {
      pulls++;
      yield chunk;
    }
    pulls++;
  }
  const source = generator ? feed() : Readable.from(feed());
  const result = unpackBundle(source, dest, limits).then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  let settled = false;
  void result.then(() => {
    settled = true;
  });
  let seen = -1;
  let quiet = 0;
  while (!settled) {
    await Promise.race([result, new Promise((resolve) => setTimeout(resolve, 20))]);
    const busy = process.getActiveResourcesInfo().some((r) => r.startsWith("FSReq"));
    quiet = pulls !== seen || busy ? 0 : quiet + 1;
    seen = pulls;
    if (quiet >= 500 && !settled) {
      throw new Error(`unpacking hung after reading ${pulls} of ${chunks.length} chunks`);
    }
  }
  return result;
}

async function listing(root: string): Promise<Map<string, Listed>> {
  const out = new Map<string, Listed>();
  const walk = async (dir: string) => {
    for (const entry of await readdir(path.join(root, dir))) {
      const relative = dir ? `${dir}/${entry}` : entry;
      const full = path.join(root, relative);
      const info = await lstat(full);
      if (info.isSymbolicLink()) {
        out.set(relative, { kind: "link", target: await readlink(full) });
      } else if (info.isDirectory()) {
        expect(info.mode & 0o7777, relative).toBe(0o755);
        out.set(relative, { kind: "dir" });
        await walk(relative);
      } else {
        out.set(relative, {
          kind: "file",
          content: await readFile(full),
          mode: info.mode & 0o7777,
        });
      }
    }
  };
  await walk("");
  return out;
}

let cases = 0;
async function scratch() {
  const parent = path.join(scratchRoot, String(cases++));
  await mkdir(parent);
  return { parent, dest: path.join(parent, "files") };
}

/** The outcome must be a 4xx refusal with nothing left beside the destination. */
async function expectRefused(outcome: { ok: boolean; error?: unknown }, parent: string) {
  expect(outcome.ok).toBe(false);
  if (!isApiError(outcome.error)) throw outcome.error;
  expect(outcome.error.status).toBeGreaterThanOrEqual(400);
  expect(outcome.error.status).toBeLessThan(500);
  expect(await readdir(parent)).toEqual([]);
  return outcome.error;
}

describe("unpacking generated archives", () => {
  it("unpacks exactly what the archive holds, however it is chunked", {
    timeout: 300_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(model, chunking, fc.boolean(), async (m, how, generator) => {
        const { parent, dest } = await scratch();
        const outcome = await unpack(split(gz(tar(m.entries)), how), dest, LIMITS, generator);
        if (!outcome.ok) throw outcome.error;
        expect(await listing(dest)).toEqual(m.listing);
        await rm(parent, { recursive: true });
      }),
      OPTIONS,
    );
  });

  it("refuses an archive cut short at any point, leaving nothing", {
    timeout: 300_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(
        model,
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        chunking,
        async (m, cut, how) => {
          const archive = gz(tar(m.entries));
          const { parent, dest } = await scratch();
          const cutShort = archive.subarray(0, Math.floor(cut * archive.length));
          await expectRefused(await unpack(split(cutShort, how), dest, LIMITS, true), parent);
        },
      ),
      OPTIONS,
    );
  });

  // Names start with "zz-", which no generated name does (those end in ".<index>").
  const bad = fc.constantFrom<[string, TarEntry[], RegExp]>(
    ["a link out", [{ path: "zz-out", type: "SymbolicLink", linkpath: "../x" }], /outside/],
    [
      "a deep link out",
      [{ path: "zz-a/b/out", type: "SymbolicLink", linkpath: "../../../x" }],
      /outside/,
    ],
    ["an absolute link", [{ path: "zz-abs", type: "SymbolicLink", linkpath: "/etc" }], /absolute/],
    [
      "a dangling link",
      [{ path: "zz-dangling", type: "SymbolicLink", linkpath: "nowhere" }],
      /does not hold/,
    ],
    [
      "a chain of links that climbs out",
      [
        { path: "zz-sub/", type: "Directory" },
        { path: "zz-sub/b", type: "SymbolicLink", linkpath: ".." },
        { path: "zz-sub/c", type: "SymbolicLink", linkpath: "b/../.." },
      ],
      /outside/,
    ],
    [
      "a write through a link",
      [
        { path: "zz-real/", type: "Directory" },
        { path: "zz-via", type: "SymbolicLink", linkpath: "zz-real" },
        { path: "zz-via/evil", content: "x" },
      ],
      /inside the link/,
    ],
    [
      "a file inside a file",
      [
        { path: "zz-plain", content: "x" },
        { path: "zz-plain/inner", content: "y" },
      ],
      /inside the file/,
    ],
    [
      "a hard link to a folder",
      [
        { path: "zz-folder/", type: "Directory" },
        { path: "zz-hard", type: "Link", linkpath: "zz-folder" },
      ],
      /not a file before it/,
    ],
    [
      "a hard link to a later file",
      [
        { path: "zz-early", type: "Link", linkpath: "zz-late" },
        { path: "zz-late", content: "x" },
      ],
      /not a file before it/,
    ],
    ["a hard link out", [{ path: "zz-hard", type: "Link", linkpath: "../x" }], /outside/],
    [
      "a duplicate",
      [
        { path: "zz-twice", content: "x" },
        { path: "zz-twice", content: "y" },
      ],
      /appears twice/,
    ],
    ["a traversal", [{ path: "zz-a/../../x", content: "x" }], /outside/],
    ["an absolute path", [{ path: "/tmp/zz-x", content: "x" }], /absolute/],
    ["a device", [{ path: "zz-dev", type: "CharacterDevice" }], /CharacterDevice entry/],
    ["a fifo", [{ path: "zz-fifo", type: "FIFO" }], /FIFO entry/],
  );

  it("refuses every bad link shape and path wherever it lies", { timeout: 300_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(model, bad, fc.nat(), chunking, async (m, [, entries, message], at, how) => {
        const index = at % (m.entries.length + 1);
        const archive = tar([...m.entries.slice(0, index), ...entries, ...m.entries.slice(index)]);
        const { parent, dest } = await scratch();
        const error = await expectRefused(
          await unpack(split(gz(archive), how), dest, LIMITS, true),
          parent,
        );
        expect(error.message).toMatch(message);
      }),
      OPTIONS,
    );
  });

  it("refuses paths, names and depths just over their limits, and takes them at the limit", {
    timeout: 300_000,
  }, async () => {
    const limits = fc.record({
      MaxPathLength: fc.integer({ min: 20, max: 400 }),
      MaxNameLength: fc.integer({ min: 3, max: 60 }),
      MaxDepth: fc.integer({ min: 1, max: 12 }),
    });
    const shape = fc.record({
      depth: fc.integer({ min: 0, max: 14 }),
      nameLength: fc.integer({ min: 1, max: 64 }),
    });
    await fc.assert(
      fc.asyncProperty(limits, shape, chunking, async (chosen, s, how) => {
        const folders = Array.from({ length: s.depth }, (_, i) => `d${i % 10}`);
        const file = "f".repeat(s.nameLength);
        const entryPath = [...folders, file].join("/");
        const within =
          Buffer.byteLength(entryPath) <= chosen.MaxPathLength &&
          s.nameLength <= chosen.MaxNameLength &&
          s.depth <= chosen.MaxDepth;
        const archive = gz(tar([{ path: entryPath, content: "x" }]));
        const { parent, dest } = await scratch();
        const outcome = await unpack(split(archive, how), dest, { ...LIMITS, ...chosen }, true);
        if (within) {
          if (!outcome.ok) throw outcome.error;
          expect(await readFile(path.join(dest, entryPath), "utf8")).toBe("x");
        } else {
          const error = await expectRefused(outcome, parent);
          expect(error.message).toMatch(/\(Bundles\.Max(PathLength|NameLength|Depth)\)/);
        }
      }),
      { ...OPTIONS, numRuns: RUNS * 2 },
    );
  });

  it("takes archives up to the size and entry limits and refuses them past", {
    timeout: 300_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(
        model,
        fc.integer({ min: -4096, max: 4096 }),
        fc.integer({ min: -2, max: 2 }),
        chunking,
        async (m, bytesOff, entriesOff, how) => {
          const tarred = tar(m.entries);
          const limits = {
            ...LIMITS,
            MaxExpandedBytes: Math.max(0, tarred.length + bytesOff),
            MaxFiles: Math.max(0, m.entries.length + entriesOff),
          };
          const { parent, dest } = await scratch();
          const outcome = await unpack(split(gz(tarred), how), dest, limits, false);
          if (bytesOff >= 0 && entriesOff >= 0) {
            if (!outcome.ok) throw outcome.error;
            expect(await listing(dest)).toEqual(m.listing);
          } else {
            const error = await expectRefused(outcome, parent);
            expect(error.message).toMatch(/\(Bundles\.Max(ExpandedBytes|Files)\)/);
          }
        },
      ),
      OPTIONS,
    );
  });
});
