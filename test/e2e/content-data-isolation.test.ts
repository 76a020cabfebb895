/**
 * A publisher's application tries to reach what the server holds: the database, the server's
 * secret key, the job logs, another content item's files, and its own bundle for writing. On
 * the local runner with the defaults (an unprivileged account, bubblewrap) and in a Docker
 * container, each attempt fails. The same app on a server with both protections turned off
 * reads all of it: so the protection, not the test, is what stops it.
 */
import { existsSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Settings } from "../../src/config/settings.js";
import { bundleSubPath } from "../../src/content/data-layout.js";
import { debianImageUnavailable, ensureDebianImage } from "../support/debian-image.js";
import { createContent, deploy, manifestEntry } from "../support/deploy.js";
import {
  contentInitImage,
  engineAvailable,
  HOST_PYTHON,
  hostPythonVersion,
} from "../support/images.js";
import { unavailable } from "../support/requirements.js";
import { startTestServer, type TestServer } from "../support/server.js";

const asRoot = process.getuid?.() === 0;
const noBubblewrap = existsSync("/usr/bin/bwrap")
  ? undefined
  : "bubblewrap (Debian's package bubblewrap; .ci/run installs it)";
const notRoot = asRoot ? undefined : "a server running as root (to switch to the content account)";

/** Tries each path and answers what happened, as JSON. */
const PROBE = `import json, os

def attempt(kind, target):
    try:
        if kind == "read":
            with open(target, "rb") as f:
                f.read(16)
        elif kind == "list":
            return sorted(os.listdir(target))
        else:
            with open(os.path.join(target, "planted"), "w") as f:
                f.write("x")
        return "done"
    except OSError as error:
        return type(error).__name__

def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json")])
    targets = json.loads(os.environ.get("PROBE_TARGETS", "{}"))
    result = {name: attempt(kind, target) for name, (kind, target) in targets.items()}
    result["uid"] = os.getuid()
    return [json.dumps(result).encode()]
`;

interface Setup {
  server: TestServer;
  python: { version: string; path: string };
  cluster: string;
}

async function setUp(adjust: (s: Settings) => void, image?: string): Promise<Setup> {
  const server = await startTestServer("sqlite", adjust);
  const python = image
    ? ensureDebianImage().python
    : { version: hostPythonVersion(), path: HOST_PYTHON };
  const cluster = image ? "Kubernetes" : "Local";
  const created = await server.call("POST", "/__api__/v1/environments", {
    body: {
      name: image ?? "host-python",
      cluster_name: cluster,
      python: { installations: [python] },
    },
  });
  expect(created.status, JSON.stringify(created.body)).toBe(200);
  return { server, python, cluster };
}

/** Deploys a secret static site and the probe; returns what the probe could do. */
type Outcome = string | number | string[];

async function probe({ server, python }: Setup): Promise<Record<string, Outcome>> {
  const dataDir = server.settings.Server.DataDir;
  const secret = await createContent(server, "someone-elses", server.keys.administrator);
  const deployedSecret = await deploy(
    server,
    secret.guid,
    [
      manifestEntry({ metadata: { appmode: "static", primary_html: "index.html" } }),
      { path: "index.html", content: "<p>private</p>" },
    ],
    server.keys.administrator,
  );
  const secretDir = path.join(dataDir, bundleSubPath(secret.guid, Number(deployedSecret.bundleId)));
  const item = await createContent(server, "probe");
  const targets = {
    database: ["read", path.join(dataDir, "slipway.db")],
    secretKey: ["read", path.join(dataDir, "secret.key")],
    dataFolder: ["list", dataDir],
    otherContent: ["read", path.join(secretDir, "index.html")],
  };
  const { task, bundleId } = await deploy(server, item.guid, [
    manifestEntry({
      metadata: { appmode: "python-api", entrypoint: "app:app" },
      python: { version: python.version },
      environment: { environment_management: { python: false } },
    }),
    { path: "app.py", content: PROBE },
  ]);
  expect(task.code, task.output.join("\n")).toBe(0);
  const own = path.join(dataDir, bundleSubPath(item.guid, Number(bundleId)));
  const withOwn = { ...targets, ownBundle: ["write", own] };
  // The targets reach the app through its environment variables, set after the deploy.
  const set = await server.call("PATCH", `/__api__/v1/content/${item.guid}/environment`, {
    key: server.keys.publisher,
    body: [{ name: "PROBE_TARGETS", value: JSON.stringify(withOwn) }],
  });
  expect(set.status, JSON.stringify(set.body)).toBe(200);
  for (;;) {
    const response = await fetch(item.content_url, {
      headers: { Authorization: `Key ${server.keys.publisher}` },
    });
    const result = response.status === 200 && ((await response.json()) as Record<string, Outcome>);
    // Until the process restarted with the variable, the answer has no targets.
    if (result && "database" in result) return result;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const PROTECTED = ["database", "secretKey", "otherContent", "ownBundle"];

describe.skipIf(unavailable("Content data isolation on the local runner", noBubblewrap ?? notRoot))(
  "content cannot reach the server's data",
  { timeout: 300_000 },
  () => {
    describe("on the local runner, by default", () => {
      let setup: Setup;
      beforeAll(async () => {
        setup = await setUp(() => {});
      }, 120_000);
      afterAll(() => setup?.server.close());

      it("runs as an unprivileged account that finds none of it", async () => {
        const result = await probe(setup);
        expect(result.uid).not.toBe(0);
        for (const name of PROTECTED) expect(result[name], name).not.toBe("done");
        // The data folder, where it can be listed at all, holds only the job's own folders.
        expect(result.dataFolder).not.toContain("slipway.db");
      });
    });

    describe("on the local runner with RunAs root allowed and no sandbox", () => {
      let setup: Setup;
      beforeAll(async () => {
        setup = await setUp((s) => {
          s.Applications.RunAs = "root";
          s.Applications.RunAsRootAllowed = true;
          s.Applications.Sandbox = false;
        });
      }, 120_000);
      afterAll(() => setup?.server.close());

      it("reads and writes all of it", async () => {
        const result = await probe(setup);
        expect(result.uid).toBe(0);
        for (const name of PROTECTED) expect(result[name], name).toBe("done");
        expect(result.dataFolder).toContain("slipway.db");
      });
    });

    describe.skipIf(
      unavailable(
        "Content data isolation in containers",
        engineAvailable() ?? debianImageUnavailable(),
      ),
    )("in a Docker container", () => {
      let setup: Setup;
      beforeAll(async () => {
        const image = ensureDebianImage().name;
        const init = contentInitImage();
        setup = await setUp((s) => {
          s.Docker.Enabled = true;
          s.Docker.InitContainerImage = init;
        }, image);
      }, 900_000);
      afterAll(() => setup?.server.close());

      it("mounts none of it and runs unprivileged", async () => {
        const result = await probe(setup);
        expect(result.uid).not.toBe(0);
        for (const name of PROTECTED) expect(result[name], name).not.toBe("done");
        expect(result.dataFolder).not.toContain("slipway.db");
      });
    });
  },
);
