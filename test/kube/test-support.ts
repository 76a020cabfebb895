/** Shared set-up for the stand-in's own tests: the engine requirement and small waiting helpers. */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { engineAvailable } from "../support/images.js";

const run = promisify(execFile);

/**
 * Why the Docker-backed tests cannot run here, or undefined when they can. Under CI=true a
 * missing engine is an error, not a skip.
 */
export function engineMissing(): string | undefined {
  const reason = engineAvailable();
  if (reason && process.env.CI)
    throw new Error(`the Kubernetes stand-in tests need a Docker engine: ${reason}`);
  if (reason) console.warn(`Kubernetes stand-in tests with containers skipped: ${reason}.`);
  return reason;
}

/** Polls `probe` until it returns a value (not undefined/false), or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value as T;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function kubectl(
  binary: string,
  kubeconfig: string,
  args: string[],
  input?: string,
): Promise<{ stdout: string; stderr: string; code: number }> {
  const child = run(binary, args, {
    env: { ...process.env, KUBECONFIG: kubeconfig },
    maxBuffer: 16 * 1024 * 1024,
    timeout: 120_000,
  });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  try {
    const { stdout, stderr } = await child;
    return { stdout, stderr, code: 0 };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; code?: number };
    return {
      stdout: e.stdout ?? "",
      stderr: e.stderr ?? "",
      code: typeof e.code === "number" ? e.code : 1,
    };
  }
}
