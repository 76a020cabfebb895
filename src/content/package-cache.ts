/**
 * The package cache kept per environment image: one Python virtual environment per
 * interpreter version and dependency set, at
 * `<cacheRoot>/<image>/python-<version>/<sha256 of the normalized requirements>`.
 *
 * That path is a symbolic link to the folder the environment was built in (`<key>.build-*`
 * beside it). Virtual environments hold their own absolute path (script shebangs), so they are
 * built where they stay and published by creating the link, which is atomic: a reader sees a
 * finished environment or none. A build writes `.complete` as its last step and a link is only
 * made to a completed build, so a failed build is never reused; two builds of the same key race
 * to create the link and the loser discards its own folder, which nothing refers to.
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";

export interface PythonCacheRequest {
  cacheRoot: string;
  /** The environment's image name; null for content running on the host itself. */
  image: string | null;
  /** Version of the interpreter the environment is built with, as the catalog records it. */
  pythonVersion: string;
  /** The bundle's requirements.txt text (empty when it has none). */
  requirements: string;
  /** Whether the environment also sees the interpreter's own site-packages. */
  systemSitePackages: boolean;
}

export interface PythonCacheEntry {
  /** sha256 (hex) of the normalized requirement set and the options that change the result. */
  readonly key: string;
  /** The published path (a link to the build folder); what content runs with. */
  readonly dir: string;
  /** The environment's interpreter, under `dir`. */
  readonly python: string;
  readonly requirements: readonly string[];
  readonly systemSitePackages: boolean;
}

const MARKER = ".complete";

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

/** Where the request's environment lives, and its key. Pure. */
export function pythonCacheEntry(request: PythonCacheRequest): PythonCacheEntry {
  const requirements = normalizeRequirements(request.requirements);
  const key = createHash("sha256")
    .update(JSON.stringify({ requirements, systemSitePackages: request.systemSitePackages }))
    .digest("hex");
  const dir = path.join(
    path.resolve(request.cacheRoot),
    cacheName(request.image),
    `python-${cacheName(request.pythonVersion)}`,
    key,
  );
  return {
    key,
    dir,
    python: path.join(dir, "bin", "python"),
    requirements,
    systemSitePackages: request.systemSitePackages,
  };
}

/** Whether a finished environment is published for the entry: a hit needs no build at all. */
export async function isCached(entry: PythonCacheEntry): Promise<boolean> {
  return readFile(path.join(entry.dir, MARKER), "utf8").then(
    () => true,
    () => false,
  );
}

/**
 * A fresh folder beside the entry to build into, holding the normalized `requirements.txt`
 * the build installs (so what is installed is exactly what the key was computed from).
 */
export async function startBuild(
  entry: PythonCacheEntry,
): Promise<{ buildDir: string; requirementsFile: string }> {
  await mkdir(path.dirname(entry.dir), { recursive: true });
  const buildDir = await mkdtemp(`${entry.dir}.build-`);
  const requirementsFile = path.join(buildDir, "requirements.txt");
  await writeFile(requirementsFile, entry.requirements.map((line) => `${line}\n`).join(""));
  return { buildDir, requirementsFile };
}

/**
 * Marks a successful build complete and publishes it. Resolves to false when another build of
 * the same key published first; this build's folder is then removed and the other one used.
 */
export async function publishBuild(entry: PythonCacheEntry, buildDir: string): Promise<boolean> {
  const marker = { key: entry.key, requirements: entry.requirements, built: buildDir };
  await writeFile(path.join(buildDir, MARKER), `${JSON.stringify(marker)}\n`);
  try {
    await symlink(path.basename(buildDir), entry.dir);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  if (await isCached(entry)) {
    await discardBuild(buildDir);
    return false;
  }
  // A link to a build that lost its marker (removed by hand): replace it, atomically.
  const link = `${buildDir}.link`;
  await symlink(path.basename(buildDir), link);
  await rename(link, entry.dir);
  return true;
}

/** Removes a build folder that failed or lost the race; nothing refers to it. */
export async function discardBuild(buildDir: string): Promise<void> {
  await rm(buildDir, { recursive: true, force: true });
}
