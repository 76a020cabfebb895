/**
 * Builds a bundle's packages inside its environment, through the runner, into a package cache
 * kept per environment image: Python virtual environments keyed by the interpreter version
 * and the hash of the dependency set, and one R library per image and R version. A deploy whose
 * dependencies were built before reuses them without running an installer at all.
 */
import { createHash } from "node:crypto";
import { mkdir, open, readFile, rm, stat } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Settings } from "../config/settings.js";
import type { ContentNeeds, Manifest } from "../environments/manifest.js";
import { ApiError } from "../errors.js";
import { type Job, type Runner, runToEnd } from "../runners/runner.js";
import type { BundleRow } from "../store/bundles.js";
import type { ContentRow } from "../store/content.js";
import type { Pick } from "./deploy-service.js";
import { cacheName } from "./package-cache.js";
import { buildPythonEnvironment } from "./python-build.js";
import type { TaskLog } from "./task-runner.js";

export interface BuildRequest {
  log: TaskLog;
  content: ContentRow;
  bundle: BundleRow;
  pick: Pick;
  manifest: Manifest;
  needs: ContentNeeds;
}

/** The interpreters (and library) the content then runs with. */
export interface BuildResult {
  python?: string;
  r?: string;
  quarto?: string;
  rLibrary?: string;
}

export class ContentBuilder {
  constructor(
    private readonly runner: Runner,
    private readonly settings: Settings,
    private readonly cacheRoot: string,
    private readonly filesOf: (bundle: BundleRow) => string,
  ) {}

  async build(request: BuildRequest): Promise<BuildResult> {
    const { pick } = request;
    const result: BuildResult = {
      python: pick.installations.python?.path,
      r: pick.installations.r?.path,
      quarto: pick.installations.quarto?.path,
    };
    if (pick.installations.python)
      result.python = await this.#python(request, pick.installations.python);
    if (pick.installations.r) result.rLibrary = await this.#r(request, pick.installations.r);
    if (!pick.installations.python && !pick.installations.r)
      await request.log.line("Nothing to build.");
    return result;
  }

