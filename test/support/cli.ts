/** Runs the real `slipway` command in a child process, as a user would. */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const tsx = `${root}node_modules/.bin/tsx`;
const main = `${root}src/cli/main.ts`;

/**
 * A test that runs the CLI a few times: each run starts tsx, which compiles the CLI afresh,
 * which takes seconds on a quiet machine and tens of seconds on a busy one.
 */
export const CLI_TEST_TIMEOUT_MS = 180_000;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `slipway ARGS`; `input`, when given, is written to its standard input. */
export function runCli(
  args: string[],
  env: NodeJS.ProcessEnv = {},
  input?: string,
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      tsx,
      [main, ...args],
      { env: { ...process.env, ...env }, cwd: root },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}
