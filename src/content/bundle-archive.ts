/**
 * Unpacks an uploaded bundle (a gzip tar, as rsconnect-python, posit-sdk and connectapi send)
 * into a folder as it streams in, refusing whatever could reach outside it (absolute paths,
 * `..`, writes through a link, links whose target leaves the bundle, device files and fifos)
 * and whatever is over a limit of `[Bundles]`, as soon as the entry that breaks it arrives.
 * Everything is unpacked into a staging folder beside the destination and renamed into place
 * only once the whole archive passed; a refused bundle leaves nothing on disk.
 *
 * The tar library's Parser does the tar format, but it is fed by hand: it is not a Node
 * stream (its 'drain' may come before anyone listens, and piping into it can wait forever),
 * it would decompress by its own rules (a 1000:1 ratio cap that refuses a file of zeros) and it
 * keeps everything written after the end of the archive. So gzip is undone here, the bytes are
 * counted here, and each decompressed chunk goes to the parser only once every write the
 * previous chunk caused is on disk: memory holds one chunk, whatever the archive's size.
 */
import { randomUUID } from "node:crypto";
import {
  chmod,
  type FileHandle,
  link,
  mkdir,
  open,
  realpath,
  rename,
  stat,
  symlink,
} from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { Parser, type ReadEntry } from "tar";
import { ApiError, isApiError } from "../errors.js";
import { removeTree } from "../util/remove-tree.js";
import { writeAll } from "../util/write-all.js";
import { manifestTooDeep, manifestTooLarge } from "./bundle-manifest.js";
import { type BundleLimits, BundleTree, type EntryPlan, refuse, show } from "./bundle-tree.js";
import { JsonDepth } from "./json-depth.js";

export type { BundleLimits } from "./bundle-tree.js";

export interface Unpacked {
  entries: number;
  /** Bytes the entries hold together. */
  bytes: number;
}

/** Bytes zlib hands on at a time: large enough for few steps, small enough to hold one. */
const CHUNK_BYTES = 128 * 1024;

/**
 * Unpacks `source` (the archive's bytes as they arrive) to `destination`, which must not exist
 * yet (or be an empty folder). Refusals are ApiError("badRequest") naming the offending entry,
 * or the limit and its setting. Returns, or throws, only once nothing more is being written.
 */
export async function unpackBundle(
  source: AsyncIterable<Buffer> | Buffer,
  destination: string,
  limits: BundleLimits,
): Promise<Unpacked> {
  const dest = path.resolve(destination);
  await mkdir(path.dirname(dest), { recursive: true });
  const staging = `${dest}.unpacking-${randomUUID()}`;
  await mkdir(staging, { mode: 0o755 });
  try {
    // Modes are given on creation; only a umask that strips them costs a chmod per entry.
    const umaskKeepsModes = ((await stat(staging)).mode & 0o777) === 0o755;
    const tree = new BundleTree(limits);
    const result = await new Extraction(staging, limits, tree, umaskKeepsModes).run(
      Buffer.isBuffer(source) ? Readable.from([source]) : source,
    );
    await checkLinkTargets(staging, tree.links);
    if (!umaskKeepsModes) {
      for (const folder of tree.folders()) await chmod(path.join(staging, folder), 0o755);
    }
    await rename(staging, dest).catch((error: Error) => {
      throw new ApiError(
        "internal",
        `Cannot place the unpacked bundle at ${dest}: ${error.message}`,
      );
    });
    return result;
  } catch (error) {
    await removeTree(staging);
    throw error;
  }
}

/** One pass over one archive: decompress, parse, and write each entry in archive order. */
class Extraction {
  readonly #parser: Parser;
  /** Every write so far, one after another; never rejects (a failure is kept in #failure). */
  #writes: Promise<void> = Promise.resolve();
  #failure: unknown;
  #open: FileHandle | undefined;
  #entries = 0;
  /** Decompressed bytes seen, and the bytes the entries' headers announce. */
  #expanded = 0;
  #announced = 0;
  #bytes = 0;
  #ended = false;

