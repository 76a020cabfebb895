/**
 * The one place jobs are made: every build, render and run job of a bundle, as plain data, from
 * the pick, the bundle and the settings. Pure, and tested as data, like KubeSpawner's make_pod.
 *
 * Paths come from `data-layout.ts` as data sub-paths, so the server (which reads them under its
 * data folder) and every job (which sees them under its runner's `paths.data`) agree on where
 * everything is, whatever the backend. Each job mounts only what it needs: its bundle, its
 * image's package cache (read-write for builds, read-only otherwise) and its output, never the
 * data folder as a whole.
 */
import { createHash } from "node:crypto";
import path from "node:path";
import type { VolumeMount } from "../environments/model.js";
import type {
  Job,
  JobKind,
  JobPaths,
  Placement,
  PullPolicy,
  Resources,
  Volume,
} from "../runners/runner.js";
import type { RunPlan } from "./app-commands.js";
import { bundleSubPath, outputSubPath, renderSourceSubPath } from "./data-layout.js";
import { type CacheEntry, CONTENTS_FILE, imageCacheSubPath } from "./package-cache.js";

/** What every job of one bundle shares. */
export interface JobContext {
  readonly paths: JobPaths;
  /** Identifies this Slipway installation on the backend, so it finds its own work. */
  readonly instance: string;
  readonly contentGuid: string;
  readonly bundleId: number;
  /** The environment's image; null for content run on the host itself. */
  readonly image: string | null;
  readonly pullPolicy: PullPolicy | null;
  readonly supervisor: string | null;
  readonly volumeMounts: readonly VolumeMount[];
  readonly resources: Resources;
  /** The content's environment variables; Slipway's own variables win over them. */
  readonly variables?: Readonly<Record<string, string>>;
  /** Counts writes to the variables: in the spec hash instead of their values. */
  readonly variablesRevision?: number;
  /** Where the environment's jobs are scheduled; in the spec, so a change replaces them. */
  readonly placement?: Placement;
}

/** The port every application listens on where it has a network of its own. */
export const APP_PORT = { name: "http", port: 8080 } as const;

/** Where pip finds packages: an index, offline folders or URLs, or pip's own default. */
export interface PipSource {
  readonly indexUrl: string | null;
  /** Absolute folders (on the server, or on the data volume) and URLs. */
  readonly findLinks: readonly string[];
}

/** A data sub-path as the job sees it. */
export function jobPath(paths: JobPaths, subPath: string): string {
  return path.join(paths.data, subPath);
}

/** The jobs that build a Python environment into `buildSubPath`: venv, then pip when there is anything to install. */
export function pythonBuildJobs(
  ctx: JobContext,
  build: {
    entry: CacheEntry;
    buildSubPath: string;
    pythonPath: string;
    systemSitePackages: boolean;
    pip: PipSource;
    dataDir: string;
  },
): Job[] {
  const buildDir = jobPath(ctx.paths, build.buildSubPath);
  const links = findLinks(ctx.paths, build.pip.findLinks, build.dataDir);
  const volumes: Volume[] = [
    { kind: "data", subPath: path.dirname(build.buildSubPath), readOnly: false },
    ...links.volumes,
  ];
  const common = {
    workingDir: buildDir,
    volumes,
    env: {
      PYTHONUNBUFFERED: "1",
      PIP_DISABLE_PIP_VERSION_CHECK: "1",
      PIP_NO_INPUT: "1",
      PIP_NO_CACHE_DIR: "1",
    },
  };
  // Two builds of one key at once must not adopt each other's jobs: the folder tells them apart.
  const attempt = path.basename(build.buildSubPath).split(".build-").pop() ?? "";
  const venv = finish(ctx, "build", "python-venv", attempt, {
    ...common,
    argv: [
      build.pythonPath,
      "-m",
      "venv",
      ...(build.systemSitePackages ? ["--system-site-packages"] : []),
      buildDir,
    ],
  });
  if (build.entry.contents.length === 0) return [venv];
  const index = build.pip.indexUrl
    ? ["--index-url", build.pip.indexUrl]
    : build.pip.findLinks.length > 0
      ? ["--no-index"]
      : [];
  const pip = finish(ctx, "build", "python-pip", attempt, {
    ...common,
    argv: [
      path.join(buildDir, "bin", "python"),
      "-m",
      "pip",
      "install",
      ...index,
      ...links.args.flatMap((link) => ["--find-links", link]),
      "-r",
      path.join(buildDir, CONTENTS_FILE),
    ],
  });
  return [venv, pip];
}

