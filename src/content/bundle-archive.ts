/**
 * Unpacks an uploaded bundle (a gzip tar) into a folder, refusing whatever could reach
 * outside it: absolute paths, `..`, links whose target leaves the bundle, device files,
 * and archives over the size or file-count limits. Entries are checked one by one before
 * anything is written for them; the caller unpacks into a staging folder and discards it
 * on any refusal.
 */
import { createWriteStream } from "node:fs";
import { link, mkdir, symlink } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { Parser, type ReadEntry } from "tar";
import { ApiError } from "../errors.js";

export interface UnpackLimits {
  /** Most bytes all files may hold once unpacked. */
  maxBytes: number;
  maxFiles: number;
}

export async function unpackBundle(
  source: Readable,
  destination: string,
  limits: UnpackLimits,
): Promise<number> {
  const destDir = path.resolve(destination);
  await mkdir(destDir, { recursive: true });
  let files = 0;
  let bytes = 0;
  let failure: unknown;
  let pending = Promise.resolve();
  const parser = new Parser({ strict: true });

  parser.on("entry", (entry: ReadEntry) => {
    entry.pause();
    pending = pending.then(async () => {
      if (failure) return entry.resume();
      try {
        files++;
        bytes += entry.size ?? 0;
        if (files > limits.maxFiles) throw refuse(`more than ${limits.maxFiles} files`);
        if (bytes > limits.maxBytes)
          throw refuse(`more than ${limits.maxBytes} bytes once unpacked`);
        await write(entry, destDir);
      } catch (error) {
        failure = error;
        entry.resume();
      }
    });
  });

  try {
    await pipeline(source, parser);
    await pending;
  } catch (error) {
    await pending.catch(() => {});
    throw failure ?? refuse(`it is not a readable gzip tar archive (${(error as Error).message})`);
  }
  if (failure) throw failure;
  if (files === 0) throw refuse("it holds no files");
  return files;
}

async function write(entry: ReadEntry, root: string): Promise<void> {
  const target = inside(root, entry.path, entry.path);
  switch (entry.type) {
    case "Directory":
      await mkdir(target, { recursive: true });
      entry.resume();
      return;
    case "File":
    case "OldFile":
    case "ContiguousFile":
      await mkdir(path.dirname(target), { recursive: true });
      // Owner-writable and never setuid: the bundle's own bits decide only whether it runs.
      await pipeline(
        entry,
        createWriteStream(target, { mode: ((entry.mode ?? 0o644) & 0o755) | 0o600 }),
      );
      return;
    case "SymbolicLink": {
      const linkpath = entry.linkpath ?? "";
      if (path.isAbsolute(linkpath))
        throw refuse(`${entry.path} links to the absolute path ${linkpath}`);
      inside(root, path.join(path.dirname(entry.path), linkpath), entry.path);
      await mkdir(path.dirname(target), { recursive: true });
      await symlink(linkpath, target);
      entry.resume();
      return;
    }
    case "Link": {
      const source = inside(root, entry.linkpath ?? "", entry.path);
      await mkdir(path.dirname(target), { recursive: true });
      await link(source, target);
      entry.resume();
      return;
    }
    default:
      throw refuse(
        `${entry.path} is a ${entry.type} entry; bundles hold only files, folders and links`,
      );
  }
}

/** The absolute path of `relative` under `root`, refusing anything that would leave it. */
function inside(root: string, relative: string, entryName: string): string {
  if (path.isAbsolute(relative) || /^[A-Za-z]:/.test(relative)) {
    throw refuse(`${entryName} has an absolute path`);
  }
  const resolved = path.resolve(root, relative);
  if (resolved !== root && !resolved.startsWith(root + path.sep)) {
    throw refuse(`${entryName} points outside the bundle`);
  }
  return resolved;
}

function refuse(why: string): ApiError {
  return new ApiError("badRequest", `The bundle was refused: ${why}.`);
}
