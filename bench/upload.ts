/**
 * Upload and unpack of a 200 MB bundle (a static site with one incompressible data file)
 * through a Slipway server in its own process, beside `tar -xzf` of the same archive in the
 * same run, with the server's peak resident memory (VmHWM) during the uploads. The upload is
 * timed from its first byte to the answer, and includes what tar does not do: HTTP, the MD5
 * for X-Content-Checksum, and keeping the archive. Aim: at least 0.7x tar's throughput.
 *
 *   npx tsx bench/upload.ts [--megabytes 200] [--rounds 3]
 */
import { execFile } from "node:child_process";
import { mkdir, rm, stat } from "node:fs/promises";
import path from "node:path";
import { parseArgs, promisify } from "node:util";
import { bundleScratch, staticBundle, uploadFile } from "../test/support/big-bundles.js";
import { startServerProcess } from "../test/support/server-process.js";

const run = promisify(execFile);
const { values } = parseArgs({
  options: {
    megabytes: { type: "string", default: "200" },
    rounds: { type: "string", default: "3" },
  },
});
const bytes = Number(values.megabytes) * 1000 * 1000;
const rounds = Number(values.rounds);

const scratch = await bundleScratch();
const server = await startServerProcess("[Applications]\nHostEnvironment = false\n");
try {
  const bundle = await staticBundle(scratch, bytes, "gnu-tar");
  const archiveBytes = (await stat(bundle.archive)).size;
  const { guid } = (await server.call("POST", "/v1/content", { name: "bench-upload" })).body;
  const idle = await server.memory();

  const ours: number[] = [];
  const base: number[] = [];
  let peak = 0;
  for (let i = 0; i < rounds; i++) {
    await server.resetPeak();
    let started = performance.now();
    const answer = await uploadFile(
      server.url,
      server.key,
      guid,
      bundle.archive,
      "raw",
      archiveBytes,
    );
    ours.push(performance.now() - started);
    if (answer.status !== 200) throw new Error(`upload failed: ${JSON.stringify(answer.body)}`);
    peak = Math.max(peak, await server.peakMemory());

    const out = path.join(scratch, `tar-${i}`);
    await mkdir(out);
    started = performance.now();
    await run("tar", ["-xzf", bundle.archive, "-C", out]);
    base.push(performance.now() - started);
    await rm(out, { recursive: true });
  }

  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const o = median(ours);
  const b = median(base);
  const mbps = (ms: number) => (archiveBytes / 1e6 / (ms / 1000)).toFixed(0);
  const ratio = b / o;
  console.log(
    `upload and unpack of a ${(archiveBytes / 1e6).toFixed(0)} MB bundle (${bytes / 1e6} MB data file), median of ${rounds}`,
  );
  console.log(
    `  slipway : ${o.toFixed(0)} ms, ${mbps(o)} MB/s (HTTP upload, MD5, archive kept, unpacked)`,
  );
  console.log(`  baseline: ${b.toFixed(0)} ms, ${mbps(b)} MB/s (tar -xzf of the same file)`);
  console.log(
    `  ratio   : ${ratio.toFixed(2)}x tar's throughput; aim: at least 0.70x (${ratio >= 0.7 ? "met" : "not met"})`,
  );
  console.log(
    `  memory  : server peak ${(peak / 2 ** 20).toFixed(0)} MiB during uploads, ${(idle / 2 ** 20).toFixed(0)} MiB idle before them`,
  );
} finally {
  await server.stop();
  await rm(path.dirname(server.dataDir), { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
}
