/** Debian's Chromium driven by playwright-core, and the built dashboard, for browser tests. */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
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

/** Builds the dashboard once if this checkout has no build of it. */
export function ensureDashboardBuilt(): void {
  if (existsSync(path.join(root, "dist/web/index.html"))) return;
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
