/**
 * The environment `host` that a first start registers names interpreters the content account
 * can run, and a deploy in it works: the server's own Python may lie where that account cannot
 * reach (here, a pyenv under /root), and then the next one on PATH is the one registered.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createContent, deploy, manifestEntry } from "../support/deploy.js";
import { unavailable } from "../support/requirements.js";
import { startTestServer, type TestServer } from "../support/server.js";

const needs =
  process.getuid?.() !== 0
    ? "a server running as root (content then runs as its own account)"
    : existsSync("/usr/lib/python3/dist-packages/flask")
      ? undefined
      : "Debian's python3-flask";

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer("sqlite", (s) => {
    s.Applications.HostEnvironment = true;
    s.Python.SystemSitePackages = true;
  });
}, 120_000);
afterAll(() => server?.close());

it.skipIf(unavailable("The host environment as the content account", needs))(
  "registers interpreters the content account can run, and deploys with them",
  { timeout: 180_000 },
  async () => {
    const [host] = (await server.call("GET", "/__api__/v1/environments")).body;
    expect(host.name).toBe("host");
    const python = host.python.installations[0].path as string;
    const account = Number(execFileSync("id", ["-u", "slipway-content"]).toString());
    // Run as the account itself, as the runner runs builds and processes.
    const answer = execFileSync(python, ["-c", "import os; print(os.getuid())"], {
      uid: account,
      gid: Number(execFileSync("id", ["-g", "slipway-content"]).toString()),
    });
    expect(Number(answer.toString())).toBe(account);

    const item = await createContent(server, "on-the-host");
    const { task } = await deploy(server, item.guid, [
      manifestEntry({
        metadata: { appmode: "python-api", entrypoint: "app:app" },
        python: {
          version: host.python.installations[0].version,
          package_manager: { name: "pip", package_file: "requirements.txt" },
        },
      }),
      {
        path: "app.py",
        content:
          'from flask import Flask\napp = Flask(__name__)\n@app.get("/")\ndef hi():\n    return "on the host"\n',
      },
      { path: "requirements.txt", content: "flask\n" },
    ]);
    expect(task.code, task.output.join("\n")).toBe(0);
    const page = await fetch(item.content_url, {
      headers: { Authorization: `Key ${server.keys.publisher}` },
    });
    expect(await page.text()).toBe("on the host");
  },
);
