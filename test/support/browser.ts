/** Debian's Chromium driven by playwright-core, and the built dashboard, for browser tests. */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium } from "playwright-core";

export const CHROMIUM = "/usr/bin/chromium";
const root = fileURLToPath(new URL("../..", import.meta.url));
export const SCREENSHOTS = path.join(root, "test-artifacts", "screenshots");

export function browserUnavailable(): string | undefined {
  return existsSync(CHROMIUM)
    ? undefined
    : `${CHROMIUM} is not installed (apt-get install chromium)`;
}

/** Newest change among the files the dashboard is built from (it imports schemas from src/). */
function newestSource(): number {
  let newest = 0;
  for (const folder of ["web", "src/content", "src/environments", "src/users"]) {
    for (const entry of readdirSync(path.join(root, folder), { recursive: true })) {
      newest = Math.max(newest, statSync(path.join(root, folder, String(entry))).mtimeMs);
    }
  }
  return newest;
}

/** Builds the dashboard when this checkout has no build of it, or one older than its sources. */
export function ensureDashboardBuilt(): void {
  const built = path.join(root, "dist/web/index.html");
  if (existsSync(built) && statSync(built).mtimeMs >= newestSource()) return;
  execFileSync(
    path.join(root, "node_modules/.bin/vite"),
    ["build", "--config", "web/vite.config.ts"],
    { cwd: root, stdio: "ignore" },
  );
}

/**
 * A fresh headless browser; playwright gives each launch a new, empty profile. `extraArgs`
 * add Chromium switches, such as --host-resolver-rules to give loopback more host names.
 */
export function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      ...extraArgs,
    ],
  });
}
