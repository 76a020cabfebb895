/**
 * The package cache kept per environment image on the data volume: one Python virtual
 * environment per interpreter version and requirement set, and one R library per R version and
 * package set, at `cache/<image>/<runtime>-<version>/<sha256 of the set>`.
 *
 * That path is a symbolic link to the folder the entry was built in (`<key>.build-*` beside
 * it). Virtual environments hold their own absolute path (script shebangs), so they are built
 * where they stay and published by creating the link, which is atomic: a reader sees a finished
 * entry or none. A build writes `.complete` as its last step and a link is only made to a
 * completed build, so a failed build is never reused; two builds of the same key race to create
 * the link and the loser discards its own folder, which nothing refers to. No lock is held, so
 * nothing is stranded when a builder dies, whichever host or container it ran on.
 *
 * Paths here are sub-paths of the data volume: the server reads them under its data folder, a
 * job under its backend's `paths.data`.
 */
import { createHash } from "node:crypto";
import {
  chown,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rename,
  rm,
  stat,
  symlink,
  utimes,
  writeFile,
} from "node:fs/promises";
import path from "node:path";

export type CacheRuntime = "python" | "R";

export interface CacheEntry {
  readonly runtime: CacheRuntime;
  /** sha256 (hex) of the normalized set and the options that change the result. */
  readonly key: string;
  /** The published link, as a data sub-path. */
  readonly subPath: string;
  /** What the entry holds, one item a line: requirement lines, or R `name version`. */
  readonly contents: readonly string[];
}

export interface PythonCacheRequest {
  /** The environment's image name; null for content running on the host itself. */
  image: string | null;
  /** Version of the interpreter the environment is built with, as the catalog records it. */
  pythonVersion: string;
  /** The bundle's requirements.txt text (empty when it has none). */
  requirements: string;
  /** Whether the environment also sees the interpreter's own site-packages. */
  systemSitePackages: boolean;
}

export interface RCacheRequest {
  image: string | null;
  rVersion: string;
  /** The manifest's packages, each with the version it was developed with (or null). */
  packages: readonly { name: string; version: string | null }[];
  repository: string;
}

const MARKER = ".complete";
/** The file in a build folder that lists what it installs, one item a line. */
export const CONTENTS_FILE = "contents.txt";
const TASK_FILE = ".slipway-task";

/**
 * Requirement lines without comments, blank lines, order, repeats and insignificant
 * whitespace: two files naming the same set give the same lines. Lines stay valid for pip.
 */
