/**
 * Real builds: virtual environments made with this host's Python, packages installed offline
 * from a find-links folder holding a wheel written by the test, through the local runner.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { mkdtemp, readdir, readFile, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { LocalRunner } from "../runners/local/local-backend.js";
import { isCached, pythonCacheEntry } from "./package-cache.js";
import {
  buildPythonEnvironment,
  type PythonBuildRequest,
  pythonBuildJobs,
} from "./python-build.js";

const probe = spawnSync(
  "python3",
  [
    "-c",
    "import sys, platform, ensurepip; print(sys.executable); print(platform.python_version())",
  ],
  { encoding: "utf8" },
);
const [pythonPath = "", pythonVersion = ""] = probe.stdout?.trim().split("\n") ?? [];
const noPython =
  probe.status === 0 ? undefined : "python3 with venv and ensurepip is not installed";

/** Writes a pure-Python wheel by hand: a zip holding the module and its dist-info. */
const WHEEL = `
import sys, zipfile
folder, name, value = sys.argv[1:4]
files = {
    f"{name}/__init__.py": f"VALUE = {value}\\n",
    f"{name}-1.0.dist-info/METADATA": f"Metadata-Version: 2.1\\nName: {name}\\nVersion: 1.0\\n",
    f"{name}-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\\nGenerator: slipway-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
}
record = "".join(f"{path},,\\n" for path in files) + f"{name}-1.0.dist-info/RECORD,,\\n"
with zipfile.ZipFile(f"{folder}/{name}-1.0-py3-none-any.whl", "w") as wheel:
    for path, text in files.items():
        wheel.writestr(path, text)
    wheel.writestr(f"{name}-1.0.dist-info/RECORD", record)
`;

describe.skipIf(Boolean(noPython))("building Python environments into the cache", () => {
  let wheels: string;
  const runner = new LocalRunner({
    logDir: mkdtempSync(path.join(tmpdir(), "slipway-build-logs-")),
  });

  beforeAll(async () => {
    wheels = await mkdtemp(path.join(tmpdir(), "slipway-wheels-"));
    execFileSync(pythonPath, ["-c", WHEEL, wheels, "slipwaydemo", "42"]);
  });

  const request = async (requirements: string): Promise<PythonBuildRequest> => ({
    cacheRoot: await mkdtemp(path.join(tmpdir(), "slipway-cache-")),
    image: null,
    pythonPath,
    pythonVersion,
    requirements,
    systemSitePackages: false,
    findLinks: [wheels],
    jobName: "task-1",
    labels: { task: "1" },
  });

  const build = async (input: PythonBuildRequest) => {
    const log: string[] = [];
    const result = await buildPythonEnvironment(runner, input, (line) => {
      log.push(line);
    });
    return { result, log };
  };

  it("installs offline on a miss, then reuses the environment without running pip", async () => {
    const input = await request("slipwaydemo==1.0\n");
    const first = await build(input);
    expect(first.result.cacheHit).toBe(false);
    expect(first.log[0]).toMatch(/^Python package cache miss: building 1 requirement\(s\) into /);
    expect(first.log.join("\n")).toContain("Successfully installed slipwaydemo-1.0");
    const value = execFileSync(
      first.result.python,
      ["-c", "import slipwaydemo; print(slipwaydemo.VALUE)"],
      {
        encoding: "utf8",
      },
    );
    expect(value).toBe("42\n");
    expect(first.result.dir).toBe(pythonCacheEntry(input).dir);
    const marker = await stat(path.join(first.result.dir, ".complete"));

    // The same set written differently: a hit, and nothing ran.
    const second = await build({ ...input, requirements: "# again\n  slipwaydemo == 1.0  \n\n" });
    expect(second.result).toEqual({ ...first.result, cacheHit: true });
    expect(second.log).toEqual([
      `Python package cache hit: ${first.result.dir} (nothing to install)`,
    ]);
    expect((await stat(path.join(first.result.dir, ".complete"))).mtimeMs).toBe(marker.mtimeMs);
  });

  it("keeps nothing from a failed build, so the next one builds again", async () => {
    const input = await request("not-in-the-mirror==9.9\n");
    await expect(build(input)).rejects.toThrow(
      "The Python build failed: python-pip exited with code 1; its output is in the log above.",
    );
    expect(await isCached(pythonCacheEntry(input))).toBe(false);
    const folder = path.dirname(pythonCacheEntry(input).dir);
    expect(await readdir(folder)).toEqual([]);
    await expect(build(input)).rejects.toThrow("The Python build failed");
  });

  it("lets two concurrent builds of one set both succeed with one environment", async () => {
    const input = await request("slipwaydemo\n");
    const [a, b] = await Promise.all([build(input), build(input)]);
    expect(a.result.python).toBe(b.result.python);
    const folder = path.dirname(a.result.dir);
    // The published link and the one build folder it names; the loser removed its own.
    expect((await readdir(folder)).length).toBe(2);
    expect(execFileSync(a.result.python, ["-c", "import slipwaydemo"], { encoding: "utf8" })).toBe(
      "",
    );
    expect(await readFile(path.join(a.result.dir, "requirements.txt"), "utf8")).toBe(
      "slipwaydemo\n",
    );
  });

  it("makes only the environment when there is nothing to install", async () => {
    const result = await build(await request("# nothing\n"));
    expect(result.result.cacheHit).toBe(false);
    expect(result.log.some((line) => line.includes("pip"))).toBe(false);
    expect(
      execFileSync(
        result.result.python,
        ["-c", "import sys; print(sys.prefix != sys.base_prefix)"],
        { encoding: "utf8" },
      ),
    ).toBe("True\n");
  });
});

