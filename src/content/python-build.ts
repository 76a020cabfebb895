/**
 * Builds a bundle's Python environment into the package cache through a runner, so the same
 * build runs as local processes, in a Docker container or in a Kubernetes pod: a virtual
 * environment made with the environment's own interpreter, then `pip install -r` of the
 * normalized requirement set from the configured index or offline find-links folders.
 */
import path from "node:path";
import { ApiError } from "../errors.js";
import { type Job, type Mount, type Runner, runToEnd } from "../runners/runner.js";
import {
  discardBuild,
  isCached,
  type PythonCacheEntry,
  type PythonCacheRequest,
  publishBuild,
  pythonCacheEntry,
  startBuild,
} from "./package-cache.js";

export interface PipSource {
  /** pip's --index-url; null or empty uses pip's default (or none, with find-links). */
  indexUrl?: string | null;
  /** Folders or URLs of distributions; without an index URL, pip runs with --no-index. */
  findLinks?: readonly string[];
}

export interface PythonBuildRequest extends PythonCacheRequest, PipSource {
  /** Absolute path of the environment's interpreter, as the job sees it. */
  pythonPath: string;
  /** Prefix of the build's job names, from Slipway ids (for example the task id). */
  jobName: string;
  supervisor?: string | null;
  labels?: Readonly<Record<string, string>>;
}

export interface PythonBuildResult {
  cacheHit: boolean;
  key: string;
  /** The published environment and its interpreter, to run the content with. */
  dir: string;
  python: string;
}

/** The jobs that build `entry` into `buildDir`, in order: venv, then pip when there is anything to install. Pure. */
export function pythonBuildJobs(
  request: PythonBuildRequest,
  entry: PythonCacheEntry,
  build: { buildDir: string; requirementsFile: string },
): Job[] {
  const findLinks = request.findLinks ?? [];
  // Folders are mounted at their own paths; the environment's absolute paths hold everywhere.
  const mounts: Mount[] = [
    {
      hostPath: path.dirname(build.buildDir),
      jobPath: path.dirname(build.buildDir),
      readOnly: false,
    },
    ...findLinks
      .filter((link) => path.isAbsolute(link))
      .map((link) => ({ hostPath: link, jobPath: link, readOnly: true })),
  ];
  // Two builds of one key at once must not adopt each other's jobs: the folder tells them apart.
  const attempt = path.basename(build.buildDir).split(".build-").pop();
  const job = (step: string, argv: string[]): Job => ({
    name: `${request.jobName}-python-${step}-${attempt}`,
    kind: "build",
    image: request.image,
    argv,
    env: {
      PYTHONUNBUFFERED: "1",
      PIP_DISABLE_PIP_VERSION_CHECK: "1",
      PIP_NO_INPUT: "1",
    },
    workingDir: build.buildDir,
    mounts,
    supervisor: request.supervisor ?? null,
    labels: { ...request.labels, step: `python-${step}`, cacheKey: entry.key },
  });
  const venv = job("venv", [
    request.pythonPath,
    "-m",
    "venv",
    ...(entry.systemSitePackages ? ["--system-site-packages"] : []),
    build.buildDir,
  ]);
  if (entry.requirements.length === 0) return [venv];
  const index = request.indexUrl
    ? ["--index-url", request.indexUrl]
    : findLinks.length > 0
      ? ["--no-index"]
      : [];
  const pip = job("pip", [
    path.join(build.buildDir, "bin", "python"),
    "-m",
    "pip",
    "install",
    ...index,
    ...findLinks.flatMap((link) => ["--find-links", link]),
    "-r",
    build.requirementsFile,
  ]);
  return [venv, pip];
}

/**
 * The bundle's environment from the cache, building it first on a miss. Every line of the
 * build's output, and the hit or miss, goes to `onLine`. A failed build throws and leaves
 * nothing in the cache.
 */
export async function buildPythonEnvironment(
  runner: Runner,
  request: PythonBuildRequest,
  onLine: (line: string) => Promise<void> | void,
): Promise<PythonBuildResult> {
  const entry = pythonCacheEntry(request);
  const result = { key: entry.key, dir: entry.dir, python: entry.python };
  if (await isCached(entry)) {
    await onLine(`Python package cache hit: ${entry.dir} (nothing to install)`);
    return { cacheHit: true, ...result };
  }
  await onLine(
    `Python package cache miss: building ${entry.requirements.length} requirement(s) into ${entry.dir}`,
  );
  const build = await startBuild(entry);
  try {
    for (const job of pythonBuildJobs(request, entry, build)) {
      const code = await runToEnd(runner, job, (line) => onLine(`  ${line}`));
      if (code !== 0) {
        throw new ApiError(
          "badRequest",
          `The Python build failed: ${job.labels.step} exited with code ${code ?? "unknown"}; its output is in the log above.`,
        );
      }
    }
  } catch (error) {
    await discardBuild(build.buildDir);
    throw error;
  }
  if (!(await publishBuild(entry, build.buildDir))) {
    await onLine("Another build of the same requirements finished first; using it.");
  }
  return { cacheHit: false, ...result };
}
