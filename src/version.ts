import { readFileSync } from "node:fs";

/** Slipway's own version, from package.json, so there is one place to bump it. */
export const SLIPWAY_VERSION: string = JSON.parse(
  readFileSync(new URL("../package.json", import.meta.url), "utf8"),
).version;
