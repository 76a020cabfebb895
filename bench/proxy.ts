/**
 * Requests through Slipway's content URL against the same application's own port, in the same
 * run: throughput and p99 latency of a hello-world WSGI app (gunicorn, through Slipway's
 * launcher) at 50 concurrent connections, and the round trip of a WebSocket echo (an ASGI app
 * under uvicorn). Aim: at least 0.8x the direct throughput. A bare node:http proxy over kept
 * connections (as Slipway forwards, with no routing and no checks) to the same port is
 * measured too: what any proxy in Node costs on this machine, so what remains is Slipway's own.
 *
 *   npx tsx bench/proxy.ts [--seconds 10]
 */

import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { Agent, createServer, request } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs, promisify } from "node:util";
import pino from "pino";
import WebSocket from "ws";
import { activeRuns } from "../src/store/runs.js";
import { deployOnHostPython } from "../test/support/deploy.js";
import { startTestServer, type TestServer } from "../test/support/server.js";
import { median, verdict } from "./support.js";

const run = promisify(execFile);
const AUTOCANNON = fileURLToPath(new URL("../node_modules/.bin/autocannon", import.meta.url));
const { values } = parseArgs({ options: { seconds: { type: "string", default: "10" } } });
const seconds = Number(values.seconds);

if (!existsSync("/usr/lib/python3/dist-packages/gunicorn")) {
  console.log("proxy benchmark skipped: Debian's python3-gunicorn is not installed");
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
async function deployed(server: TestServer, name: string, mode: string, code: string) {
  const item = await deployOnHostPython(server, name, mode, code);
  const [run] = await activeRuns(server.server.store.db, item.guid);
  const endpoint = JSON.parse(run!.endpoint!) as { host: string; port: number };
  return { url: item.content_url, direct: `http://${endpoint.host}:${endpoint.port}/` };
}

/**
 * autocannon in a process of its own, so the load it makes does not share the server's loop.
 * This process's CPU time per request is measured too: what the proxy costs, whatever else
 * the machine is busy with (throughput on two shared cores moves with every other process).
 */
async function load(url: string, headers: Record<string, string>): Promise<LoadResult> {
  const args = ["-c", "50", "-d", String(seconds), "-j"];
  for (const [name, value] of Object.entries(headers)) args.push("-H", `${name}=${value}`);
  const before = process.cpuUsage();
  const { stdout } = await run(AUTOCANNON, [...args, url], { maxBuffer: 64 * 1024 * 1024 });
  const used = process.cpuUsage(before);
  const result = JSON.parse(stdout) as Omit<LoadResult, "cpuPerRequest">;
  return { ...result, cpuPerRequest: (used.user + used.system) / result.requests.total };
}

interface LoadResult {
  requests: { average: number; total: number };
  latency: { p99: number };
  non2xx: number;
  /** Microseconds of this process's CPU per request answered. */
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

// At the default log level, into a file as a log collector would take standard output: the
// request log is part of what each proxied request costs.
const logFile = path.join(await mkdtemp(path.join(tmpdir(), "slipway-bench-log-")), "log.json");
const server = await startTestServer(
  "sqlite",
  (s) => {
    s.Scheduler.IdleTimeout = 3600;
    s.Server.LogLevel = "info";
  },
  { serverOptions: { logDestination: pino.destination({ dest: logFile }) } },
);
try {
  const headers = { Authorization: `Key ${server.keys.administrator}` };
  const hello = await deployed(server, "bench-hello", "python-api", HELLO);
  await load(hello.url, headers); // warms both sides
  const through = await load(hello.url, headers);
  const direct = await load(hello.direct, {});
  const bare = await bareProxy(hello.direct);
  const floor = await load(bare.url, {}).finally(bare.close);
  verdict(
    `hello-world WSGI app (gunicorn via the launcher), 50 connections for ${seconds} s: requests per second`,
    {
      label: `through /content/{guid}/ (p99 ${through.latency.p99} ms)`,
      value: through.requests.average,
    },
    { label: `the app's own port (p99 ${direct.latency.p99} ms)`, value: direct.requests.average },
    { text: "at least 0.8x", met: through.requests.average >= 0.8 * direct.requests.average },
    "req/s",
  );
  verdict(
    "the same load: Slipway's content path against a bare node:http proxy to the same port",
    { label: "through /content/{guid}/", value: through.requests.average },
    {
      label: `node:http proxy alone (p99 ${floor.latency.p99} ms)`,
      value: floor.requests.average,
    },
    { text: "at least 0.8x", met: through.requests.average >= 0.8 * floor.requests.average },
    "req/s",
  );
  verdict(
    "the same loads: CPU time of the proxying process per request (lower is better)",
    { label: "through /content/{guid}/", value: through.cpuPerRequest },
    { label: "node:http proxy alone", value: floor.cpuPerRequest },
    { text: "reported", met: true },
    "µs",
  );
  const socket = await deployed(server, "bench-echo", "python-fastapi", ECHO);
  const viaProxy = await echo(socket.url, headers);
  const straight = await echo(socket.direct, {});
  verdict(
    "WebSocket echo (ASGI app under uvicorn), median round trip of 200 messages",
    { label: "through /content/{guid}/", value: viaProxy },
    { label: "the app's own port", value: straight },
    { text: "reported", met: true },
  );
} finally {
  await server.close();
}
