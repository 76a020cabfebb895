/**
 * GET /__api__/v1/environments with 1,000 environments: throughput and p99 latency of Slipway
 * beside a bare Node HTTP server answering the same bytes, each in its own process, loaded by
 * autocannon on loopback from this one.
 *
 *   npx tsx bench/environments-list.ts [--seconds 5] [--connections 10]
 */
import { type ChildProcess, fork } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import { defaults } from "../src/config/settings.js";
import { EnvironmentService } from "../src/environments/service.js";
import { startServer } from "../src/server/start.js";
import { createUser } from "../src/users/accounts.js";

const ENVIRONMENTS = 1000;
const ROUNDS = 3;

async function serveSlipway(): Promise<void> {
  const settings = defaults();
  settings.Server.DataDir = mkdtempSync(path.join(tmpdir(), "slipway-bench-"));
  settings.Server.Address = "127.0.0.1:0";
  settings.Server.LogLevel = "warn";
  settings.Server.BootstrapAdministrator = false;
  const server = await startServer(settings);
  const { apiKey } = await createUser(server.store, "bench", "administrator");
  const service = new EnvironmentService(server.store);
  for (let i = 0; i < ENVIRONMENTS; i++) {
    await service.create({
      name: `ghcr.io/bench/content:r4.${i % 5}.${i % 3}-py3.${8 + (i % 5)}.${i % 7}-${i}`,
      title: `Environment ${i}`,
      description: "R and Python for benchmarks",
      python: {
        installations: [
          {
            version: `3.${8 + (i % 5)}.${i % 7}`,
            path: `/opt/python/3.${8 + (i % 5)}.${i % 7}/bin/python3`,
          },
        ],
      },
      r: {
        installations: [
          { version: `4.${i % 5}.${i % 3}`, path: `/opt/R/4.${i % 5}.${i % 3}/bin/R` },
        ],
      },
      quarto: { installations: [{ version: "1.4.550", path: "/opt/quarto/1.4.550/bin/quarto" }] },
    });
  }
  process.send?.({ url: server.url, apiKey });
}

function serveBaseline(body: string): void {
  const bytes = Buffer.from(body);
  const server = createServer((_, response) => {
    response.writeHead(200, {
      "content-type": "application/json; charset=utf-8",
      "content-length": bytes.length,
    });
    response.end(bytes);
  });
  server.listen(0, "127.0.0.1", () => {
    const address = server.address();
    if (typeof address === "object" && address)
      process.send?.({ url: `http://127.0.0.1:${address.port}` });
  });
}

function spawnRole(
  role: string,
  input?: string,
): Promise<{ child: ChildProcess; url: string; apiKey?: string }> {
  const child = fork(new URL(import.meta.url).pathname, ["--role", role], {
    execArgv: ["--import", "tsx"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  if (input) child.send({ body: input });
  return new Promise((resolve, reject) => {
    child.once("message", (m: { url: string; apiKey?: string }) => resolve({ child, ...m }));
    child.once("exit", (code) => reject(new Error(`${role} server exited with ${code}`)));
  });
}

type Load = { rps: number; p99: number };

function median(loads: Load[]): Load {
  const middle = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  return { rps: middle(loads.map((l) => l.rps)), p99: middle(loads.map((l) => l.p99)) };
}

async function load(
  url: string,
  headers: Record<string, string>,
  seconds: number,
  connections: number,
): Promise<Load> {
  const result = await autocannon({ url, headers, duration: seconds, connections });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rps: result.requests.average, p99: result.latency.p99 };
}

/** Time of the first list after a change, which rebuilds the cached catalog. */
async function coldListMs(target: string, headers: Record<string, string>, guid: string) {
  const times: number[] = [];
  for (let i = 0; i < 5; i++) {
    await fetch(`${target}/${guid}`, {
      method: "PUT",
      headers: { ...headers, "Content-Type": "application/json" },
      body: JSON.stringify({ title: `changed ${i}` }),
    });
    const started = performance.now();
    await (await fetch(target, { headers })).arrayBuffer();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[2]!;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      role: { type: "string" },
      seconds: { type: "string", default: "5" },
      connections: { type: "string", default: "10" },
    },
  });
  if (values.role === "slipway") return serveSlipway();
  if (values.role === "baseline") {
    process.once("message", (m: { body: string }) => serveBaseline(m.body));
    return;
  }

  const seconds = Number(values.seconds);
  const connections = Number(values.connections);
  const slipway = await spawnRole("slipway");
  const headers = { Authorization: `Key ${slipway.apiKey}` };
  const target = `${slipway.url}/__api__/v1/environments`;
  const body = await (await fetch(target, { headers })).text();
  const baseline = await spawnRole("baseline", body);
  try {
    await load(target, headers, 2, connections);
    await load(baseline.url, {}, 2, connections);
    // Alternating rounds, then medians, so a busy moment on the machine hurts both sides alike.
    const rounds: Array<{ ours: Load; base: Load }> = [];
    for (let i = 0; i < ROUNDS; i++) {
      rounds.push({
        ours: await load(target, headers, seconds, connections),
        base: await load(baseline.url, {}, seconds, connections),
      });
    }
    const ours = median(rounds.map((r) => r.ours));
    const base = median(rounds.map((r) => r.base));
    console.log(
      `GET /__api__/v1/environments, ${ENVIRONMENTS} environments, ${(body.length / 1024).toFixed(0)} KiB per response, ${connections} connections, median of ${ROUNDS} rounds of ${seconds} s`,
    );
    console.log(`  slipway : ${ours.rps.toFixed(0)} req/s, p99 ${ours.p99} ms`);
    console.log(
      `  baseline: ${base.rps.toFixed(0)} req/s, p99 ${base.p99} ms (bare node:http, same bytes)`,
    );
    const cold = await coldListMs(target, headers, JSON.parse(body)[0].guid);
    console.log(
      `  after a catalog change: the first list takes ${cold.toFixed(1)} ms (median of 5); later ones are served from cached bytes`,
    );
    console.log(
      `  ratio   : throughput ${(ours.rps / base.rps).toFixed(2)}x of baseline (aim >= 0.5), p99 ${(ours.p99 / Math.max(base.p99, 1)).toFixed(2)}x`,
    );
  } finally {
    slipway.child.kill();
    baseline.child.kill();
  }
}

await main();
