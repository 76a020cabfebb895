/**
 * A hello-world WSGI app served by Slipway's Python launcher (which picks gunicorn with
 * threaded workers when the environment has it) against Debian's gunicorn serving it directly
 * with its defaults, in the same run: throughput at 50 concurrent connections. Aim: ≥ 0.8x.
 *
 *   npx tsx bench/launcher.ts [--seconds 10]
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import { HOST_PYTHON } from "../test/support/images.js";
import { firstOk, freePort, verdict } from "./support.js";

const run = promisify(execFile);
const AUTOCANNON = fileURLToPath(new URL("../node_modules/.bin/autocannon", import.meta.url));
const LAUNCHER = fileURLToPath(new URL("../runtime/python/slipway_launch.py", import.meta.url));
const { values } = parseArgs({ options: { seconds: { type: "string", default: "10" } } });

if (!existsSync("/usr/lib/python3/dist-packages/gunicorn")) {
  console.log("launcher benchmark skipped: Debian's python3-gunicorn is not installed");
  process.exit(0);
}

const dir = await mkdtemp(path.join(tmpdir(), "slipway-bench-launcher-"));
await writeFile(
  path.join(dir, "app.py"),
  'def app(environ, start_response):\n    start_response("200 OK", [("Content-Type", "text/plain")])\n    return [b"hello"]\n',
);

/** Requests per second of the server `start` makes on a free port, then stopped. */
async function throughput(start: (port: number) => ChildProcess): Promise<number> {
  const port = await freePort();
  const child = start(port);
  try {
    const url = `http://127.0.0.1:${port}/`;
    await firstOk(url);
    const args = ["-c", "50", "-d", values.seconds!, "-j", url];
    await run(AUTOCANNON, [...args.slice(0, 2), "-d", "2", "-j", url]); // warms it
    const { stdout } = await run(AUTOCANNON, args, { maxBuffer: 64 * 1024 * 1024 });
    return (JSON.parse(stdout) as { requests: { average: number } }).requests.average;
  } finally {
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill();
    await exited;
  }
}

const viaLauncher = await throughput((port) =>
  spawn(HOST_PYTHON, [LAUNCHER, "wsgi", "app:app"], {
    cwd: dir,
    stdio: "ignore",
    env: { ...process.env, SLIPWAY_HOST: "127.0.0.1", SLIPWAY_PORT_HTTP: String(port) },
  }),
);
const direct = await throughput((port) =>
  spawn(HOST_PYTHON, ["-m", "gunicorn", "--bind", `127.0.0.1:${port}`, "app:app"], {
    cwd: dir,
    stdio: "ignore",
  }),
);
verdict(
  `hello-world WSGI app, 50 connections for ${values.seconds} s: requests per second`,
  { label: "Slipway's launcher (gunicorn, threaded workers)", value: viaLauncher },
  { label: "Debian's gunicorn with its defaults", value: direct },
  { text: "at least 0.8x", met: viaLauncher >= 0.8 * direct },
  "req/s",
);
