/**
 * Time from a deploy request to the first successful response of a small Flask API with a warm
 * package cache, beside starting the same app with the same launcher by hand, in the same run:
 * - on the local runner, against running the launcher with the host's Python;
 * - on Docker (when the engine is up), against `docker run` of the same image with the app and
 *   the launcher mounted in.
 * What is left is Slipway's own: the bundle unpacked, the build against the warm cache, the
 * runtime components copied by the init container, the proxy. Aim: within 1.2x + 300 ms.
 *
 *   npx tsx bench/deploy.ts [--rounds 5]
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { tarGz } from "../test/support/bundles.js";
import { debianImageUnavailable, ensureDebianImage } from "../test/support/debian-image.js";
import { createContent, manifestEntry, upload } from "../test/support/deploy.js";
import { contentInitImage, engineAvailable, HOST_PYTHON } from "../test/support/images.js";
import { startTestServer } from "../test/support/server.js";
import { firstOk, freePort, median, verdict } from "./support.js";

const run = promisify(execFile);
const LAUNCHER_DIR = fileURLToPath(new URL("../runtime/python", import.meta.url));
/** The app answers with its round, so the first answer of a new deploy can be told apart. */
const app = (round: number) =>
  `from flask import Flask\napp = Flask(__name__)\n@app.get("/")\ndef hi():\n    return "round ${round}"\n`;
const { values } = parseArgs({ options: { rounds: { type: "string", default: "5" } } });
const rounds = Number(values.rounds);

if (!existsSync("/usr/lib/python3/dist-packages/flask")) {
  console.log("deploy benchmark skipped: Debian's python3-flask is not installed");
  process.exit(0);
}

const appDir = await mkdtemp(path.join(tmpdir(), "slipway-bench-app-"));
await writeFile(path.join(appDir, "app.py"), app(0));

/** Milliseconds from `start` until the app answers 200 on `port`; then `stop`. */
async function timed(port: number, start: () => Promise<() => Promise<unknown>>) {
  const started = performance.now();
  const stop = await start();
  await firstOk(`http://127.0.0.1:${port}/`);
  const elapsed = performance.now() - started;
  await stop();
  return elapsed;
}

/** The launcher run by hand with the host's Python. */
async function onHost(): Promise<number> {
  const port = await freePort();
  return timed(port, async () => {
    const child: ChildProcess = spawn(
      HOST_PYTHON,
      [`${LAUNCHER_DIR}/slipway_launch.py`, "wsgi", "app:app"],
      {
        cwd: appDir,
        stdio: "ignore",
        env: { ...process.env, SLIPWAY_HOST: "127.0.0.1", SLIPWAY_PORT_HTTP: String(port) },
      },
    );
    return async () => {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill();
      await exited;
    };
  });
}

/** The launcher run by hand in a container of `image`, on the host's network. */
async function inDocker(image: string, python: string): Promise<number> {
  const port = await freePort();
  return timed(port, async () => {
    const { stdout } = await run("docker", [
      "run",
      "-d",
      "--rm",
      "--network",
      "host",
      "-v",
      `${appDir}:/app:ro`,
      "-v",
      `${LAUNCHER_DIR}:/slipway:ro`,
      "-w",
      "/app",
      "-e",
      "SLIPWAY_HOST=127.0.0.1",
      "-e",
      `SLIPWAY_PORT_HTTP=${port}`,
      image,
      python,
      "/slipway/slipway_launch.py",
      "wsgi",
      "app:app",
    ]);
    return () => run("docker", ["rm", "-f", stdout.trim()]);
  });
}

async function measure(
  name: string,
  environment: { name: string; cluster_name: string; python: { version: string; path: string } },
  tweak: Parameters<typeof startTestServer>[1],
  baseline: () => Promise<number>,
  baselineLabel: string,
): Promise<void> {
  const server = await startTestServer("sqlite", (s) => {
    s.Python.SystemSitePackages = true;
    s.Python.FindLinks = [tmpdir()];
    tweak?.(s);
  });
  try {
    const created = await server.call("POST", "/__api__/v1/environments", {
      body: {
        name: environment.name,
        cluster_name: environment.cluster_name,
        python: { installations: [environment.python] },
      },
    });
    if (created.status !== 200) throw new Error(JSON.stringify(created.body));
    const item = await createContent(
      server,
      `bench-${name.replace(/\W+/g, "-")}`,
      server.keys.administrator,
    );
    const headers = { Authorization: `Key ${server.keys.administrator}` };
    const manifest = manifestEntry({
      metadata: { appmode: "python-api", entrypoint: "app:app" },
      python: {
        version: environment.python.version,
        package_manager: { name: "pip", package_file: "requirements.txt" },
      },
    });
    let round = 0;
    // From the deploy request to the new bundle's first answer; the upload is bench/upload.ts's.
    const deployOnce = async () => {
      round += 1;
      const archive = tarGz([
        manifest,
        { path: "app.py", content: app(round) },
        { path: "requirements.txt", content: "flask\n" },
      ]);
      const bundle = await upload(server, item.guid, archive, server.keys.administrator);
      const started = performance.now();
      const deploying = await server.call("POST", `/__api__/v1/content/${item.guid}/deploy`, {
        key: server.keys.administrator,
        body: { bundle_id: bundle.body.id },
      });
      if (deploying.status !== 202) throw new Error(JSON.stringify(deploying.body));
      await firstOk(item.content_url, headers, (body) => body === `round ${round}`);
      return performance.now() - started;
    };
    await deployOnce(); // warms the package cache
    await baseline(); // and the page cache for the baseline
    const ours: number[] = [];
    const base: number[] = [];
    for (let i = 0; i < rounds; i++) {
      ours.push(await deployOnce());
      base.push(await baseline());
    }
    const o = median(ours);
    const b = median(base);
    verdict(
      `${name}: deploy of a small Flask API with a warm package cache to its first 200, median of ${rounds}`,
      {
        label: "deploy request, build, start, first 200 through the content URL",
        value: o,
      },
      { label: baselineLabel, value: b },
      { text: `within 1.2x + 300 ms = ${(1.2 * b + 300).toFixed(0)} ms`, met: o <= 1.2 * b + 300 },
    );
  } finally {
    await server.close();
  }
}

const hostVersion = (
  await run(HOST_PYTHON, ["-c", "import platform; print(platform.python_version())"])
).stdout.trim();
await measure(
  "local runner",
  {
    name: "bench-host",
    cluster_name: "Local",
    python: { version: hostVersion, path: HOST_PYTHON },
  },
  undefined,
  onHost,
  `the launcher started by hand with ${HOST_PYTHON}, to its first 200`,
);

const noDocker = engineAvailable() ?? debianImageUnavailable();
if (noDocker) {
  console.log(`Docker deploy benchmark skipped: ${noDocker}`);
} else {
  const debian = ensureDebianImage();
  const init = contentInitImage();
  await measure(
    "Docker runner",
    { name: debian.name, cluster_name: "Kubernetes", python: debian.python },
    (s) => {
      s.Docker.Enabled = true;
      s.Docker.InitContainerImage = init;
    },
    () => inDocker(debian.name, debian.python.path),
    "docker run of the same image with the app and the launcher mounted, to its first 200",
  );
}
