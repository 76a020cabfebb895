/** Runs every benchmark in this folder, one after another. */
import { execFileSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const dir = fileURLToPath(new URL(".", import.meta.url));
for (const file of readdirSync(dir)
  .filter((f) => f.endsWith(".ts") && f !== "run.ts")
  .sort()) {
  console.log(`\n== ${file}`);
  execFileSync(process.execPath, ["--import", "tsx", `${dir}${file}`, ...process.argv.slice(2)], {
    stdio: "inherit",
  });
}
