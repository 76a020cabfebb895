/**
 * Time from a deploy request to the first successful response of a small Python API, with a
 * warm package cache, beside starting the same app directly with its interpreter in the same
 * run. Aim: within 1.5x plus 300 ms.
 *
 *   npx tsx bench/deploy.ts [--rounds 5]
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { tarGz } from "../test/support/bundles.js";
import { startTestServer } from "../test/support/server.js";

const PYTHON = "/usr/bin/python3.11";
const APP =
  'from flask import Flask\napp = Flask(__name__)\n@app.get("/")\ndef hi():\n    return "ok"\n';
const { values } = parseArgs({ options: { rounds: { type: "string", default: "5" } } });
const rounds = Number(values.rounds);

if (!existsSync("/usr/lib/python3/dist-packages/flask")) {
  console.log("deploy benchmark skipped: Debian's python3-flask is not installed");
  process.exit(0);
}

async function firstOk(url: string, headers: Record<string, string> = {}): Promise<void> {
  for (;;) {
    const ok = await fetch(url, { headers }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await sleep(10);
  }
}

async function direct(): Promise<number> {
  const dir = await mkdtemp(path.join(tmpdir(), "slipway-bench-direct-"));
  await writeFile(path.join(dir, "app.py"), APP);
  const port = await new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
  const started = performance.now();
  const launcher = new URL("../runtime/python/slipway_launch.py", import.meta.url).pathname;
  const child = spawn(PYTHON, [launcher, "wsgi", "app:app", String(port)], {
    cwd: dir,
    stdio: "ignore",
  });
  await firstOk(`http://127.0.0.1:${port}/`);
  const elapsed = performance.now() - started;
  child.kill();
  return elapsed;
}

const server = await startTestServer("sqlite", (s) => {
  s.Python.SystemSitePackages = true;
  s.Python.FindLinks = [tmpdir()];
});
try {
  await server.call("POST", "/__api__/v1/environments", {
    body: {
      name: "bench/python:3.11",
      python: { installations: [{ version: "3.11.2", path: PYTHON }] },
    },
  });
  const content = (
    await server.call("POST", "/__api__/v1/content", { body: { name: "bench-api" } })
  ).body;
  const archive = tarGz([
    {
      path: "manifest.json",
      content: JSON.stringify({
        version: 1,
        metadata: { appmode: "python-api", entrypoint: "app:app" },
        python: { version: "3.11.2" },
      }),
    },
    { path: "app.py", content: APP },
    { path: "requirements.txt", content: "flask\n" },
  ]);
  const headers = { Authorization: `Key ${server.keys.administrator}` };
  const upload = async () => {
    const r = await fetch(`${server.url}/__api__/v1/content/${content.guid}/bundles`, {
      method: "POST",
      headers,
      body: archive,
    });
    return ((await r.json()) as { id: string }).id;
  };
  const deployOnce = async () => {
    const bundle = await upload();
    const started = performance.now();
    await server.call("POST", `/__api__/v1/content/${content.guid}/deploy`, {
      body: { bundle_id: bundle },
    });
    await firstOk(content.content_url, headers);
    return performance.now() - started;
  };
  await deployOnce(); // warms the package cache
  const ours: number[] = [];
  const base: number[] = [];
  for (let i = 0; i < rounds; i++) {
    ours.push(await deployOnce());
    base.push(await direct());
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const o = median(ours);
  const b = median(base);
  console.log(`deploy of a small Flask API with a warm package cache, median of ${rounds}`);
  console.log(
    `  slipway : ${o.toFixed(0)} ms from the deploy request to the first 200 through the content URL`,
  );
  console.log(
    `  baseline: ${b.toFixed(0)} ms from starting the same app with ${PYTHON} to its first 200`,
  );
  console.log(
    `  ratio   : ${(o / b).toFixed(2)}x; aim: within 1.5x + 300 ms = ${(1.5 * b + 300).toFixed(0)} ms (${o <= 1.5 * b + 300 ? "met" : "not met"})`,
  );
} finally {
  await server.close();
}