  constructor(
    private readonly root: string,
    private readonly limits: BundleLimits,
    private readonly tree: BundleTree,
    private readonly umaskKeepsModes: boolean,
  ) {
    const metaBytes = 2 * limits.MaxPathLength + 64 * 1024;
    this.#parser = new Parser({
      strict: true,
      brotli: false,
      zstd: false,
      maxMetaEntrySize: metaBytes,
    });
    this.#parser.on("entry", (entry: ReadEntry) => this.#entry(entry));
    this.#parser.on("ignoredEntry", (entry: ReadEntry) => {
      this.#fail(
        entry.meta
          ? refuse(
              `an extended header of ${entry.size} bytes precedes ${show(entry.path)}; at most ${metaBytes} bytes are read, enough for paths of ${limits.MaxPathLength} bytes (Bundles.MaxPathLength)`,
            )
          : refuse(
              `${show(entry.path)} is a ${entry.type} entry; bundles hold only files, folders and links`,
            ),
      );
    });
    this.#parser.on("eof", () => {
      this.#ended = true;
    });
    this.#parser.on("error", (error: Error) => this.#fail(tarError(error)));
  }

  async run(source: AsyncIterable<Buffer>): Promise<Unpacked> {
    try {
      await pipeline(source, gzipOnly, createGunzip({ chunkSize: CHUNK_BYTES }), (tar) =>
        this.#consume(tar),
      );
    } catch (error) {
      // Failed first, so that nothing the parser still hands on is written while the last
      // writes settle; then nothing is left writing when the caller removes the staging folder.
      this.#fail(sourceError(error));
      await this.#writes;
      await this.#open?.close().catch(() => {});
      throw this.#failure;
    }
    if (this.#entries === 0) throw refuse("it holds no files");
    return { entries: this.#entries, bytes: this.#bytes };
  }

  async #consume(tar: AsyncIterable<Buffer>): Promise<void> {
    for await (const chunk of tar) {
      if (this.#expanded === 0 && chunk[0] === 0x1f && chunk[1] === 0x8b) {
        throw refuse("it is gzip-compressed twice");
      }
      this.#expanded += chunk.length;
      if (this.#expanded > this.limits.MaxExpandedBytes) throw this.#tooLarge();
      // After the end of the archive the parser would keep every byte; they are only counted.
      if (!this.#ended) this.#parser.write(chunk);
      await this.#settled();
    }
    this.#parser.end();
    await this.#settled();
  }

  async #settled(): Promise<void> {
    await this.#writes;
    if (this.#failure !== undefined) throw this.#failure;
  }

  #fail(error: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = error;
    this.#parser.abort(error as Error);
  }

  /** Adds a write after every earlier one; it is skipped once anything has failed. */
  #then(step: () => Promise<unknown>): void {
    this.#writes = this.#writes
      .then(async () => {
        if (this.#failure === undefined) await step();
      })
      .catch((error: unknown) => this.#fail(writeError(error)));
  }

  #tooLarge(): ApiError {
    return refuse(
      `it holds more than ${this.limits.MaxExpandedBytes} bytes once decompressed (Bundles.MaxExpandedBytes)`,
    );
  }

  #entry(entry: ReadEntry): void {
    try {
      if (this.#failure !== undefined) throw this.#failure;
      this.#entries++;
      if (this.#entries > this.limits.MaxFiles) {
        throw refuse(`it holds more than ${this.limits.MaxFiles} entries (Bundles.MaxFiles)`);
      }
      const size = entry.size ?? 0;
      this.#bytes += size;
      this.#announced += 512 + size;
      if (this.#announced > this.limits.MaxExpandedBytes) throw this.#tooLarge();
      const plan = this.tree.plan(entry);
      if (plan.kind === "file" && entry.type !== "Link") {
        this.#file(entry, plan, size);
        return;
      }
      const target = path.join(this.root, plan.relative);
      if (plan.kind === "dir") {
        if (!plan.node.made) {
          this.#then(() => mkdir(target, { recursive: true, mode: 0o755 }));
          plan.node.made = true;
        }
      } else {
        this.#parent(plan);
        if (entry.type === "SymbolicLink") this.#then(() => symlink(plan.target!, target));
        else this.#then(() => link(path.join(this.root, plan.target!), target));
      }
      entry.resume();
    } catch (error) {
      this.#fail(error);
      entry.resume();
    }
  }

  #file(entry: ReadEntry, plan: EntryPlan, size: number): void {
    const manifest = plan.relative === "manifest.json";
    if (manifest && size > this.limits.MaxManifestBytes) {
      throw manifestTooLarge(size, this.limits.MaxManifestBytes);
    }
    const depth = manifest ? new JsonDepth() : undefined;
    // Readable by all and never setuid: the bundle's own bits decide only whether it runs.
    const mode = (entry.mode ?? 0) & 0o111 ? 0o755 : 0o644;
    const target = path.join(this.root, plan.relative);
    this.#parent(plan);
    this.#then(async () => {
      this.#open = await open(target, "wx", mode);
      if (!this.umaskKeepsModes) await this.#open.chmod(mode);
    });
    entry.on("end", () =>
      this.#then(async () => {
        const file = this.#open!;
        this.#open = undefined;
        await file.close();
      }),
    );
    entry.on("data", (chunk: Buffer) => {
      if (depth && depth.push(chunk) > this.limits.MaxManifestDepth) {
        this.#fail(manifestTooDeep(this.limits.MaxManifestDepth));
      }
      this.#then(() => writeAll(this.#open!, chunk));
    });
  }

  /** Makes the folder an entry goes in, unless an earlier entry made it. */
  #parent(plan: EntryPlan): void {
    if (plan.parent.made) return;
    const folder = path.dirname(path.join(this.root, plan.relative));
    this.#then(() => mkdir(folder, { recursive: true, mode: 0o755 }));
    plan.parent.made = true;
  }
}

