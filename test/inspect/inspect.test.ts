import { describe, expect, it } from "vitest";
import { parseEnvironmentFile } from "../../src/environments/environment-file.js";
import { engine } from "../../src/inspect/engine.js";
import { probeImage, staticImage } from "../../src/inspect/inspect.js";
import { runCli } from "../support/cli.js";
import {
  engineAvailable,
  ensureImage,
  hostPythonVersion,
  ociLayout,
  saveImage,
  type TestImage,
} from "../support/images.js";
import { startTestServer } from "../support/server.js";

const unavailable = engineAvailable();
if (unavailable) console.warn(`Image inspection tests skipped: ${unavailable}.`);

describe.skipIf(Boolean(unavailable))("slipway inspect on real images", () => {
  const options = { pathLookups: true };
  const versions = (f: {
    python: { version: string }[];
    r: { version: string }[];
    quarto: { version: string }[];
  }) => ({
    python: f.python.map((i) => i.version),
    r: f.r.map((i) => i.version),
    quarto: f.quarto.map((i) => i.version),
  });

  it.each<[TestImage, object]>([
    ["full", { python: [hostPythonVersion()], r: ["4.2.2"], quarto: ["1.4.550"] }],
    ["symlinked", { python: [], r: ["4.3.1"], quarto: ["1.3.340"] }],
    ["empty", { python: [], r: [], quarto: [] }],
  ])("finds the same installations in %s by probe and by static scan", async (kind, expected) => {
    const image = ensureImage(kind);
    const docker = engine()!;
    const probed = await probeImage(docker, image, options);
    const scanned = await staticImage({ docker, image }, options);
    const fromArchive = await staticImage({ archive: saveImage(kind) }, options);
    const fromLayout = await staticImage({ archive: ociLayout(kind) }, options);
    expect(versions(probed)).toEqual(expected);
    expect({ python: scanned.python, r: scanned.r, quarto: scanned.quarto }).toEqual(probed);
    expect(fromArchive.name).toBe(image);
    expect(versions(fromArchive)).toEqual(expected);
    expect(fromLayout).toEqual(fromArchive);
  });

  it("falls back to the PATH unless told not to", async () => {
    const image = ensureImage("path-python");
    const docker = engine()!;
    expect((await probeImage(docker, image, options)).python).toEqual([
      { runtime: "python", version: hostPythonVersion(), path: "/usr/local/bin/python3" },
    ]);
    // Without running the interpreter, only its file name tells the version.
    expect((await staticImage({ docker, image }, options)).python.map((f) => f.version)).toEqual([
      "3.11",
    ]);
    expect((await probeImage(docker, image, { pathLookups: false })).python).toEqual([]);
  });

  it("prints YAML in both file formats that Slipway reads back, and reports a failing image", async () => {
    ensureImage("full");
    for (const [format, kind] of [
      ["runtime-yaml", "bootstrap"],
      ["environments", "declarative"],
    ] as const) {
      const result = await runCli(["inspect", "localhost/slipway-test/full:1", "--format", format]);
      const parsed = parseEnvironmentFile(result.stdout, "out.yaml", kind);
      expect(parsed.ok && parsed.environments[0]?.python?.installations[0]?.path).toBe(
        `/opt/python/${hostPythonVersion()}/bin/python3`,
      );
    }
    const mixed = await runCli([
      "inspect",
      "localhost/slipway-test/missing:1",
      "localhost/slipway-test/full:1",
      "--format",
      "json",
    ]);
    expect(mixed.code).toBe(1);
    expect(mixed.stderr).toContain("error: localhost/slipway-test/missing:1:");
    expect(mixed.stderr).toContain("[inspect] probing localhost/slipway-test/full:1");
    expect(JSON.parse(mixed.stdout).map((e: { name: string }) => e.name)).toEqual([
      "localhost/slipway-test/full:1",
    ]);
  });

  it("creates the environments on a server with --apply", async () => {
    ensureImage("symlinked");
    const server = await startTestServer();
    try {
      const result = await runCli(["inspect", "localhost/slipway-test/symlinked:1", "--apply"], {
        CONNECT_SERVER: server.url,
        CONNECT_API_KEY: server.keys.administrator,
      });
      expect(result.stderr).toContain("created localhost/slipway-test/symlinked:1 as");
      const list = await server.call("GET", "/__api__/v1/environments");
      expect(list.body[0]).toMatchObject({
        name: "localhost/slipway-test/symlinked:1",
        r: { installations: [{ version: "4.3.1", path: "/opt/R/4.3.1/bin/R" }] },
      });
    } finally {
      await server.close();
    }
  });
});

describe("slipway inspect without an engine", () => {
  it.skipIf(Boolean(unavailable))(
    "reads a docker-archive tar with --static --archive",
    async () => {
      const result = await runCli(
        ["inspect", "--static", "--archive", saveImage("symlinked"), "--format", "json"],
        {
          DOCKER_HOST: "unix:///nonexistent.sock",
        },
      );
      expect(JSON.parse(result.stdout)[0]).toMatchObject({
        name: "localhost/slipway-test/symlinked:1",
        r: { installations: [{ version: "4.3.1" }] },
      });
    },
  );

  it("inspects the host", async () => {
    const result = await runCli(["inspect", "--host", "--format", "json"]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)[0].name).toBe("host");
  });
});
