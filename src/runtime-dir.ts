import { fileURLToPath } from "node:url";

/** Slipway's runtime components (the Python launcher), beside src/ and dist/ alike. */
export const RUNTIME_DIR = fileURLToPath(new URL("../runtime", import.meta.url));
