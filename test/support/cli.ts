/** Runs the real `slipway` command in a child process, as a user would. */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const tsx = `${root}node_modules/.bin/tsx`;
const main = `${root}src/cli/main.ts`;

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
