/**
 * The real `slipway server` started on a Posit Connect configuration file: it listens, and its
 * log carries one warning naming every Connect setting it ignores.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dir = mkdtempSync(path.join(tmpdir(), "slipway-connect-start-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("starts on a Connect file and warns once about the Connect settings it ignores", async () => {
  // The docs' file, on SQLite and a loopback port so that it can start here.
  const connect = readFileSync(`${root}test/fixtures/gcfg/rstudio-connect.gcfg`, "utf8")
    .replace("Provider = Postgres", "Provider = SQLite")
    .replace("DataDir = /var/lib/rstudio-connect", `DataDir = ${dir}/data`)
    .replace(/^ConfigFilePath = .*$/m, "")
    .replace(/^ClusterDefinition = .*$/m, "")
    // No cluster here: the Kubernetes runner is started on the stand-in in test/e2e instead.
    .replace("[Kubernetes]\nEnabled = true", "[Kubernetes]\nEnabled = false")
    .replace("[HTTP]", "[Server]\nAddress = 127.0.0.1:0\n[HTTP]");
  const config = path.join(dir, "rstudio-connect.gcfg");
  writeFileSync(config, connect);

  const child = spawn(
    `${root}node_modules/.bin/tsx`,
    [`${root}src/cli/main.ts`, "server", "--config", config],
    { cwd: dir, env: { ...process.env, SLIPWAY_SERVER_LOGLEVEL: "info" } },
  );
  const lines: Array<{ level: number; msg: string; url?: string }> = [];
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let buffered = "";
      child.stdout.on("data", (chunk: Buffer) => {
        buffered += chunk.toString();
        const complete = buffered.split("\n");
        buffered = complete.pop()!;
        for (const line of complete) {
          if (!line.startsWith("{")) continue;
          const entry = JSON.parse(line);
          lines.push(entry);
          if (entry.msg === "Slipway is listening") resolve(entry.url);
        }
      });
      child.once("exit", (code) => reject(new Error(`server exited with ${code}: ${stderr}`)));
    });
    expect((await fetch(`${url}/__ping__`)).status).toBe(200);

    const warnings = lines.filter((l) => l.level === 40 && l.msg.includes("Posit Connect"));
    expect(warnings).toHaveLength(1);
    for (const setting of [
      "[Chronicle] Enabled",
      "[Licensing] LicenseType",
      '[RPackageRepository "CRAN"] URL',
      "[Launcher] Enabled",
      "[Authentication] Provider",
      "[HTTP] Listen",
    ]) {
      expect(warnings[0]!.msg).toContain(`${setting} (${config}:`);
    }
    // Connect's scheduler settings are Slipway's too, so they are read, not ignored.
    expect(warnings[0]!.msg).not.toContain("[Scheduler] InitTimeout");
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
  }
}, 120_000);
