/**
 * Real builds: virtual environments made with this host's Python, packages installed offline
 * from a find-links folder holding a wheel written by the test, through the local runner and a
 * real store recording each build job as a run.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaults } from "../config/settings.js";
import { contentNeeds, parseManifest } from "../environments/manifest.js";
import { LocalRunner } from "../runners/local/local-backend.js";
import { RUNTIME_DIR } from "../runtime-dir.js";
import type { BundleRow } from "../store/bundles.js";
import type { ContentRow } from "../store/content.js";
import { openStore, type Store } from "../store/database.js";
import { contentRuns } from "../store/runs.js";
import { ContentBuilder } from "./content-builder.js";
import { bundleSubPath } from "./data-layout.js";
import { JobRuns } from "./job-runs.js";
import { isCached, pythonCacheEntry } from "./package-cache.js";
import { DEFAULT_CONTENT_SETTINGS } from "./process-settings.js";
import type { TaskLog } from "./task-runner.js";

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

// Each case runs real venv and pip processes: minutes on a busy machine.
describe.skipIf(Boolean(noPython))(
  "building Python environments into the cache",
  { timeout: 180_000 },
  () => {
    let wheels: string;
    let store: Store;
    let dataDir: string;
    let bundleIds = 0;
    const settings = defaults();

    beforeAll(async () => {
      dataDir = await mkdtemp(path.join(tmpdir(), "slipway-build-"));
      wheels = await mkdtemp(path.join(tmpdir(), "slipway-wheels-"));
      execFileSync(pythonPath, ["-c", WHEEL, wheels, "slipwaydemo", "42"]);
      settings.Server.DataDir = dataDir;
      settings.Python.FindLinks = [wheels];
      store = await openStore(settings);
    });
    afterAll(() => store.close());

    const build = async (
      requirements: string,
      content = "5b7d3a2e-1c4f-4a9b-8e6d-0f1a2b3c4d5e",
    ) => {
      const runner = new LocalRunner({
        logDir: path.join(dataDir, "logs"),
        dataDir,
        runtimeDir: RUNTIME_DIR,
      });
      const builder = new ContentBuilder({
        runner,
        jobs: new JobRuns({ store, runner, serverId: "test" }),
        settings,
        dataDir,
      });
      const bundleId = ++bundleIds;
      const files = path.join(dataDir, bundleSubPath(content, bundleId));
      await mkdir(files, { recursive: true });
      await writeFile(path.join(files, "requirements.txt"), requirements);
      const manifest = parseManifest(
        JSON.stringify({
          version: 1,
          metadata: { appmode: "python-api" },
          python: { version: pythonVersion },
        }),
      );
      const lines: string[] = [];
      const log: TaskLog = {
        line: async (text) => {
          lines.push(text);
        },
        phase: (_, work) => work(),
      };
      const pick = {
        environment: null,
        installations: { python: { version: pythonVersion, path: pythonPath } },
      };
      const result = await builder.build({
        log,
        taskId: `task-${bundleId}`,
        ctx: {
          paths: runner.paths,
          instance: "test",
          contentGuid: content,
          bundleId,
          image: null,
          pullPolicy: null,
          supervisor: null,
          volumeMounts: [],
          resources: {},
        },
        content: {
          guid: content,
          default_py_environment_management: null,
          default_r_environment_management: null,
          ...DEFAULT_CONTENT_SETTINGS,
        } as unknown as ContentRow,
        bundle: { id: bundleId } as BundleRow,
        pick,
        manifest,
        needs: contentNeeds(manifest),
      });
      return { result, lines, python: path.join(dataDir, result.pythonEnv ?? "", "bin", "python") };
    };

    /** What the cache folder holds for one key: its link and build folders. */
    const entriesOf = async (subPath: string) =>
      (await readdir(path.dirname(path.join(dataDir, subPath)))).filter((name) =>
        name.startsWith(path.basename(subPath)),
      );

    const entryOf = (requirements: string) =>
      pythonCacheEntry({ image: null, pythonVersion, requirements, systemSitePackages: false });

    it("installs offline on a miss, then reuses the environment without running a build job", async () => {
      const first = await build("slipwaydemo==1.0\n");
      expect(first.lines[1]).toMatch(
        /^Python package cache miss: building 1 package\(s\) into cache\/_host\//,
      );
      expect(first.lines.join("\n")).toContain("Successfully installed slipwaydemo-1.0");
      const value = execFileSync(
        first.python,
        ["-c", "import slipwaydemo; print(slipwaydemo.VALUE)"],
        {
          encoding: "utf8",
        },
      );
      expect(value).toBe("42\n");
      expect(first.result.pythonEnv).toBe(entryOf("slipwaydemo==1.0").subPath);
      const marker = await stat(path.join(dataDir, first.result.pythonEnv!, ".complete"));
      const runs = await contentRuns(store.db, "5b7d3a2e-1c4f-4a9b-8e6d-0f1a2b3c4d5e");
      expect(runs.map((r) => [r.kind, r.status, r.exit_code])).toEqual([
        ["build", "exited", 0],
        ["build", "exited", 0],
      ]);

      // The same set written differently: a hit, and nothing ran.
      const second = await build("# again\n  slipwaydemo == 1.0  \n\n");
      expect(second.result).toEqual(first.result);
      expect(second.lines.slice(1)).toEqual([
        `Python package cache hit: ${first.result.pythonEnv} (nothing to install)`,
      ]);
      // The same marker, not a republished one, its time moved to record the use.
      const after = await stat(path.join(dataDir, first.result.pythonEnv!, ".complete"));
      expect(after.ino).toBe(marker.ino);
      expect(after.mtimeMs).toBeGreaterThan(marker.mtimeMs);
      expect(await contentRuns(store.db, "5b7d3a2e-1c4f-4a9b-8e6d-0f1a2b3c4d5e")).toHaveLength(2);
    });

    it("keeps nothing from a failed build, so the next one builds again", async () => {
      await expect(build("not-in-the-mirror==9.9\n")).rejects.toThrow(
        "The Python build failed: python-pip exited with code 1; its output is in the log above.",
      );
      const entry = entryOf("not-in-the-mirror==9.9");
      expect(await isCached(dataDir, entry)).toBe(false);
      expect(await entriesOf(entry.subPath)).toEqual([]);
      await expect(build("not-in-the-mirror==9.9\n")).rejects.toThrow("The Python build failed");
    });

    it("lets two concurrent builds of one set both succeed with one environment", async () => {
      const [a, b] = await Promise.all([build("slipwaydemo\n"), build("slipwaydemo\n")]);
      expect(a.python).toBe(b.python);
      // The published link and the one build folder it names; the loser removed its own.
      expect(await entriesOf(a.result.pythonEnv!)).toHaveLength(2);
      expect(execFileSync(a.python, ["-c", "import slipwaydemo"], { encoding: "utf8" })).toBe("");
      expect(await readFile(path.join(dataDir, a.result.pythonEnv!, "contents.txt"), "utf8")).toBe(
        "slipwaydemo\n",
      );
    });

    it("makes only the environment when there is nothing to install", async () => {
      const result = await build("# nothing\n");
      expect(result.lines.some((line) => line.includes("pip"))).toBe(false);
      expect(
        execFileSync(result.python, ["-c", "import sys; print(sys.prefix != sys.base_prefix)"], {
          encoding: "utf8",
        }),
      ).toBe("True\n");
    });
  },
);