export function normalizeRequirements(text: string): string[] {
  const lines = text
    .replace(/\\\r?\n/g, " ")
    .split(/\r?\n/)
    .map((line) =>
      line
        .replace(/(^|\s)#.*$/, "")
        .replace(/\s+/g, " ")
        .replace(/\s*(===|==|>=|<=|!=|~=|<|>|,)\s*/g, "$1")
        .trim(),
    )
    .filter((line) => line !== "");
  return [...new Set(lines)].sort();
}

/**
 * A file name for an image (or version): letters, digits, `.` and `-` stay, every other byte
 * becomes `_` and two hex digits, so different names never share a folder. The host (no image)
 * is `_host`, which no escaped name can be.
 */
export function cacheName(name: string | null): string {
  if (name === null) return "_host";
  const escaped = [...Buffer.from(name, "utf8")]
    .map((byte) => {
      const char = String.fromCharCode(byte);
      return /[A-Za-z0-9.-]/.test(char) ? char : `_${byte.toString(16).padStart(2, "0")}`;
    })
    .join("");
  return escaped.replace(/^\./, "_2e");
}

/** The data sub-path holding every cache entry of an image. */
export function imageCacheSubPath(image: string | null): string {
  return path.join("cache", cacheName(image));
}

function entry(
  runtime: CacheRuntime,
  image: string | null,
  version: string,
  contents: string[],
  options: object,
): CacheEntry {
  const key = createHash("sha256")
    .update(JSON.stringify({ contents, ...options }))
    .digest("hex");
  const folder = `${runtime}-${cacheName(version)}`;
  return { runtime, key, subPath: path.join(imageCacheSubPath(image), folder, key), contents };
}

/** Where the request's Python environment lives, and its key. Pure. */
export function pythonCacheEntry(request: PythonCacheRequest): CacheEntry {
  return entry(
    "python",
    request.image,
    request.pythonVersion,
    normalizeRequirements(request.requirements),
    { systemSitePackages: request.systemSitePackages },
  );
}

/** Where the request's R library lives, and its key. Pure. */
export function rCacheEntry(request: RCacheRequest): CacheEntry {
  const contents = [...new Set(request.packages.map((p) => `${p.name} ${p.version ?? ""}`.trim()))];
  return entry("R", request.image, request.rVersion, contents.sort(), {
    repository: request.repository,
  });
}

/** Whether a finished entry is published: a hit needs no build at all. */
export async function isCached(dataDir: string, cached: CacheEntry): Promise<boolean> {
  return readFile(path.join(dataDir, cached.subPath, MARKER), "utf8").then(
    () => true,
    () => false,
  );
}

/**
 * Records a hit on the entry's marker, so the caches listing can say when each was last used.
 * Best effort: a marker the server may not touch (another account's) only leaves that date older.
 */
export async function markUsed(dataDir: string, cached: CacheEntry): Promise<void> {
  const now = new Date();
  await utimes(path.join(dataDir, cached.subPath, MARKER), now, now).catch(() => {});
}

/** When the published entry at `entryDir` was built or last used; null when it is not published. */
export async function lastUsed(entryDir: string): Promise<Date | null> {
  return stat(path.join(entryDir, MARKER)).then(
    (s) => s.mtime,
    () => null,
  );
}

/**
 * A fresh folder beside the entry to build into, holding `contents.txt` (so what is installed
 * is exactly what the key was computed from) and the id of the task that builds it, so a
 * sweep can tell a build whose task has ended from one still going. Returns its data sub-path.
 */
export async function startBuild(
  dataDir: string,
  cached: CacheEntry,
  taskId: string,
  owner: { uid: number; gid: number } | null,
): Promise<string> {
  const published = path.join(dataDir, cached.subPath);
  await mkdir(path.dirname(published), { recursive: true });
  const buildDir = await mkdtemp(`${published}.build-`);
  await writeFile(path.join(buildDir, TASK_FILE), taskId);
  await writeFile(
    path.join(buildDir, CONTENTS_FILE),
    cached.contents.map((line) => `${line}\n`).join(""),
  );
  if (owner) await chown(buildDir, owner.uid, owner.gid);
  return path.join(path.dirname(cached.subPath), path.basename(buildDir));
}

/**
 * Marks a successful build complete and publishes it. Resolves to false when another build of
 * the same key published first; this build's folder is then removed and the other one used.
 */
export async function publishBuild(
  dataDir: string,
  cached: CacheEntry,
  buildSubPath: string,
): Promise<boolean> {
  const buildDir = path.join(dataDir, buildSubPath);
  const link = path.join(dataDir, cached.subPath);
  const marker = { key: cached.key, contents: cached.contents };
  await writeFile(path.join(buildDir, MARKER), `${JSON.stringify(marker)}\n`);
  try {
    await symlink(path.basename(buildDir), link);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  if (await isCached(dataDir, cached)) {
    await discardBuild(dataDir, buildSubPath);
    return false;
  }
  // A link to a build that lost its marker (removed by hand): replace it, atomically.
  const replacement = `${buildDir}.link`;
  await symlink(path.basename(buildDir), replacement);
  await rename(replacement, link);
  return true;
}

/** Removes a build folder that failed or lost the race; nothing refers to it. */
export async function discardBuild(dataDir: string, buildSubPath: string): Promise<void> {
  await rm(path.join(dataDir, buildSubPath), { recursive: true, force: true });
}

/**
 * Removes build folders that no link publishes and whose task is no longer running: what a
 * builder that died (a killed server, a lost pod) left behind. Builds of running tasks, on
 * this server or another sharing the data volume, are left alone. Returns the removed sub-paths.
 */
export async function removeAbandonedBuilds(
  dataDir: string,
  taskRunning: (taskId: string) => Promise<boolean>,
): Promise<string[]> {
  const removed: string[] = [];
  const cache = path.join(dataDir, "cache");
  for (const image of await entries(cache)) {
    for (const runtime of await entries(path.join(cache, image))) {
      const folder = path.join(cache, image, runtime);
      const names = await entries(folder);
      const published = new Set<string>();
      for (const name of names) {
        const stats = await lstat(path.join(folder, name)).catch(() => undefined);
        if (stats?.isSymbolicLink()) {
          published.add(path.basename(await readlink(path.join(folder, name)).catch(() => "")));
        }
      }
      for (const name of names) {
        if (!name.includes(".build-") || name.endsWith(".link") || published.has(name)) continue;
        const task = await readFile(path.join(folder, name, TASK_FILE), "utf8").catch(() => "");
        // A folder another builder has only just made may not hold its task's id yet.
        const age =
          Date.now() - ((await lstat(path.join(folder, name)).catch(() => null))?.mtimeMs ?? 0);
        if (task ? await taskRunning(task) : age < 60_000) continue;
        await rm(path.join(folder, name), { recursive: true, force: true });
        removed.push(path.join("cache", image, runtime, name));
      }
    }
  }
  return removed;
}

async function entries(folder: string): Promise<string[]> {
  return readdir(folder).catch(() => []);
}