/** Passes the stream through once its first bytes show gzip's signature. */
async function* gzipOnly(chunks: AsyncIterable<Buffer>): AsyncIterable<Buffer> {
  let head = Buffer.alloc(0);
  for await (const chunk of chunks) {
    if (head.length < 2) {
      head = Buffer.concat([head, chunk]);
      if (head.length >= 2 && (head[0] !== 0x1f || head[1] !== 0x8b)) {
        throw refuse("it is not gzip-compressed (a bundle is a .tar.gz archive)");
      }
    }
    yield chunk;
  }
  if (head.length < 2) throw refuse("it is not gzip-compressed (a bundle is a .tar.gz archive)");
}

/** A refusal for what the tar parser found wrong. */
function tarError(error: Error & { tarCode?: string }): ApiError {
  if (isApiError(error)) return error;
  if (/Truncated input/.test(error.message)) return refuse("it is cut short");
  return refuse(`it is not a readable tar archive (${error.message})`);
}

/** A refusal for a broken gzip stream; anything else (the upload's own errors) as it came. */
function sourceError(error: unknown): unknown {
  const code = isApiError(error) ? "" : String((error as NodeJS.ErrnoException).code);
  if (code === "Z_BUF_ERROR") return refuse("it is cut short (the gzip stream ends early)");
  if (code.startsWith("Z_")) {
    return refuse(`it is not a readable gzip stream (${(error as Error).message})`);
  }
  return error;
}

/** Paths within the limits are short enough for Linux, unless the data folder's path is huge. */
function writeError(error: unknown): unknown {
  if ((error as NodeJS.ErrnoException).code === "ENAMETOOLONG") {
    return refuse("a path is too long for this server's file system (Bundles.MaxPathLength)");
  }
  return error;
}

/**
 * Each link is checked where it was written, but a chain of links can still climb out (a link
 * to `..` one level down, followed from a link that adds another `..`). Once everything is on
 * disk, every link must resolve, through its whole chain, to something inside the bundle.
 */
async function checkLinkTargets(root: string, links: readonly string[]): Promise<void> {
  const realRoot = await realpath(root);
  for (const relative of links) {
    const resolved = await realpath(path.join(root, relative)).catch(() => undefined);
    if (resolved === undefined) {
      throw refuse(`${show(relative)} links to something the bundle does not hold`);
    }
    if (resolved !== realRoot && !resolved.startsWith(realRoot + path.sep)) {
      throw refuse(`${show(relative)} points outside the bundle`);
    }
  }
}
