/**
 * Builds a bundle's packages in build jobs of its environment's image, into that image's
 * package cache on the data volume: a Python virtual environment per interpreter version and
 * requirement set, an R library per R version and package set. A deploy whose dependencies
 * were built before reuses them without starting a build job at all.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Settings } from "../config/settings.js";
import type { ContentNeeds, Manifest } from "../environments/manifest.js";
import { ApiError } from "../errors.js";
import type { Job, Runner } from "../runners/runner.js";
import type { BundleRow } from "../store/bundles.js";
import type { ContentRow } from "../store/content.js";
import { bundleSubPath } from "./data-layout.js";
import type { JobRuns } from "./job-runs.js";
import { type Built, type JobContext, pythonBuildJobs, rBuildJob } from "./jobs.js";
import {
  type CacheEntry,
  discardBuild,
  isCached,
  markUsed,
  publishBuild,
  pythonCacheEntry,
  rCacheEntry,
  startBuild,
} from "./package-cache.js";
import type { Pick } from "./pick.js";
import type { TaskLog } from "./task-runner.js";

export interface BuildRequest {
  log: TaskLog;
  taskId: string;
  ctx: JobContext;
  content: ContentRow;
  bundle: BundleRow;
  pick: Pick;
  manifest: Manifest;
  needs: ContentNeeds;
}

export interface BuilderDeps {
  runner: Runner;
  jobs: JobRuns;
  settings: Settings;
  dataDir: string;
}

export class ContentBuilder {
  constructor(private readonly deps: BuilderDeps) {}

  async build(request: BuildRequest): Promise<Built> {
    const { pick } = request;
    const python = pick.installations.python;
    const r = pick.installations.r;
    const built: Built = {
      pythonEnv: python ? await this.#python(request, python) : null,
      pythonPath: python?.path ?? null,
      rPath: r?.path ?? null,
      rLibrary: r ? await this.#r(request, r) : null,
      quartoPath: pick.installations.quarto?.path ?? null,
    };
    if (!python && !r) await request.log.line("Nothing to build.");
    return built;
  }

  async #python(
    request: BuildRequest,
    python: { version: string; path: string },
  ): Promise<string | null> {
    const { log, content, manifest, needs } = request;
    const settings = this.deps.settings.Python;
    const managed =
      needs.management.python ??
      flag(content.default_py_environment_management) ??
      settings.EnvironmentManagement;
    if (!managed) {
      await log.line(`Python environment management is off: running with ${python.path} as it is.`);
      return null;
    }
    const packageFile = manifest.python?.package_manager?.package_file ?? "requirements.txt";
    const files = path.join(this.deps.dataDir, bundleSubPath(content.guid, request.bundle.id));
    await log.line(`Python ${python.version} at ${python.path}`);
    const entry = pythonCacheEntry({
      image: request.ctx.image,
      pythonVersion: python.version,
      requirements: await readFile(path.join(files, packageFile), "utf8").catch(() => ""),
      systemSitePackages: settings.SystemSitePackages,
    });
    await this.#cached(request, entry, (buildSubPath) =>
      pythonBuildJobs(request.ctx, {
        entry,
        buildSubPath,
        pythonPath: python.path,
        systemSitePackages: settings.SystemSitePackages,
        pip: { indexUrl: settings.PackageIndexURL || null, findLinks: settings.FindLinks },
        dataDir: this.deps.dataDir,
      }),
    );
    return entry.subPath;
  }

  async #r(request: BuildRequest, r: { version: string; path: string }): Promise<string | null> {
    const { log, content, manifest, needs } = request;
    const settings = this.deps.settings.R;
    const managed =
      needs.management.r ??
      flag(content.default_r_environment_management) ??
      settings.EnvironmentManagement;
    const packages = Object.entries(manifest.packages ?? {}).map(([name, info]) => {
      if (!R_PACKAGE_NAME.test(name)) {
        throw new ApiError(
          "invalidManifest",
          `manifest.json names an R package "${name}", which is not a package name.`,
        );
      }
      return { name, version: packageVersion(info) };
    });
    if (!managed || packages.length === 0) {
      await log.line(
        managed
          ? "No R packages to install."
          : `R environment management is off: running with ${r.path} as it is.`,
      );
      return null;
    }
    const entry = rCacheEntry({
      image: request.ctx.image,
      rVersion: r.version,
      packages,
      repository: settings.RepositoryURL,
    });
    const names = packages.map((p) => p.name);
    await this.#cached(request, entry, (buildSubPath) => [
      rBuildJob(request.ctx, {
        packages: names,
        buildSubPath,
        rPath: r.path,
        repository: settings.RepositoryURL,
      }),
    ]);
    return entry.subPath;
  }

  /**
   * The entry from the cache, or built by `jobs` into a fresh folder and published. A failed
   * build throws and leaves nothing in the cache.
   */
  async #cached(
    request: BuildRequest,
    entry: CacheEntry,
    jobs: (buildSubPath: string) => Job[],
  ): Promise<void> {
    const { log } = request;
    const { dataDir, runner } = this.deps;
    const what = entry.runtime === "python" ? "Python" : "R";
    if (await isCached(dataDir, entry)) {
      await log.line(`${what} package cache hit: ${entry.subPath} (nothing to install)`);
      await markUsed(dataDir, entry);
      return;
    }
    await log.line(
      `${what} package cache miss: building ${entry.contents.length} package(s) into ${entry.subPath}`,
    );
    const buildSubPath = await startBuild(dataDir, entry, request.taskId, runner.user);
    try {
      for (const job of jobs(buildSubPath)) {
        const outcome = await this.deps.jobs.run(
          job,
          {
            contentGuid: request.content.guid,
            bundleId: request.bundle.id,
            taskId: request.taskId,
          },
          (line) => log.line(`  ${line}`),
        );
        if (outcome.exitCode !== 0) {
          const why = outcome.reason ? ` (${outcome.reason})` : "";
          throw new ApiError(
            "badRequest",
            `The ${what} build failed: ${job.labels.step} exited with code ${outcome.exitCode ?? "unknown"}${why}; its output is in the log above.`,
          );
        }
      }
    } catch (error) {
      await discardBuild(dataDir, buildSubPath);
      throw error;
    }
    if (!(await publishBuild(dataDir, entry, buildSubPath))) {
      await log.line("Another build of the same packages finished first; using it.");
    }
  }
}

/** What R accepts as a package name. */
const R_PACKAGE_NAME = /^[A-Za-z][A-Za-z0-9.]*$/;

function flag(value: number | null): boolean | undefined {
  return value === null ? undefined : value === 1;
}

/** The version a manifest records for an R package, in its DESCRIPTION. */
function packageVersion(info: unknown): string | null {
  const description = (info as { description?: { Version?: unknown } } | null)?.description;
  return typeof description?.Version === "string" ? description.Version : null;
}
