/**
 * Unpacks an uploaded bundle (a gzip tar, as rsconnect-python, posit-sdk and connectapi send)
 * into a folder, refusing whatever could reach outside it: absolute paths, `..`, writes through
 * a link, links whose target leaves the bundle, device files and fifos, and archives over the
 * size or entry-count limits. Everything is unpacked into a staging folder beside the
 * destination and renamed into place only once the whole archive passed; a refused bundle
 * leaves nothing on disk.
 */
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import {
  chmod,
  link,
  mkdir,
  mkdtemp,
  readFile,
  realpath,
  rename,
  rm,
  symlink,
} from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Parser, type ReadEntry } from "tar";
import { ApiError } from "../errors.js";

export interface UnpackLimits {
  /** Most bytes the bundle's files may hold together once unpacked. */
  maxBytes: number;
  /** Most entries (files, folders and links) the archive may hold. */
  maxFiles: number;
}

export interface Unpacked {
  entries: number;
  bytes: number;
}

type Kind = "dir" | "file" | "link";

/**
 * Unpacks `source` to `destination`, which must not exist yet (or be an empty folder).
 * Refusals are ApiError("badRequest") naming the offending entry.
 */
export async function unpackBundle(
  source: Readable | Buffer,
  destination: string,
  limits: UnpackLimits,
): Promise<Unpacked> {
  const dest = path.resolve(destination);
  await mkdir(path.dirname(dest), { recursive: true });
  const staging = await mkdtemp(`${dest}.unpacking-`);
  try {
    const kinds = new Map<string, Kind>([[".", "dir"]]);
    const result = await extract(source, staging, limits, kinds);
    await checkLinkTargets(staging, kinds);
    await chmod(staging, 0o755);
    await rename(staging, dest).catch((error: Error) => {
      throw new ApiError(
        "internal",
        `Cannot place the unpacked bundle at ${dest}: ${error.message}`,
      );
    });
    return result;
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
}

async function extract(
  source: Readable | Buffer,
  root: string,
  limits: UnpackLimits,
  kinds: Map<string, Kind>,
): Promise<Unpacked> {
  let entries = 0;
  let bytes = 0;
  let failure: unknown;
  let writes = Promise.resolve();
  const parser = new Parser({ strict: true });

  parser.on("entry", (entry: ReadEntry) => {
    try {
      if (failure) throw failure;
      entries++;
      bytes += entry.size ?? 0;
      if (entries > limits.maxFiles) throw refuse(`it holds more than ${limits.maxFiles} entries`);
      if (bytes > limits.maxBytes) {
        throw refuse(`it holds more than ${limits.maxBytes} bytes once unpacked`);
      }
      const plan = planEntry(entry, kinds);
      entry.pause();
      writes = writes
        .then(async () => {
          if (failure) entry.resume();
          else await write(entry, plan, root);
        })
        .catch((error) => {
          failure ??= error;
          parser.abort(error as Error);
        });
    } catch (error) {
      failure ??= error;
      entry.resume();
      parser.abort(error as Error);
    }
  });

  try {
    await pipeline(Buffer.isBuffer(source) ? Readable.from([source]) : source, gzipOnly, parser);
    await writes;
  } catch (error) {
    await writes;
    throw failure ?? refuse(`it is not a readable gzip tar archive (${(error as Error).message})`);
  }
  if (failure) throw failure;
  if (entries === 0) throw refuse("it holds no files");
  return { entries, bytes };
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

interface EntryPlan {
  kind: Kind;
  /** Normalized path relative to the bundle root. */
  relative: string;
  /** For links: the target as written (symbolic) or as a bundle path (hard). */
  target?: string;
}

/**
 * Decides, before anything is written, where an entry goes and whether it may: its path and any
 * hard link target stay inside, it does not pass through a link, it does not replace an entry.
 */
function planEntry(entry: ReadEntry, kinds: Map<string, Kind>): EntryPlan {
  const relative = bundlePath(entry.path, entry.path);
  const through = ancestors(relative).find((dir) => kinds.get(dir) === "link");
  if (through) throw refuse(`${entry.path} lies inside the link ${through}`);
  const kind = kindOf(entry);
  const existing = kinds.get(relative);
  if (existing && !(existing === "dir" && kind === "dir")) {
    throw refuse(`${entry.path} appears twice`);
  }
  if (relative === "." && kind !== "dir") throw refuse(`${entry.path} names the bundle itself`);
  let target: string | undefined;
  if (entry.type === "SymbolicLink") {
    target = entry.linkpath ?? "";
    if (path.isAbsolute(target)) throw refuse(`${entry.path} links to the absolute path ${target}`);
    bundlePath(path.join(path.dirname(relative), target), entry.path);
  } else if (entry.type === "Link") {
    target = bundlePath(entry.linkpath ?? "", entry.path);
    if (kinds.get(target) !== "file") {
      throw refuse(
        `${entry.path} is a hard link to ${entry.linkpath}, which is not a file before it`,
      );
    }
  }
  for (const dir of ancestors(relative)) kinds.set(dir, "dir");
  kinds.set(relative, kind);
  return { kind, relative, target };
}

function kindOf(entry: ReadEntry): Kind {
  switch (entry.type) {
    case "Directory":
      return "dir";
    case "File":
    case "OldFile":
    case "ContiguousFile":
    case "Link":
      return "file";
    case "SymbolicLink":
      return "link";
    default:
      throw refuse(
        `${entry.path} is a ${entry.type} entry; bundles hold only files, folders and links`,
      );
  }
}

async function write(entry: ReadEntry, plan: EntryPlan, root: string): Promise<void> {
  const target = path.join(root, plan.relative);
  if (plan.kind === "dir") {
    await mkdir(target, { recursive: true, mode: 0o755 });
    entry.resume();
    return;
  }
  await mkdir(path.dirname(target), { recursive: true, mode: 0o755 });
  if (entry.type === "SymbolicLink") {
    await symlink(plan.target ?? "", target);
  } else if (entry.type === "Link") {
    await link(path.join(root, plan.target ?? ""), target);
  } else {
    // Readable by all and never setuid: the bundle's own bits decide only whether it runs.
    const mode = (entry.mode ?? 0) & 0o111 ? 0o755 : 0o644;
    await pipeline(entry, createWriteStream(target, { mode, flags: "wx" }));
    return;
  }
  entry.resume();
}

/**
 * Each link is checked where it was written, but a chain of links can still climb out (a link
 * to `..` one level down, followed from a link that adds another `..`). Once everything is on
 * disk, every link must resolve, through its whole chain, to something inside the bundle.
 */
async function checkLinkTargets(root: string, kinds: Map<string, Kind>): Promise<void> {
  const realRoot = await realpath(root);
  for (const [relative, kind] of kinds) {
    if (kind !== "link") continue;
    const resolved = await realpath(path.join(root, relative)).catch(() => undefined);
    if (resolved === undefined)
      throw refuse(`${relative} links to something the bundle does not hold`);
    if (resolved !== realRoot && !resolved.startsWith(realRoot + path.sep)) {
      throw refuse(`${relative} points outside the bundle`);
    }
  }
}

/** `name` as a normalized path relative to the bundle root, refusing anything that would leave it. */
function bundlePath(name: string, entryName: string): string {
  if (path.isAbsolute(name) || /^[A-Za-z]:/.test(name)) {
    throw refuse(`${entryName} has an absolute path`);
  }
  const relative = path.normalize(name).replace(/\/+$/, "") || ".";
  if (relative === ".." || relative.startsWith("../")) {
    throw refuse(`${entryName} points outside the bundle`);
  }
  return relative;
}

/** The folders above a bundle path, outermost first, without the root itself. */
function ancestors(relative: string): string[] {
  const parts = relative.split("/").slice(0, -1);
  return parts.map((_, i) => parts.slice(0, i + 1).join("/"));
}

function refuse(why: string): ApiError {
  return new ApiError("badRequest", `The bundle was refused: ${why}.`);
}

/** The X-Content-Checksum value of an upload: base64 MD5 of the body as sent. */
export async function bundleChecksum(body: Buffer | AsyncIterable<Buffer>): Promise<string> {
  const hash = createHash("md5");
  for await (const chunk of Buffer.isBuffer(body) ? [body] : body) hash.update(chunk);
  return hash.digest("base64");
}

/** The text of the unpacked bundle's top-level manifest.json. */
export async function readManifestText(bundleDir: string): Promise<string> {
  try {
    return await readFile(path.join(bundleDir, "manifest.json"), "utf8");
  } catch (error) {
    const why = (error as NodeJS.ErrnoException).code === "ENOENT" ? "has no" : "cannot read its";
    throw new ApiError("invalidManifest", `The bundle ${why} manifest.json at its top level.`);
  }
}
