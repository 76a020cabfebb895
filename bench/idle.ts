/**
 * The first request to an application that was stopped for being idle, against a request to
 * the same application while it runs, in the same run (local runner, a small Flask API): what
 * a visitor waits for when content wakes up. Reported, with no aim in the issue beyond it.
 *
 *   npx tsx bench/idle.ts [--rounds 5]
 */
import { existsSync } from "node:fs";
import { parseArgs } from "node:util";
import { activeRuns } from "../src/store/runs.js";
import { deployOnHostPython } from "../test/support/deploy.js";
import { startTestServer } from "../test/support/server.js";
import { median, verdict } from "./support.js";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "5" } } });
const rounds = Number(values.rounds);

if (!existsSync("/usr/lib/python3/dist-packages/flask")) {
  console.log("idle benchmark skipped: Debian's python3-flask is not installed");
  process.exit(0);
}

const server = await startTestServer("sqlite", (s) => {
  s.Scheduler.IdleTimeout = 1;
});
try {
  const item = await deployOnHostPython(
    server,
    "bench-idle",
    "python-api",
    'from flask import Flask\napp = Flask(__name__)\n@app.get("/")\ndef hi():\n    return "ok"\n',
  );
  const headers = { Authorization: `Key ${server.keys.administrator}` };
  const timed = async () => {
    const started = performance.now();
    const response = await fetch(item.content_url, { headers });
    if (response.status !== 200) throw new Error(`answered ${response.status}`);
    await response.text();
    return performance.now() - started;
  };
  const running = async () =>
    (await activeRuns(server.server.store.db, item.guid)).some((r) => r.kind === "run");
  const cold: number[] = [];
  const warm: number[] = [];
  for (let i = 0; i < rounds; i++) {
    while (await running()) await new Promise((resolve) => setTimeout(resolve, 50));
    cold.push(await timed());
    for (let j = 0; j < 10; j++) warm.push(await timed());
  }
  const c = median(cold);
  const w = median(warm);
  verdict(
    `first request to an idle-stopped Flask API against one to it running, median of ${rounds} wake-ups`,
    { label: "first request after the idle stop (the process starts on demand)", value: c },
    { label: "a request while it runs", value: w },
    { text: "reported", met: true },
  );
} finally {
  await server.close();
}
