/** The job factory, compared as data (like KubeSpawner's make_pod tests): no runner, no disk. */
import { describe, expect, it } from "vitest";
import { runPlan } from "./app-commands.js";
import { commandInput } from "./bundle-context.js";
import {
  appJob,
  type Built,
  environmentVolumes,
  type JobContext,
  pythonBuildJobs,
  rBuildJob,
  renderJob,
  specHash,
} from "./jobs.js";
import { pythonCacheEntry, rCacheEntry } from "./package-cache.js";

const GUID = "5b7d3a2e-1c4f-4a9b-8e6d-0f1a2b3c4d5e";

const ctx: JobContext = {
  paths: { data: "/slipway/data", runtime: "/opt/slipway-runtime" },
  instance: "abc123",
  contentGuid: GUID,
  bundleId: 7,
  image: "ghcr.io/acme/content:py3.11",
  pullPolicy: "if-not-present",
  supervisor: "/scripts/supervise",
  volumeMounts: [],
  resources: { memoryLimitBytes: 512 * 1024 * 1024 },
};

const IMAGE_CACHE = "cache/ghcr.io_2facme_2fcontent_3apy3.11";

const built: Built = {
  pythonEnv: `${IMAGE_CACHE}/python-3.11.9/0123abcd`,
  pythonPath: "/opt/python/3.11.9/bin/python3",
  rPath: "/opt/R/4.3.1/bin/R",
  rLibrary: `${IMAGE_CACHE}/R-4.3.1/fedc9876`,
  quartoPath: null,
};

describe("build jobs", () => {
  const entry = pythonCacheEntry({
    image: ctx.image,
    pythonVersion: "3.11.9",
    requirements: "flask==3.0.0\n",
    systemSitePackages: true,
  });
  const buildSubPath = `${entry.subPath}.build-x1y2z3`;
  const buildDir = `/slipway/data/${buildSubPath}`;

  it("makes a venv with the image's interpreter, then installs offline from find-links, mounting only the cache folder and the wheels", () => {
    const [venv, pip] = pythonBuildJobs(ctx, {
      entry,
      buildSubPath,
      pythonPath: "/opt/python/3.11.9/bin/python3",
      systemSitePackages: true,
      pip: { indexUrl: null, findLinks: ["/srv/wheels", "/var/lib/slipway/wheels", "https://x/w"] },
      dataDir: "/var/lib/slipway",
    });
    expect(venv).toMatchObject({
      kind: "build",
      image: "ghcr.io/acme/content:py3.11",
      pullPolicy: "if-not-present",
      argv: ["/opt/python/3.11.9/bin/python3", "-m", "venv", "--system-site-packages", buildDir],
      workingDir: buildDir,
      supervisor: "/scripts/supervise",
      resources: { memoryLimitBytes: 536870912 },
      runtime: false,
      ports: [],
      volumes: [
        { kind: "data", subPath: `${IMAGE_CACHE}/python-3.11.9`, readOnly: false },
        { kind: "host", path: "/srv/wheels", target: "/srv/wheels", readOnly: true },
        { kind: "data", subPath: "wheels", readOnly: true },
      ],
      labels: {
        instance: "abc123",
        content: GUID,
        bundle: "7",
        kind: "build",
        step: "python-venv",
      },
    });
    expect(pip?.argv).toEqual([
      `${buildDir}/bin/python`,
      "-m",
      "pip",
      "install",
      "--no-index",
      "--find-links",
      "/srv/wheels",
      "--find-links",
      "/slipway/data/wheels",
      "--find-links",
      "https://x/w",
      "-r",
      `${buildDir}/contents.txt`,
    ]);
    expect(pip?.env).toMatchObject({ PIP_NO_INPUT: "1", PIP_NO_CACHE_DIR: "1" });
  });

  it("uses the index when one is set, and makes only the venv when nothing is to be installed", () => {
    const options = {
      buildSubPath,
      pythonPath: "/opt/python/3.11.9/bin/python3",
      systemSitePackages: false,
      pip: { indexUrl: "https://pypi.internal/simple", findLinks: [] },
      dataDir: "/var/lib/slipway",
    };
    const [, pip] = pythonBuildJobs(ctx, { ...options, entry });
    expect(pip?.argv.slice(4, 6)).toEqual(["--index-url", "https://pypi.internal/simple"]);
    const empty = pythonCacheEntry({
      ...entry,
      image: ctx.image,
      pythonVersion: "3.11.9",
      requirements: "",
      systemSitePackages: false,
    });
    expect(pythonBuildJobs(ctx, { ...options, entry: empty })).toHaveLength(1);
  });

  it("installs R packages into the build's library folder, with the names as R data", () => {
    const r = rCacheEntry({
      image: ctx.image,
      rVersion: "4.3.1",
      packages: [
        { name: "shiny", version: "1.8.0" },
        { name: 'x"); system("id', version: null },
      ],
      repository: "https://cran.example.org",
    });
    const job = rBuildJob(ctx, {
      packages: ["shiny", 'x"); system("id'],
      buildSubPath: `${r.subPath}.build-q`,
      rPath: "/opt/R/4.3.1/bin/R",
      repository: "https://cran.example.org",
    });
    expect(job.argv[0]).toBe("/opt/R/4.3.1/bin/Rscript");
    expect(job.argv[2]).toContain(`lib <- "/slipway/data/${r.subPath}.build-q"`);
    expect(job.argv[2]).toContain('wanted <- c("shiny", "x\\"); system(\\"id")');
    expect(job.volumes).toEqual([
      { kind: "data", subPath: `${IMAGE_CACHE}/R-4.3.1`, readOnly: false },
    ]);
  });
});