/** The job that installs an R package set into the library folder `buildSubPath`. */
export function rBuildJob(
  ctx: JobContext,
  build: { packages: readonly string[]; buildSubPath: string; rPath: string; repository: string },
): Job {
  const library = jobPath(ctx.paths, build.buildSubPath);
  const { packages } = build;
  // Packages the image already has are kept; only the missing ones are installed.
  const script = [
    `lib <- ${rString(library)}`,
    ".libPaths(c(lib, .libPaths()))",
    `wanted <- c(${packages.map(rString).join(", ")})`,
    "missing <- setdiff(wanted, rownames(installed.packages()))",
    `if (length(missing) > 0) install.packages(missing, lib = lib, repos = ${rString(build.repository)})`,
    "still <- setdiff(wanted, rownames(installed.packages()))",
    'if (length(still) > 0) stop("could not install: ", paste(still, collapse = ", "))',
  ].join("; ");
  const attempt = path.basename(build.buildSubPath).split(".build-").pop() ?? "";
  return finish(ctx, "build", "r-packages", attempt, {
    argv: [rscript(build.rPath), "-e", script],
    workingDir: library,
    volumes: [{ kind: "data", subPath: path.dirname(build.buildSubPath), readOnly: false }],
    env: {},
  });
}

/** What a bundle runs with once built: interpreters and libraries, as data sub-paths or image paths. */
export interface Built {
  /** The virtual environment's sub-path, or null to run the image's own Python. */
  readonly pythonEnv: string | null;
  readonly pythonPath: string | null;
  readonly rPath: string | null;
  readonly rLibrary: string | null;
  readonly quartoPath: string | null;
}

/** The interpreters a built bundle runs with, as the job sees them. */
export function interpreters(ctx: JobContext, built: Built) {
  return {
    python: built.pythonEnv
      ? path.join(jobPath(ctx.paths, built.pythonEnv), "bin", "python")
      : (built.pythonPath ?? undefined),
    r: built.rPath ?? undefined,
    quarto: built.quartoPath ?? undefined,
  };
}

/** The job that renders a document into the bundle's output folder, in a copy of its files. */
export function renderJob(
  ctx: JobContext,
  plan: Extract<RunPlan, { kind: "render" }>,
  built: Built,
  deadlineSeconds: number | null,
): Job {
  const output = outputSubPath(ctx.contentGuid, ctx.bundleId);
  return finish(ctx, "render", "render", "", {
    argv: plan.argv,
    workingDir: jobPath(ctx.paths, renderSourceSubPath(ctx.contentGuid, ctx.bundleId)),
    volumes: [
      { kind: "data", subPath: output, readOnly: false },
      ...cacheVolumes(ctx),
      ...environmentVolumes(ctx.volumeMounts),
    ],
    env: { ...plan.env, ...libraryEnv(ctx, built) },
    deadlineSeconds,
  });
}

/** The job of one application process; `slot` tells apart the processes of one bundle. */
export function appJob(
  ctx: JobContext,
  plan: Extract<RunPlan, { kind: "app" }>,
  built: Built,
  slot: number,
): Job {
  const bundle = bundleSubPath(ctx.contentGuid, ctx.bundleId);
  return finish(ctx, "run", "process", String(slot), {
    argv: plan.argv,
    workingDir: jobPath(ctx.paths, bundle),
    volumes: [
      { kind: "data", subPath: bundle, readOnly: true },
      ...cacheVolumes(ctx),
      ...environmentVolumes(ctx.volumeMounts),
    ],
    env: { ...plan.env, ...libraryEnv(ctx, built), PYTHONDONTWRITEBYTECODE: "1" },
    runtime: true,
    ports: [APP_PORT],
  });
}