  async #python(request: BuildRequest, python: { version: string; path: string }): Promise<string> {
    const { log, content, manifest, needs } = request;
    const managed =
      needs.management.python ??
      flag(content.default_py_environment_management) ??
      this.settings.Python.EnvironmentManagement;
    if (!managed) {
      await log.line(`Python environment management is off: running with ${python.path} as it is.`);
      return python.path;
    }
    const packageFile = manifest.python?.package_manager?.package_file ?? "requirements.txt";
    const files = this.filesOf(request.bundle);
    await log.line(`Python ${python.version} at ${python.path}`);
    const built = await buildPythonEnvironment(
      this.runner,
      {
        cacheRoot: this.cacheRoot,
        image: request.pick.environment?.name ?? null,
        pythonVersion: python.version,
        pythonPath: python.path,
        requirements: await readFile(path.join(files, packageFile), "utf8").catch(() => ""),
        systemSitePackages: this.settings.Python.SystemSitePackages,
        indexUrl: this.settings.Python.PackageIndexURL || null,
        findLinks: this.settings.Python.FindLinks,
        jobName: `build-${request.bundle.id}`,
        supervisor: request.pick.environment?.supervisor ?? null,
        labels: { content: content.guid, bundle: String(request.bundle.id) },
      },
      (line) => log.line(line),
    );
    return built.python;
  }

  async #r(
    request: BuildRequest,
    r: { version: string; path: string },
  ): Promise<string | undefined> {
    const { log, content, manifest, needs } = request;
    const packages = Object.keys(manifest.packages ?? {}).sort();
    const managed =
      needs.management.r ??
      flag(content.default_r_environment_management) ??
      this.settings.R.EnvironmentManagement;
    if (!managed || packages.length === 0) {
      await log.line(
        managed
          ? "No R packages to install."
          : `R environment management is off: running with ${r.path} as it is.`,
      );
      return undefined;
    }
    const library = path.join(this.#imageDir(request), `R-${r.version}`, "library");
    const key = createHash("sha256").update(packages.join("\n")).digest("hex").slice(0, 24);
    const marker = path.join(library, `.slipway-${key}`);
    await this.#once(marker, log, async () => {
      // Packages the image or the library has already are kept; only the missing are installed.
      const script = [
        `lib <- ${JSON.stringify(library)}`,
        "dir.create(lib, recursive = TRUE, showWarnings = FALSE)",
        `.libPaths(c(lib, .libPaths()))`,
        `wanted <- ${rVector(packages)}`,
        "missing <- setdiff(wanted, rownames(installed.packages()))",
        `if (length(missing) > 0) install.packages(missing, lib = lib, repos = ${JSON.stringify(this.settings.R.RepositoryURL)})`,
        "still <- setdiff(wanted, rownames(installed.packages()))",
        'if (length(still) > 0) stop("could not install: ", paste(still, collapse = ", "))',
        `dir.create(${JSON.stringify(marker)}, recursive = TRUE)`,
      ].join("; ");
      await this.#run(request, "R packages", [r.path.replace(/\/R$/, "/Rscript"), "-e", script]);
    });
    return library;
  }

  #imageDir(request: BuildRequest): string {
    return path.join(this.cacheRoot, cacheName(request.pick.environment?.name ?? null));
  }

  /**
   * Builds `target` once: a hit when its `.complete` marker exists; otherwise builds it under
   * an exclusive lock, so two deploys of the same dependencies build them once between them.
   * A failed build leaves nothing that could be mistaken for a finished one.
   */
  async #once(target: string, log: TaskLog, build: () => Promise<void>): Promise<void> {
    const complete = `${target}.complete`;
    const lock = `${target}.lock`;
    for (;;) {
      if (await exists(complete)) {
        await log.line(`Package cache hit: ${target} (nothing to install)`);
        return;
      }
      const handle = await open(lock, "wx").catch(async (error: NodeJS.ErrnoException) => {
        if (error.code === "ENOENT") {
          await mkdir(path.dirname(lock), { recursive: true });
          return undefined;
        }
        if (error.code !== "EEXIST") throw error;
        return null;
      });
      if (handle === undefined) continue;
      if (handle === null) {
        if (await abandoned(lock)) {
          await rm(lock, { force: true });
          continue;
        }
        await log.line("Another deploy is building the same packages; waiting for it.");
        await sleep(500);
        continue;
      }
      try {
        await handle.writeFile(String(process.pid));
        await log.line(`Package cache miss: building ${target}`);
        await rm(target, { recursive: true, force: true });
        await build();
        await (await open(complete, "w")).close();
        return;
      } catch (error) {
        await rm(target, { recursive: true, force: true });
        throw error;
      } finally {
        await handle.close();
        await rm(lock, { force: true });
      }
    }
  }

  async #run(request: BuildRequest, step: string, argv: string[]): Promise<void> {
    const job: Job = {
      name: `build-${request.bundle.id}-${step.replace(/\W+/g, "-")}`,
      kind: "build",
      image: request.pick.environment?.name ?? null,
      argv,
      env: { PIP_NO_CACHE_DIR: "0", PYTHONUNBUFFERED: "1" },
      workingDir: this.filesOf(request.bundle),
      mounts: [],
      supervisor: request.pick.environment?.supervisor ?? null,
      labels: { content: request.content.guid, bundle: String(request.bundle.id), step },
    };
    const code = await runToEnd(this.runner, job, (line) => request.log.line(`  ${line}`));
    if (code !== 0) {
      throw new ApiError(
        "badRequest",
        `The build failed: ${step} exited with code ${code ?? "unknown"}; its output is in the log above.`,
      );
    }
  }
}

function flag(value: number | null): boolean | undefined {
  return value === null ? undefined : value === 1;
}

function rVector(values: string[]): string {
  return `c(${values.map((v) => JSON.stringify(v)).join(", ")})`;
}

/**
 * A lock whose holder is gone: a server that died mid-build must not make every later deploy
 * wait forever. The lock holds the builder's pid; a lock just made may not hold it yet.
 */
async function abandoned(lock: string): Promise<boolean> {
  const pid = Number((await readFile(lock, "utf8").catch(() => "")).trim());
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
