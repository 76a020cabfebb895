/**
 * Requests through Slipway's content URL against the same application's own port, in the same
 * run: throughput and p99 latency of a hello-world WSGI app (gunicorn, through Slipway's
 * launcher) at 50 concurrent connections, and the round trip of a WebSocket echo (an ASGI app
 * under uvicorn). Aim: at least 0.8x the direct throughput. A bare node:http proxy over kept
 * connections (as Slipway forwards, with no routing and no checks) to the same port is
 * measured too: what any proxy in Node costs on this machine, so what remains is Slipway's own.
 *
 * The content runs one process (max_processes 1), the one process the direct load reaches, so
 * the ratio is the proxy's cost alone; the same app at Slipway's default of up to three
 * processes is reported beside it. The loads take turns in short rounds, each round in another
 * order, and the ratio is the median of the rounds' ratios: a shared machine's speed drifts
 * within a run by more than the proxy costs, and a ratio of two loads minutes apart measured
 * the drift.
 *
 * The server is the built one (`tsc -p tsconfig.build.json`, which the bench runs first) in
 * a process of its own, as `npm start` runs it, and the requests carry a viewer's key.
 *
 *   npx tsx bench/proxy.ts [--rounds 5] [--seconds 4]
 */

import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile } from "node:fs/promises";
import { Agent, createServer, request } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import WebSocket from "ws";
import { loadConfiguration } from "../src/config/settings.js";
import { openStore, type Store } from "../src/store/database.js";
import { runCli } from "../test/support/cli.js";
import { appAddress, deployOnHostPython } from "../test/support/deploy.js";
import { type ServerProcess, startServerProcess } from "../test/support/server-process.js";
import { median, verdict } from "./support.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const TSC = `${ROOT}node_modules/.bin/tsc`;
const { values } = parseArgs({
  options: { rounds: { type: "string", default: "5" }, seconds: { type: "string", default: "4" } },
});
const rounds = Number(values.rounds);
const seconds = Number(values.seconds);

const missing = [
  ["python3-gunicorn", "/usr/lib/python3/dist-packages/gunicorn"],
  ["wrk", "/usr/bin/wrk"],
].filter(([, file]) => !existsSync(file!));
if (missing.length > 0) {
  console.log(
    `proxy benchmark skipped: it needs Debian's ${missing.map(([name]) => name).join(" and ")}`,
  );
  process.exit(0);
}

const HELLO =
  'def app(environ, start_response):\n    start_response("200 OK", [("Content-Type", "text/plain")])\n    return [b"hello"]\n';
const ECHO = `async def app(scope, receive, send):
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        while True:
            message = await receive()
            if message["type"] != "websocket.receive":
                return
            await send({"type": "websocket.send", "text": message.get("text")})
    else:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"echo"})
`;

/** A deployed app on the host's own Python (gunicorn and uvicorn come from Debian). */
async function deployed(
  server: ServerProcess,
  store: Store,
  name: string,
  mode: string,
  code: string,
  settings: Record<string, unknown> = {},
) {
  const item = await deployOnHostPython(server.deployTarget, name, mode, code, settings);
  return { url: item.content_url, direct: `http://${await appAddress(store.db, item.guid)}/` };
}

/** Microseconds of CPU a process has used, user and system, from /proc. */
async function cpuOf(pid: number): Promise<number> {
  const fields = (await readFile(`/proc/${pid}/stat`, "utf8")).split(") ")[1]!.split(" ");
  // utime and stime, in clock ticks of 10 ms (Linux's USER_HZ).
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

/**
 * wrk (Debian's) in a process of its own, one thread: a load generator in C that spends about
 * 40 µs of CPU per request here, where autocannon spends about 115, as much as the proxy
 * itself. On two cores the generator's CPU is taken from the proxy and the application, which
 * a client on another machine would not take. The proxying process's CPU time per request
 * (`cpu`) is measured too: what the proxy costs, whatever else the machine is busy with.
 */
async function load(
  url: string,
  headers: Record<string, string>,
  cpu: () => Promise<number>,
): Promise<LoadResult> {
  const args = ["-t1", "-c50", `-d${seconds}s`, "--latency"];
  for (const [name, value] of Object.entries(headers)) args.push("-H", `${name}: ${value}`);
  const before = await cpu();
  const { stdout } = await run("wrk", [...args, url]);
  const used = (await cpu()) - before;
  const read = (pattern: RegExp) => {
    const found = pattern.exec(stdout);
    if (!found) throw new Error(`wrk printed no ${pattern.source}:\n${stdout}`);
    return found;
  };
  const total = Number(read(/(\d+) requests in/)[1]);
  const [, p99, unit] = read(/^\s*99%\s+([\d.]+)(us|ms|s) *$/m);
  return {
    rate: Number(read(/Requests\/sec:\s+([\d.]+)/)[1]),
    p99: Number(p99) * { us: 0.001, ms: 1, s: 1000 }[unit as "us" | "ms" | "s"],
    failed: Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0),
    cpuPerRequest: used / total,
  };
}

