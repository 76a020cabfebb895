/**
 * Inspecting an image by probe (a container runs a script, the baseline) and by static scan
 * (its layers read from the engine's save stream, and from a docker-archive file with no
 * engine), median of several runs per image, each as a ratio to the probe.
 *
 *   npx tsx bench/inspect.ts [--runs 5]
 */
import { parseArgs } from "node:util";
import { engine } from "../src/inspect/engine.js";
import { probeImage, staticImage } from "../src/inspect/inspect.js";
import { engineAvailable, ensureImage, saveImage, type TestImage } from "../test/support/images.js";

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
for (const kind of ["full", "layered", "empty"] as TestImage[]) {
  const image = ensureImage(kind);
  const archive = saveImage(kind);
  const options = { pathLookups: true };
  const probe = await median(() => probeImage(docker, image, options));
  const scan = await median(() => staticImage({ docker, image }, options));
  const file = await median(() => staticImage({ archive }, options));
  const size = (await docker.getImage(image).inspect()).Size / 1e6;
  console.log(
    `  ${image} (${size.toFixed(0)} MB): probe ${probe.toFixed(0)} ms; ` +
      `static from engine ${scan.toFixed(0)} ms (${(scan / probe).toFixed(2)}x probe); ` +
      `static from archive ${file.toFixed(0)} ms (${(file / probe).toFixed(2)}x probe)`,
  );
}
