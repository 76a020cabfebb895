/**
 * Runs a command's action and turns any failure into a sentence on standard error and a
 * non-zero exit status, so every command reports errors the same way.
 */
import { ConfigError } from "../config/settings.js";
import { isApiError } from "../errors.js";

export function action<A extends unknown[]>(run: (...args: A) => Promise<void>) {
  return async (...args: A): Promise<void> => {
    try {
      await run(...args);
    } catch (error) {
      process.exitCode = 1;
      if (isApiError(error)) {
        process.stderr.write(`error (code ${error.code}): ${error.message}\n`);
      } else if (error instanceof ConfigError || error instanceof Error) {
        process.stderr.write(`error: ${error.message}\n`);
      } else {
        process.stderr.write(`error: ${String(error)}\n`);
      }
    }
  };
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