/** The machine's CPU ticks so far, all of them and those the hypervisor gave to other guests. */
async function hostTicks(): Promise<{ all: number; stolen: number }> {
  const ticks = (await readFile("/proc/stat", "utf8")).split("\n")[0]!.split(/\s+/).slice(1, 9);
  const all = ticks.reduce((sum, tick) => sum + Number(tick), 0);
  return { all, stolen: Number(ticks[7]) };
}

interface LoadResult {
  /** Requests answered per second. */
  rate: number;
  /** Milliseconds. */
  p99: number;
  /** Answers that were not 2xx or 3xx. */
  failed: number;
  /** Microseconds of the proxying process's CPU per request answered. */
  cpuPerRequest: number;
}

/** A proxy with nothing but node:http in it, to `target`; closed by the caller. */
async function bareProxy(target: string) {
  const { hostname, port } = new URL(target);
  const agent = new Agent({ keepAlive: true, timeout: 1000 });
  const server = createServer((incoming, outgoing) => {
    const upstream = request(
      {
        agent,
        host: hostname,
        port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    upstream.on("error", () => outgoing.destroy());
    incoming.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port: own } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${own}/`,
    close: () => {
      agent.destroy();
      server.closeAllConnections();
      server.close();
    },
  };
}

/** Median round trip of a WebSocket message, after the connection is open. */
async function echo(url: string, headers: Record<string, string>, rounds = 200): Promise<number> {
  const socket = new WebSocket(url.replace(/^http/, "ws"), { headers });
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    const reply = new Promise((resolve) => socket.once("message", resolve));
    socket.send(`ping ${i}`);
    await reply;
    times.push(performance.now() - started);
  }
  socket.close();
  return median(times);
}

// The server as `npm start` runs it: built, in a process of its own, at the default log
// level, into a file as a log collector would take standard output (the request log is part
// of what each proxied request costs).
console.log("building the server (tsc -p tsconfig.build.json)");
await run(TSC, ["-p", "tsconfig.build.json"], { cwd: ROOT });
const logFile = path.join(await mkdtemp(path.join(tmpdir(), "slipway-bench-log-")), "log.json");
const server = await startServerProcess("[Scheduler]\nIdleTimeout = 3600\n", undefined, {
  built: true,
  logLevel: "info",
  logFile,
});
const store = await openStore(loadConfiguration({ file: server.configFile }).settings);
try {
  // A viewer's key, as the people an application is for send: an administrator's or the
  // owner's skips the read of the visitor's permission.
  const viewer = await runCli([
    "users",
    "add",
    "vic",
    "--role",
    "viewer",
    "--config",
    server.configFile,
  ]);
  if (viewer.code !== 0) throw new Error(viewer.stderr);
  const headers = { Authorization: `Key ${viewer.stdout.trim()}` };
  const proxying = () => cpuOf(server.pid);
  const here = async () => {
    const { user, system } = process.cpuUsage();
    return user + system;
  };
  const hello = await deployed(server, store, "bench-hello", "python-api", HELLO, {
    max_processes: 1,
  });
  const scaled = await deployed(server, store, "bench-hello-scaled", "python-api", HELLO);
  const bare = await bareProxy(hello.direct);
  const loads = {
    through: () => load(hello.url, headers, proxying),
    direct: () => load(hello.direct, {}, here),
    bare: () => load(bare.url, {}, here),
    scaled: () => load(scaled.url, headers, proxying),
  };
  const names = Object.keys(loads) as (keyof typeof loads)[];
  for (const name of names) await loads[name](); // warms every side
  const results = Object.fromEntries(names.map((name) => [name, [] as LoadResult[]]));
  const ticksBefore = await hostTicks();
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(round + i) % names.length]!;
      results[name]!.push(await loads[name]());
    }
  }
  bare.close();
  const ticksAfter = await hostTicks();
  const rate = (name: string, i: number) => results[name]![i]!.rate;
  const ratio = (name: string, base: string) =>
    median(results[name]!.map((_, i) => rate(name, i) / rate(base, i)));
  const summary = (name: string) => {
    const runs = results[name]!;
    return {
      rate: median(runs.map((r) => r.rate)),
      p99: median(runs.map((r) => r.p99)),
      cpu: median(runs.map((r) => r.cpuPerRequest)),
      failed: runs.reduce((sum, r) => sum + r.failed, 0),
    };
  };
  const [through, direct, floor, wide] = [
    summary("through"),
    summary("direct"),
    summary("bare"),
    summary("scaled"),
  ];
  if (through.failed + wide.failed > 0) throw new Error("the proxy answered with errors");
  const each = `${rounds} rounds of ${seconds} s, medians`;
  const perRound = (name: string, base: string) => {
    const value = ratio(name, base);
    return { text: `${value.toFixed(2)}x as the median of the rounds' ratios`, value };
  };
  const overDirect = perRound("through", "direct");
  verdict(
    `hello-world WSGI app (gunicorn via the launcher, one process), 50 connections, ${each}: requests per second`,
    { label: `through /content/{guid}/ (p99 ${through.p99} ms)`, value: through.rate },
    { label: `the app's own port (p99 ${direct.p99} ms)`, value: direct.rate },
    { text: `at least 0.8x; ${overDirect.text}`, met: overDirect.value >= 0.8 },
    "req/s",
  );
  const overBare = perRound("through", "bare");
  verdict(
    "the same load: Slipway's content path against a bare node:http proxy to the same port",
    { label: "through /content/{guid}/", value: through.rate },
    { label: `node:http proxy alone (p99 ${floor.p99} ms)`, value: floor.rate },
    { text: `reported; ${overBare.text}`, met: true },
    "req/s",
  );
  verdict(
    "the same loads: CPU time of the proxying process per request (lower is better)",
    { label: "through /content/{guid}/", value: through.cpu },
    { label: "node:http proxy alone", value: floor.cpu },
    { text: "reported", met: true },
    "µs",
  );
  // Two cores carry the load generator, the proxy and the application: a machine that has less
  // to give (stolen by the host, or busy with other work) slows a proxy before the application
  // alone, so what a proxy with no checks reaches over direct says what this run could show.
  const stolen = ticksAfter.stolen - ticksBefore.stolen;
  console.log(
    `the machine during the loads: ${((100 * stolen) / (ticksAfter.all - ticksBefore.all)).toFixed(1)}% of its CPU stolen by the host; the bare proxy over direct: ${perRound("bare", "direct").text}`,
  );
  const scaledOverDirect = perRound("scaled", "direct");
  verdict(
    "the same app at Slipway's default of up to 3 processes, against the one process's own port",
    { label: `through /content/{guid}/ (p99 ${wide.p99} ms)`, value: wide.rate },
    { label: "the app's own port", value: direct.rate },
    { text: `reported; ${scaledOverDirect.text}`, met: true },
    "req/s",
  );
  const socket = await deployed(server, store, "bench-echo", "python-fastapi", ECHO);
  const viaProxy = await echo(socket.url, headers);
  const straight = await echo(socket.direct, {});
  verdict(
    "WebSocket echo (ASGI app under uvicorn), median round trip of 200 messages",
    { label: "through /content/{guid}/", value: viaProxy },
    { label: "the app's own port", value: straight },
    { text: "reported", met: true },
  );
} finally {
  await store.close();
  await server.stop();
}
