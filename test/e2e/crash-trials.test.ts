/**
 * The server SIGKILLed in the middle of a build, several times over, and started again over
 * the same data: the interrupted task ends failed with a reason, the build it left running is
 * stopped with everything it started, its half-built cache folder is removed and never used,
 * and the content's running application is adopted and answers the first request at once.
 */
import { existsSync } from "node:fs";
import { chmod, mkdtemp, readdir, readFile, readlink, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tarGz } from "../support/bundles.js";
import { HOST_PYTHON, hostPythonVersion } from "../support/images.js";
import { unavailable } from "../support/requirements.js";
import { type ServerProcess, startServerProcess } from "../support/server-process.js";

const noFlask = existsSync("/usr/lib/python3/dist-packages/flask")
  ? undefined
  : "Debian's python3-flask";

/** Process groups that still have a live member, read from /proc. */
async function liveGroups(groups: ReadonlySet<number>): Promise<number[]> {
  const live = new Set<number>();
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, "utf8").catch(() => "");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (fields[0] !== "Z" && groups.has(Number(fields[2]))) live.add(Number(fields[2]));
  }
  return [...live];
}

/** Process groups of the build jobs running over `dataDir` (their wrapper is `slipway-build`). */
async function buildGroups(dataDir: string): Promise<Set<number>> {
  const groups = new Set<number>();
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, "utf8").catch(() => "");
    if (!cmdline.includes(dataDir) || !cmdline.includes("slipway-build")) continue;
    const stat = await readFile(`/proc/${name}/stat`, "utf8").catch(() => "");
    groups.add(Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]));
  }
  return groups;
}

/** Build folders under the package cache that no entry publishes: builds never finished. */
async function unfinishedCacheBuilds(dataDir: string): Promise<string[]> {
  const found: string[] = [];
  const cache = path.join(dataDir, "cache");
  for (const image of await readdir(cache).catch(() => [])) {
    for (const runtime of await readdir(path.join(cache, image)).catch(() => [])) {
      const folder = path.join(cache, image, runtime);
      const names = await readdir(folder).catch(() => []);
      const published = new Set<string>();
      for (const name of names) {
        const target = await readlink(path.join(folder, name)).catch(() => null);
        if (target) published.add(path.basename(target));
      }
      for (const name of names) {
        if (name.includes(".build-") && !published.has(name)) found.push(path.join(folder, name));
      }
    }
  }
  return found;
}

async function until<T>(what: string, check: () => Promise<T | undefined>, ms = 120_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const TRIALS = 3;

describe.skipIf(unavailable("Crash trials", noFlask))(
  "a server SIGKILLed in the middle of builds",
  { timeout: 600_000 },
  () => {
    let server: ServerProcess;
    let slow: string;
    beforeAll(async () => {
      // A supervisor that holds builds while the marker exists, so the kill lands mid-build.
      const dir = await mkdtemp(path.join(tmpdir(), "slipway-crash-"));
      await chmod(dir, 0o755);
      slow = path.join(dir, "slow");
      const supervisor = path.join(dir, "supervisor.sh");
      await writeFile(
        supervisor,
        `#!/bin/sh\ncase "$*" in *" -m pip "*) while [ -e ${slow} ]; do sleep 0.2; done;; esac\nexec "$@"\n`,
      );
      await chmod(supervisor, 0o755);
      server = await startServerProcess(
        "[Applications]\nHostEnvironment = false\n[Python]\nSystemSitePackages = true\n[Scheduler]\nIdleTimeout = 3600\n",
      );
      const created = await server.call("POST", "/v1/environments", {
        name: "py:held",
        cluster_name: "Local",
        supervisor,
        python: { installations: [{ version: hostPythonVersion(), path: HOST_PYTHON }] },
      });
      expect(created.status, JSON.stringify(created.body)).toBe(200);
    }, 120_000);
    afterAll(async () => {
      await server?.stop();
      if (slow) await rm(slow, { force: true });
    });

    const bundle = (round: number, requirements: string) =>
      tarGz([
        {
          path: "manifest.json",
          content: JSON.stringify({
            version: 1,
            metadata: { appmode: "python-api", entrypoint: "app:app" },
            python: {
              version: hostPythonVersion(),
              package_manager: { name: "pip", package_file: "requirements.txt" },
            },
          }),
        },
        {
          path: "app.py",
          content: `def app(environ, start_response):\n    start_response("200 OK", [])\n    return [b"round ${round}"]\n`,
        },
        { path: "requirements.txt", content: requirements },
      ]);

    it(`stops the abandoned build, removes its half-built cache and serves the first request at once, ${TRIALS} times`, async () => {
      const item = (await server.call("POST", "/v1/content", { name: "crashed" })).body;
      const live = await server.finished(await server.deploy(item.guid, bundle(0, "flask\n")));
      expect(live.code, live.output.join("\n")).toBe(0);
      const get = () =>
        fetch(item.content_url, { headers: { Authorization: `Key ${server.key}` } });

      for (let trial = 1; trial <= TRIALS; trial++) {
        await writeFile(slow, "");
        // Requirements of their own each time: a cache miss, so a build that writes the cache.
        const held = await server.deploy(
          item.guid,
          bundle(trial, `flask\n# trial ${trial}\nwerkzeug\n`),
        );
        const groups = await until("the build to be running", async () => {
          const g = await buildGroups(server.dataDir);
          const building = (await unfinishedCacheBuilds(server.dataDir)).length > 0;
          return g.size > 0 && building ? g : undefined;
        });
        await server.kill();
        // The build outlives the server that started it, as after any crash.
        expect(await liveGroups(groups)).not.toEqual([]);
        await rm(slow, { force: true });

        await server.restart();
        // The adopted process answers; before the fix this waited out the start timeout for 400.
        const first = await get();
        expect(first.status).toBe(200);
        expect(await first.text()).toBe("round 0");

        const interrupted = await server.finished(held);
        expect(interrupted.code).not.toBe(0);
        expect(interrupted.error).toContain("The server stopped while this task was running");
        await until("the abandoned build to be stopped", async () =>
          (await liveGroups(groups)).length === 0 ? true : undefined,
        );
        await until("the half-built cache to be removed", async () =>
          (await unfinishedCacheBuilds(server.dataDir)).length === 0 ? true : undefined,
        );
      }

      // The requirements of the last interrupted build now build afresh and go live.
      const again = await server.finished(
        await server.deploy(item.guid, bundle(TRIALS + 1, `flask\n# trial ${TRIALS}\nwerkzeug\n`)),
      );
      expect(again.code, again.output.join("\n")).toBe(0);
      expect(again.output.join("\n")).toContain("Python package cache miss");
      expect(await (await get()).text()).toBe(`round ${TRIALS + 1}`);
    });
  },
);
