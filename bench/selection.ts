/**
 * Selection over 10,000 generated environments with 1-3 installations per runtime: p50 and
 * p99 per decision, beside a baseline pass that only filters the list by matching strategy.
 *
 *   npx tsx bench/selection.ts [--environments 10000] [--decisions 200]
 */
import { parseArgs } from "node:util";
import { contentNeeds, parseManifest } from "../src/environments/manifest.js";
import { type SelectableEnvironment, selectEnvironment } from "../src/environments/selection.js";

const { values } = parseArgs({
  options: {
    environments: { type: "string", default: "10000" },
    decisions: { type: "string", default: "200" },
  },
});
const count = Number(values.environments);
const decisions = Number(values.decisions);

let seed = 42;
const random = (n: number) => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return seed % n;
};
const versions = (major: number, n: number) =>
  Array.from({ length: n }, (_, i) => `${major}.${random(13)}.${random(10) + i}`);
const list = (major: number, path: string) => ({
  installations: [...new Set(versions(major, 1 + random(3)))].map((version) => ({
    version,
    path: `${path}/${version}`,
  })),
});

const catalog: SelectableEnvironment[] = Array.from({ length: count }, (_, i) => ({
  guid: `00000000-0000-0000-0000-${String(i).padStart(12, "0")}`,
  name: `ghcr.io/bench/content:${i}`,
  title: `Environment ${i}`,
  matching: (["any", "any", "any", "exact", "none"] as const)[random(5)]!,
  created_time: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
  python: list(3, "/opt/python"),
  r: list(4, "/opt/R"),
  quarto: list(1, "/opt/quarto"),
}));

const manifests = Array.from({ length: 16 }, (_, i) =>
  contentNeeds(
    parseManifest({
      metadata: { appmode: i % 2 ? "quarto-static" : "python-api" },
      python: { version: `3.${random(13)}.${random(10)}` },
      ...(i % 2
        ? {
            platform: `4.${random(5)}.${random(3)}`,
            quarto: { version: `1.${random(13)}.2`, engines: ["knitr"] },
          }
        : {}),
    }),
  ),
);

function measure(run: (i: number) => void): { p50: number; p99: number } {
  for (let i = 0; i < 20; i++) run(i);
  const times: number[] = [];
  for (let i = 0; i < decisions; i++) {
    const started = performance.now();
    run(i);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { p50: times[Math.floor(decisions * 0.5)]!, p99: times[Math.floor(decisions * 0.99)]! };
}

/** A tenth of the catalog restricted to other publishers, as environment permissions make it. */
const restricted = new Set(catalog.filter((_, i) => i % 10 === 0).map((e) => e.guid));

let sink = 0;
const decide = (i: number, explain: boolean, notPermitted?: ReadonlySet<string>) => {
  try {
    const selection = selectEnvironment({
      needs: manifests[i % manifests.length]!,
      environments: catalog,
      notPermitted,
    });
    sink += explain ? selection.explanation.length : selection.environment ? 1 : 0;
  } catch {
    sink++;
  }
};
const select = measure((i) => decide(i, false));
const explained = measure((i) => decide(i, true));
const permitted = measure((i) => decide(i, false, restricted));
const baseline = measure(() => {
  sink += catalog.filter((e) => e.matching === "any").length;
});

const ms = (n: number) => `${n.toFixed(3)} ms`;
console.log(
  `selection over ${count} environments, ${decisions} decisions (checksum ${sink % 997})`,
);
console.log(`  select  : p50 ${ms(select.p50)}, p99 ${ms(select.p99)} (aim: p99 < 5 ms)`);
console.log(
  `  select with a tenth of the catalog not permitted: p50 ${ms(permitted.p50)}, p99 ${ms(permitted.p99)} (${(permitted.p50 / select.p50).toFixed(2)}x of select)`,
);
console.log(
  `  select and write the explanation of every environment: p50 ${ms(explained.p50)}, p99 ${ms(explained.p99)}`,
);
console.log(
  `  baseline: p50 ${ms(baseline.p50)}, p99 ${ms(baseline.p99)} (one pass filtering by matching)`,
);
console.log(
  `  ratio   : p50 ${(select.p50 / baseline.p50).toFixed(1)}x, p99 ${(select.p99 / baseline.p99).toFixed(1)}x of baseline`,
);