/** The spec hash of a job: everything that makes it what it is, except its name and labels. */
export function specHash(
  job: Omit<Job, "name" | "labels"> & { readonly variablesRevision?: number },
): string {
  return createHash("sha256").update(stableJson(job)).digest("hex").slice(0, 16);
}

type JobBody = Pick<Job, "argv" | "workingDir" | "volumes" | "env"> &
  Partial<Pick<Job, "runtime" | "ports" | "deadlineSeconds">>;

/** A job with its name and labels; `suffix` tells apart jobs of one step (build attempts, process slots). */
function finish(ctx: JobContext, kind: JobKind, step: string, suffix: string, body: JobBody): Job {
  const spec = {
    kind,
    image: ctx.image,
    pullPolicy: ctx.pullPolicy,
    supervisor: ctx.supervisor,
    resources: ctx.resources,
    runtime: false,
    ports: [],
    deadlineSeconds: null,
    ...(ctx.placement ? { placement: ctx.placement } : {}),
    ...body,
  };
  // The values stay out of the hash (it is stored and labelled); their revision stands in.
  const revision = ctx.variablesRevision ?? 0;
  const hash = specHash(revision > 0 ? { ...spec, variablesRevision: revision } : spec);
  return {
    ...spec,
    env: { ...ctx.variables, ...spec.env },
    // Short enough for a Kubernetes name (63), and unique: bundle ids are unique server-wide.
    name: [kind, ctx.contentGuid.slice(0, 8), `b${ctx.bundleId}`, step, suffix, hash.slice(0, 8)]
      .filter(Boolean)
      .join("-"),
    labels: {
      instance: ctx.instance,
      content: ctx.contentGuid,
      bundle: String(ctx.bundleId),
      kind,
      step,
      "spec-hash": hash,
    },
  };
}

/** Runs and renders read the image's package cache, never write it. */
function cacheVolumes(ctx: JobContext): Volume[] {
  return [{ kind: "data", subPath: imageCacheSubPath(ctx.image), readOnly: true }];
}

function libraryEnv(ctx: JobContext, built: Built): Record<string, string> {
  return built.rLibrary ? { R_LIBS: jobPath(ctx.paths, built.rLibrary) } : {};
}

/** The environment's volume_mounts as job volumes. */
export function environmentVolumes(mounts: readonly VolumeMount[]): Volume[] {
  return mounts.map((mount) => {
    const target = mount.target.path;
    const readOnly = mount.target.read_only ?? false;
    return mount.source.volume_type === "nfs"
      ? {
          kind: "nfs" as const,
          server: mount.source.nfs_host ?? "",
          path: mount.source.nfs_export_path ?? "/",
          target,
          readOnly,
        }
      : { kind: "claim" as const, claim: mount.source.pvc_name ?? "", target, readOnly };
  });
}

/**
 * pip's find-links as the job sees them: URLs as they are, folders on the data volume through
 * it, other folders of the server's host mounted read-only at their own paths.
 */
function findLinks(
  paths: JobPaths,
  links: readonly string[],
  dataDir: string,
): { args: string[]; volumes: Volume[] } {
  const args: string[] = [];
  const volumes: Volume[] = [];
  for (const link of links) {
    if (!path.isAbsolute(link)) {
      args.push(link);
      continue;
    }
    const inData = path.relative(dataDir, link);
    if (inData && !inData.startsWith("..") && !path.isAbsolute(inData)) {
      volumes.push({ kind: "data", subPath: inData, readOnly: true });
      args.push(jobPath(paths, inData));
    } else {
      volumes.push({ kind: "host", path: link, target: link, readOnly: true });
      args.push(link);
    }
  }
  return { args, volumes };
}

function rscript(rPath: string): string {
  return rPath.replace(/\/R$/, "/Rscript");
}

/** An R string literal: the value travels as data, never as code. */
function rString(value: string): string {
  return JSON.stringify(value);
}

/** JSON with object keys sorted, so equal specs hash equally whatever their key order. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}
