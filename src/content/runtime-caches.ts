/**
 * The package caches as Connect's runtime caches: one per image, language and version (the
 * `cache/<image>/<runtime>-<version>` folder of package-cache.ts, with every entry in it).
 * Listing measures them; removing one takes the folder out of the cache with one rename, so
 * the next build misses and repopulates it, then deletes the files at leisure.
 */
import { randomBytes } from "node:crypto";
import { lstat, readdir, readFile, rename, rm } from "node:fs/promises";
import path from "node:path";
import { cacheName, lastUsed } from "./package-cache.js";

export const LANGUAGES = ["Python", "R"] as const;
export type Language = (typeof LANGUAGES)[number];

/** Connect's name for content run on the server's own installations rather than an image. */
export const HOST_IMAGE_NAME = "Local";

export interface RuntimeCache {
  language: Language;
  version: string;
  image_name: string;
  /** Bytes of every file in it, links not followed. */
  size_bytes: number;
  /** Finished, published entries: one per package set. */
  entries: number;
  /** When a build last published or reused one of its entries; null with none published. */
  last_used_time: string | null;
}

export interface CacheTarget {
  language: Language;
  version: string;
  image_name: string;
}

const FOLDER_PREFIX: Record<Language, string> = { Python: "python-", R: "R-" };
const TASK_FILE = ".slipway-task";
/** Where a removed cache waits to be deleted, inside `cache/` so the rename stays on one volume. */
const DELETING_PREFIX = ".deleting-";

/** The inverse of `cacheName`: the image (or version) a cache folder is named for. */
export function decodeCacheName(name: string): string | null {
  if (name === "_host") return null;
  const bytes: number[] = [];
  for (let i = 0; i < name.length; i++) {
    if (name[i] === "_") {
      bytes.push(Number.parseInt(name.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(name.charCodeAt(i));
    }
  }
  return Buffer.from(bytes).toString("utf8");
}

/** The data sub-path of the cache a target names. */
export function runtimeCacheSubPath(target: CacheTarget): string {
  const image = target.image_name === HOST_IMAGE_NAME ? null : target.image_name;
  return path.join(
    "cache",
    cacheName(image),
    `${FOLDER_PREFIX[target.language]}${cacheName(target.version)}`,
  );
}

export async function listRuntimeCaches(dataDir: string): Promise<RuntimeCache[]> {
  const caches: RuntimeCache[] = [];
  const root = path.join(dataDir, "cache");
  for (const image of await names(root)) {
    if (image.startsWith(".")) continue;
    for (const folder of await names(path.join(root, image))) {
      const language = LANGUAGES.find((l) => folder.startsWith(FOLDER_PREFIX[l]));
      if (!language) continue;
      const full = path.join(root, image, folder);
      const published = (await names(full)).filter((n) => !n.includes(".build-"));
      const used = await Promise.all(published.map((n) => lastUsed(path.join(full, n))));
      const newest = Math.max(0, ...used.map((d) => d?.getTime() ?? 0));
      caches.push({
        language,
        version: decodeCacheName(folder.slice(FOLDER_PREFIX[language].length)) ?? "",
        image_name: decodeCacheName(image) ?? HOST_IMAGE_NAME,
        size_bytes: await treeSize(full),
        entries: published.length,
        last_used_time: newest === 0 ? null : new Date(newest).toISOString(),
      });
    }
  }
  return caches.sort(
    (a, b) =>
      a.image_name.localeCompare(b.image_name) ||
      a.language.localeCompare(b.language) ||
      a.version.localeCompare(b.version, undefined, { numeric: true }),
  );
}

/**
 * The tasks building into a cache right now, on this server or another sharing the volume:
 * build folders whose task has not finished. A folder too new to name its task counts too.
 */
export async function buildsInProgress(
  dataDir: string,
  subPath: string,
  taskRunning: (taskId: string) => Promise<boolean>,
): Promise<string[]> {
  const folder = path.join(dataDir, subPath);
  const busy: string[] = [];
  for (const name of await names(folder)) {
    if (!name.includes(".build-") || name.endsWith(".link")) continue;
    const task = await readFile(path.join(folder, name, TASK_FILE), "utf8").catch(() => "");
    if (task ? await taskRunning(task) : true) busy.push(task || name);
  }
  return busy;
}

/** Whether a cache folder exists. */
export async function cacheExists(dataDir: string, subPath: string): Promise<boolean> {
  return (await lstat(path.join(dataDir, subPath)).catch(() => undefined))?.isDirectory() ?? false;
}

/**
 * Takes a cache out of use at once (a rename: builds after it miss and rebuild) and returns
 * a function that deletes its files, along with any a previous removal left behind.
 */
export async function takeOutCache(dataDir: string, subPath: string): Promise<() => Promise<void>> {
  const root = path.join(dataDir, "cache");
  const parked = path.join(root, `${DELETING_PREFIX}${randomBytes(6).toString("hex")}`);
  await rename(path.join(dataDir, subPath), parked);
  return async () => {
    for (const name of await names(root)) {
      if (name.startsWith(DELETING_PREFIX)) {
        await rm(path.join(root, name), { recursive: true, force: true });
      }
    }
  };
}

async function treeSize(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) total += await treeSize(full);
    else total += (await lstat(full).catch(() => undefined))?.size ?? 0;
  }
  return total;
}

async function names(folder: string): Promise<string[]> {
  return readdir(folder).catch(() => []);
}
