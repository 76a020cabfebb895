/**
 * Reconciling a 1,000-entry declarative environments file: the first apply and a no-change
 * re-apply (which must write nothing), beside a baseline that inserts the same rows directly
 * in one transaction, on the embedded SQLite store.
 *
 *   npx tsx bench/reconcile.ts [--entries 1000]
 */
import { randomUUID } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { pino } from "pino";
import { defaults } from "../src/config/settings.js";
import { DeclarativeFile } from "../src/environments/declarative.js";
import { fieldsWithDefaults } from "../src/environments/model.js";
import { openStore } from "../src/store/database.js";
import { catalogRevision, insertEnvironment } from "../src/store/environments.js";

const { values } = parseArgs({ options: { entries: { type: "string", default: "1000" } } });
const entries = Number(values.entries);

const dir = await mkdtemp(path.join(tmpdir(), "slipway-bench-reconcile-"));
const file = path.join(dir, "environments.yaml");
const environments = Array.from({ length: entries }, (_, i) => ({
  name: `ghcr.io/bench/content:${i}`,
  title: `Environment ${i}`,
  python: {
    installations: [
      {
        version: `3.${8 + (i % 5)}.${i % 7}`,
        path: `/opt/python/3.${8 + (i % 5)}.${i % 7}/bin/python3`,
      },
    ],
  },
  r: {
    installations: [{ version: `4.${i % 5}.${i % 3}`, path: `/opt/R/4.${i % 5}.${i % 3}/bin/R` }],
  },
}));
await writeFile(
  file,
  environments
    .map(
      (e) =>
        `- name: ${e.name}\n  title: ${e.title}\n  python:\n    installations:\n      - {version: ${e.python.installations[0]!.version}, path: ${e.python.installations[0]!.path}}\n  r:\n    installations:\n      - {version: ${e.r.installations[0]!.version}, path: ${e.r.installations[0]!.path}}\n`,
    )
    .join(""),
);

async function freshStore(name: string) {
  const settings = defaults();
  settings.Server.DataDir = path.join(dir, name);
  return openStore(settings);
}

const time = async (work: () => Promise<unknown>) => {
  const started = performance.now();
  await work();
  return performance.now() - started;
};

const baselineStore = await freshStore("baseline");
const baseline = await time(() =>
  baselineStore.db.transaction().execute(async (trx) => {
    const now = new Date().toISOString();
    for (const e of environments)
      await insertEnvironment(trx, randomUUID(), fieldsWithDefaults(e, null), now);
  }),
);
await baselineStore.close();

const store = await freshStore("declarative");
const declarative = new DeclarativeFile(store, file, pino({ level: "silent" }));
const first = await time(() => declarative.sync());
const before = await catalogRevision(store.db);
// A touched file with the same entries: read, parsed and planned again, and nothing written.
await writeFile(file, "# touched\n", { flag: "a" });
const again = await time(() => declarative.sync());
const after = await catalogRevision(store.db);
const rows = await store.db.selectFrom("environments").select("guid").execute();
await store.close();

console.log(`reconcile of a ${entries}-entry declarative file (SQLite)`);
console.log(`  first apply    : ${first.toFixed(0)} ms (${rows.length} environments created)`);
console.log(`  no-change apply: ${again.toFixed(0)} ms, ${after - before} writes`);
console.log(
  `  baseline       : ${baseline.toFixed(0)} ms to insert the same rows directly in one transaction`,
);
console.log(
  `  ratio          : first apply ${(first / baseline).toFixed(2)}x, no-change apply ${(again / baseline).toFixed(2)}x of baseline`,
);
