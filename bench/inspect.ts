/**
 * Inspecting an image by probe (a container runs a script) and by static scan (its layers
 * are read from the engine's save stream), median of several runs per image, as a ratio.
 *
 *   npx tsx bench/inspect.ts [--runs 5]
 */
import { parseArgs } from "node:util";
import { engine } from "../src/inspect/engine.js";
import { probeImage, staticImage } from "../src/inspect/inspect.js";
import { engineAvailable, ensureImage, type TestImage } from "../test/support/images.js";

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
const runs = Number(values.runs);
const unavailable = engineAvailable();
if (unavailable) {
  console.log(`inspect benchmark skipped: ${unavailable}`);
  process.exit(0);
}
const docker = engine()!;

async function median(work: () => Promise<unknown>): Promise<number> {
  await work();
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    await work();
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

console.log(`slipway inspect, median of ${runs} runs per image`);
for (const kind of ["full", "empty"] as TestImage[]) {
  const image = ensureImage(kind);
  const probe = await median(() => probeImage(docker, image, { pathLookups: true }));
  const scan = await median(() => staticImage({ docker, image }, { pathLookups: true }));
  const size = (await docker.getImage(image).inspect()).Size / 1e6;
  console.log(
    `  ${image} (${size.toFixed(0)} MB): probe ${probe.toFixed(0)} ms, static ${scan.toFixed(0)} ms; static/probe ${(scan / probe).toFixed(2)}x`,
  );
}