describe("Python build jobs", () => {
  it("builds with the environment's interpreter, offline when only find-links are given", () => {
    const entry = pythonCacheEntry({
      cacheRoot: "/cache",
      image: "py:3.12",
      pythonVersion: "3.12.1",
      requirements: "flask",
      systemSitePackages: true,
    });
    const build = {
      buildDir: `${entry.dir}.build-abc123`,
      requirementsFile: `${entry.dir}.build-abc123/requirements.txt`,
    };
    const base = {
      cacheRoot: "/cache",
      image: "py:3.12",
      pythonVersion: "3.12.1",
      pythonPath: "/opt/python/3.12.1/bin/python3",
      requirements: "flask",
      systemSitePackages: true,
      jobName: "task-7",
      supervisor: "/opt/supervise",
    };
    const [venv, pip] = pythonBuildJobs(
      { ...base, findLinks: ["/mirror/wheels", "https://example.org/wheels"] },
      entry,
      build,
    );
    expect(venv).toMatchObject({
      name: "task-7-python-venv-abc123",
      kind: "build",
      image: "py:3.12",
      argv: [
        "/opt/python/3.12.1/bin/python3",
        "-m",
        "venv",
        "--system-site-packages",
        build.buildDir,
      ],
      workingDir: build.buildDir,
      supervisor: "/opt/supervise",
      mounts: [
        { hostPath: path.dirname(entry.dir), jobPath: path.dirname(entry.dir), readOnly: false },
        { hostPath: "/mirror/wheels", jobPath: "/mirror/wheels", readOnly: true },
      ],
    });
    expect(pip?.argv).toEqual([
      `${build.buildDir}/bin/python`,
      "-m",
      "pip",
      "install",
      "--no-index",
      "--find-links",
      "/mirror/wheels",
      "--find-links",
      "https://example.org/wheels",
      "-r",
      build.requirementsFile,
    ]);
    const [, indexed] = pythonBuildJobs(
      { ...base, indexUrl: "https://pypi.internal/simple" },
      entry,
      build,
    );
    expect(indexed?.argv.slice(4, 6)).toEqual(["--index-url", "https://pypi.internal/simple"]);
  });
});
