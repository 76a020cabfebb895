/**
 * The server image, built offline by deploy/images/build.sh exactly as a person builds it, then
 * run by the real Docker engine: `--version`, and a server that answers /__ping__ and an API
 * call with the key it printed, as a non-root user on a read-only root filesystem.
 */
import { execFile, execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));
const version = JSON.parse(readFileSync(`${root}package.json`, "utf8")).version as string;
const tag = `localhost/slipway-test/server:${process.pid}`;

function dockerMissing(): string | undefined {
  try {
    execFileSync("docker", ["info"], { stdio: "ignore" });
    return undefined;
  } catch {
    return "no Docker engine is reachable (bash .ci/install-container-engine.sh starts one)";
  }
}

const missing = dockerMissing();
if (missing && !process.env.CI) console.warn(`Server image tests skipped: ${missing}.`);

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

async function until<T>(what: string, attempt: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const result = await attempt().catch(() => undefined);
    if (result !== undefined) return result;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

// In CI a missing engine fails these tests instead of skipping them.
describe.skipIf(Boolean(missing) && !process.env.CI)("the server image", () => {
  const containers: string[] = [];
  afterAll(async () => {
    for (const id of containers) await run("docker", ["rm", "-f", id]).catch(() => undefined);
    await run("docker", ["rmi", "-f", tag]).catch(() => undefined);
  });

  it("builds offline with deploy/images/build.sh and prints its name", async () => {
    if (missing) throw new Error(missing);
    const { stdout } = await run(`${root}deploy/images/build.sh`, ["server", "--tag", tag], {
      cwd: root,
      maxBuffer: 16 * 1024 * 1024,
    });
    expect(stdout.trim().split("\n").pop()).toBe(tag);
    const { stdout: config } = await run("docker", [
      "image",
      "inspect",
      "--format",
      "{{json .Config}}",
      tag,
    ]);
    const { User, Entrypoint, Cmd } = JSON.parse(config);
    expect(User).toBe("10001:10001");
    expect(Entrypoint).toEqual(["/usr/local/bin/node", "/opt/slipway/bin/slipway.js"]);
    expect(Cmd).toEqual(["server", "--config", "/etc/slipway/slipway.gcfg"]);
  }, 600_000);

  it("prints its version", async () => {
    const { stdout } = await run("docker", ["run", "--rm", "--pull", "never", tag, "--version"]);
    expect(stdout.trim()).toBe(version);
  }, 120_000);

  it("serves as a non-root user on a read-only root filesystem", async () => {
    const port = await freePort();
    const { stdout } = await run("docker", [
      "run",
      "--detach",
      "--pull",
      "never",
      "--network",
      "host",
      "--read-only",
      "--tmpfs",
      "/tmp",
      "--tmpfs",
      "/var/lib/slipway:uid=10001,gid=10001",
      "--cap-drop",
      "ALL",
      "--security-opt",
      "no-new-privileges",
      "--env",
      `SLIPWAY_SERVER_ADDRESS=127.0.0.1:${port}`,
      tag,
    ]);
    const id = stdout.trim();
    containers.push(id);
    const url = `http://127.0.0.1:${port}`;
    await until("/__ping__", async () => ((await fetch(`${url}/__ping__`)).ok ? true : undefined));

    const key = await until("the administrator's key in the log", async () => {
      const { stdout: out, stderr } = await run("docker", ["logs", id]);
      return /API key is\s+(\S+)/.exec(out + stderr)?.[1];
    });
    const response = await fetch(`${url}/__api__/v1/environments`, {
      headers: { Authorization: `Key ${key}` },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([]);
    const { stdout: user } = await run("docker", ["exec", id, "id", "-u"]);
    expect(user.trim()).toBe("10001");
  }, 180_000);
});