describe("render and run jobs", () => {
  it("renders in the output folder's copy of the bundle, reading the cache, with a deadline", () => {
    const plan = runPlan(
      commandInput(ctx, { appMode: "jupyter-static", entrypoint: "report.ipynb" } as never, built),
    );
    if (plan.kind !== "render") throw new Error("not a render");
    const job = renderJob(ctx, plan, built, 600);
    expect(job).toMatchObject({
      kind: "render",
      argv: [
        `/slipway/data/${IMAGE_CACHE}/python-3.11.9/0123abcd/bin/python`,
        "-m",
        "nbconvert",
        "--to",
        "html",
        "--execute",
        "--output-dir",
        `/slipway/data/content/${GUID}/output/7/site`,
        "--output",
        "index",
        "report.ipynb",
      ],
      workingDir: `/slipway/data/content/${GUID}/output/7/source`,
      volumes: [
        { kind: "data", subPath: `content/${GUID}/output/7`, readOnly: false },
        { kind: "data", subPath: IMAGE_CACHE, readOnly: true },
      ],
      env: { R_LIBS: `/slipway/data/${IMAGE_CACHE}/R-4.3.1/fedc9876` },
      deadlineSeconds: 600,
      runtime: false,
    });
  });

  it("runs an application from its read-only bundle, with the runtime components and one port", () => {
    const plan = runPlan(
      commandInput(ctx, { appMode: "python-api", entrypoint: "app:app" } as never, built),
    );
    if (plan.kind !== "app") throw new Error("not an app");
    const job = appJob(ctx, plan, built, 2);
    expect(job).toMatchObject({
      kind: "run",
      argv: [
        `/slipway/data/${IMAGE_CACHE}/python-3.11.9/0123abcd/bin/python`,
        "/opt/slipway-runtime/python/slipway_launch.py",
        "wsgi",
        "app:app",
      ],
      workingDir: `/slipway/data/content/${GUID}/bundles/7`,
      volumes: [
        { kind: "data", subPath: `content/${GUID}/bundles/7`, readOnly: true },
        { kind: "data", subPath: IMAGE_CACHE, readOnly: true },
      ],
      runtime: true,
      ports: [{ name: "http", port: 8080 }],
      env: { SLIPWAY_ROOT_PATH: `/content/${GUID}`, PYTHONDONTWRITEBYTECODE: "1" },
    });
    expect(job.name).toMatch(/^run-5b7d3a2e-b7-process-2-[0-9a-f]{8}$/);
    expect(job.name.length).toBeLessThanOrEqual(63);
  });

  it("gives every process of one bundle the same spec hash, and a changed setting another", () => {
    const plan = runPlan(commandInput(ctx, { appMode: "shiny", entrypoint: null } as never, built));
    if (plan.kind !== "app") throw new Error("not an app");
    const [a, b] = [appJob(ctx, plan, built, 0), appJob(ctx, plan, built, 1)];
    expect(a.labels["spec-hash"]).toBe(b.labels["spec-hash"]);
    expect(a.name).not.toBe(b.name);
    const more = appJob({ ...ctx, resources: { memoryLimitBytes: 1 << 30 } }, plan, built, 0);
    expect(more.labels["spec-hash"]).not.toBe(a.labels["spec-hash"]);
    const { name: _, labels: __, ...spec } = a;
    expect(specHash({ ...spec, env: { ...spec.env } })).toBe(a.labels["spec-hash"]);
  });

  it("mounts an environment's NFS and PVC volumes where it says", () => {
    expect(
      environmentVolumes([
        {
          source: { volume_type: "nfs", nfs_host: "nas.local", nfs_export_path: "/exports/data" },
          target: { path: "/mnt/data", read_only: true },
        },
        { source: { volume_type: "pvc", pvc_name: "models" }, target: { path: "/models" } },
      ]),
    ).toEqual([
      {
        kind: "nfs",
        server: "nas.local",
        path: "/exports/data",
        target: "/mnt/data",
        readOnly: true,
      },
      { kind: "claim", claim: "models", target: "/models", readOnly: false },
    ]);
  });
});
