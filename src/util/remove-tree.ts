/**
 * Removes a file or a folder and everything in it, like `rm -rf`, holding a few entries in
 * memory at a time. fs.rm's recursive mode starts a removal for every entry of a folder at
 * once: for a bundle of 100,000 files that is some 200 MB of pending requests.
 */
import { lstat, opendir, rmdir, unlink } from "node:fs/promises";
import path from "node:path";

const AT_ONCE = 16;

export async function removeTree(target: string): Promise<void> {
  const info = await lstat(target).catch(missing);
  if (!info) return;
  if (!info.isDirectory()) {
    await unlink(target).catch(missing);
    return;
  }
  // Entries removed while the folder is read may make some file systems skip others: read
  // it again until it is empty.
  for (;;) {
    const dir = await opendir(target, { bufferSize: AT_ONCE }).catch(missing);
    if (!dir) return;
    let files: Promise<unknown>[] = [];
    for await (const entry of dir) {
      const inside = path.join(target, entry.name);
      if (entry.isDirectory()) {
        await removeTree(inside);
        continue;
      }
      files.push(unlink(inside).catch(missing));
      if (files.length >= AT_ONCE) {
        await Promise.all(files);
        files = [];
      }
    }
    await Promise.all(files);
    const removed = await rmdir(target).then(
      () => true,
      (error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") return true;
        if (error.code === "ENOTEMPTY") return false;
        throw error;
      },
    );
    if (removed) return;
  }
}

function missing(error: NodeJS.ErrnoException): undefined {
  if (error.code === "ENOENT") return undefined;
  throw error;
}
