import { execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseEnvironmentFile } from "../../src/environments/environment-file.js";
import { engine } from "../../src/inspect/engine.js";
import { probeImage, staticImage } from "../../src/inspect/inspect.js";
import type { Findings } from "../../src/inspect/locations.js";
import { CLI_TEST_TIMEOUT_MS, runCli } from "../support/cli.js";
import {
  engineAvailable,
  ensureImage,
  hostPythonVersion,
  imageName,
  ociLayout,
  registryImage,
  saveImage,
  type TestImage,
} from "../support/images.js";
import { startTestServer } from "../support/server.js";

const unavailable = engineAvailable();
if (unavailable) console.warn(`Image inspection tests skipped: ${unavailable}.`);

const options = { pathLookups: true };
const versions = (f: Findings) => ({
  python: f.python.map((i) => i.version),
  r: f.r.map((i) => i.version),
  quarto: f.quarto.map((i) => i.version),
});
const only = ({ python, r, quarto }: Findings) => ({ python, r, quarto });

/** The OCI layout folder tarred up: an oci-archive, as `skopeo copy oci-archive:` writes. */
function ociArchive(kind: TestImage): string {
  const file = path.join(mkdtempSync(path.join(tmpdir(), "slipway-oci-archive-")), "image.tar");
  execFileSync("tar", ["-C", ociLayout(kind), "-cf", file, "."]);
  return file;
}

describe.skipIf(Boolean(unavailable))(
  "slipway inspect on real images",
  { timeout: CLI_TEST_TIMEOUT_MS },
  () => {
    it.each<[TestImage, object]>([
      ["full", { python: [hostPythonVersion()], r: ["4.2.2"], quarto: ["1.4.550"] }],
      ["symlinked", { python: [], r: ["4.3.1"], quarto: ["1.3.340"] }],
      ["empty", { python: [], r: [], quarto: [] }],
      ["layered", { python: [], r: ["4.4.1"], quarto: [] }],
    ])(
      "finds the same installations in %s by probe and by every static source",
      async (kind, expected) => {
        const image = ensureImage(kind);
        const docker = engine()!;
        const probed = await probeImage(docker, image, options);
        expect(versions(probed)).toEqual(expected);
        const fromEngine = await staticImage({ docker, image }, options);
        const fromArchive = await staticImage({ archive: saveImage(kind) }, options);
        const fromLayout = await staticImage({ archive: ociLayout(kind) }, options);
        const fromOciArchive = await staticImage({ archive: ociArchive(kind) }, options);
        for (const scanned of [fromEngine, fromArchive, fromLayout, fromOciArchive]) {
          expect(only(scanned)).toEqual(probed);
          expect(scanned.name).toBe(image);
        }
      },
    );

    it("resolves a symlinked installation to the path the link gives", async () => {
      const probed = await probeImage(engine()!, ensureImage("symlinked"), options);
      expect(probed.r).toEqual([{ runtime: "r", version: "4.3.1", path: "/opt/R/4.3.1/bin/R" }]);
    });

    it("falls back to the PATH unless told not to, by both methods", async () => {
      const image = ensureImage("path-python");
      const docker = engine()!;
      expect((await probeImage(docker, image, options)).python).toEqual([
        { runtime: "python", version: hostPythonVersion(), path: "/usr/local/bin/python3" },
      ]);
      // Without running the interpreter, only its file name tells the version.
      expect((await staticImage({ docker, image }, options)).python).toEqual([
        { runtime: "python", version: "3.11", path: "/usr/local/bin/python3" },
      ]);
      const noLookups = { pathLookups: false };
      expect((await probeImage(docker, image, noLookups)).python).toEqual([]);
      expect((await staticImage({ docker, image }, noLookups)).python).toEqual([]);
      const cli = await runCli(["inspect", image, "--no-path-lookups", "--format", "json"]);
      expect(JSON.parse(cli.stdout)[0]).toMatchObject({ name: image, python: null });
    });

    it("reads an image with no shell statically, and says so when asked to probe it", async () => {
      const image = ensureImage("no-shell");
      const docker = engine()!;
      await expect(probeImage(docker, image, options)).rejects.toThrow(/no \/bin\/sh.*--static/);
      expect(versions(await staticImage({ docker, image }, options)).r).toEqual(["4.2.2"]);
    });

    it("kills a probe that does not finish in time, leaving no container behind", async () => {
      const image = ensureImage("hanging");
      const docker = engine()!;
      await expect(probeImage(docker, image, { ...options, probeTimeoutMs: 1000 })).rejects.toThrow(
        "the probe did not finish within 1 s",
      );
      const left = await docker.listContainers({ all: true, filters: { ancestor: [image] } });
      expect(left).toEqual([]);
    });

    it("prints YAML that Slipway reads back as what --format json prints", async () => {
      const image = ensureImage("full");
      const json = JSON.parse((await runCli(["inspect", image, "--format", "json"])).stdout);
      const declarative = await runCli(["inspect", image, "--format", "environments"]);
      const read = parseEnvironmentFile(declarative.stdout, "out.yaml", "declarative");
      expect(read.ok && read.environments).toEqual([
        { ...json[0], cluster_name: "Kubernetes", matching: "any" },
      ]);
      const bootstrap = await runCli(["inspect", image, "--format", "runtime-yaml", "--static"]);
      expect(bootstrap.stdout).toMatch(/^name: Kubernetes\nimages:\n {2}- name: /);
      const readBootstrap = parseEnvironmentFile(bootstrap.stdout, "runtime.yaml", "bootstrap");
      expect(readBootstrap.ok && readBootstrap.environments[0]).toMatchObject({
        name: image,
        python: json[0].python,
        r: json[0].r,
        quarto: json[0].quarto,
      });
    });

    it("reports an image it cannot inspect and still prints the others", async () => {
      const full = ensureImage("full");
      const missing = "localhost/slipway-test/missing:1";
      const result = await runCli(["inspect", missing, full, "--format", "json"]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`error: ${missing}: `);
      expect(result.stderr).toContain(`[inspect] probing ${full}`);
      expect(JSON.parse(result.stdout).map((e: { name: string }) => e.name)).toEqual([full]);
    });

    it("pulls an image the engine lacks, and does not pull it again", async (context) => {
      const remote = registryImage("symlinked");
      if (!remote) {
        console.warn(
          "Pull test skipped: no registry at 127.0.0.1:5000 (see .ci/install-container-engine.sh).",
        );
        return context.skip();
      }
      const first = await runCli(["inspect", remote, "--format", "json"]);
      expect(first.stderr).toContain(`[inspect] pulling ${remote}`);
      expect(JSON.parse(first.stdout)[0].r.installations[0].version).toBe("4.3.1");
      const second = await runCli(["inspect", remote, "--format", "json"]);
      expect(second.stderr).not.toContain("pulling");
      expect(second.stdout).toBe(first.stdout);
    });

    it("creates the environments on a server with --apply", async () => {
      const image = ensureImage("symlinked");
      const server = await startTestServer();
      try {
        const env = { CONNECT_SERVER: server.url, CONNECT_API_KEY: server.keys.administrator };
        const result = await runCli(["inspect", image, "--apply"], env);
        expect(result.stderr).toContain(`created ${image} as`);
        const list = await server.call("GET", "/__api__/v1/environments");
        expect(list.body[0]).toMatchObject({
          name: image,
          title: "R 4.3.1, Quarto 1.3.340",
          r: { installations: [{ version: "4.3.1", path: "/opt/R/4.3.1/bin/R" }] },
          python: null,
        });
        // The second time the server refuses the duplicate: reported, exit status 1.
        const again = await runCli(["inspect", image, "--apply"], env);
        expect(again.code).toBe(1);
        expect(again.stderr).toContain(`error (code 175): ${image}: `);
      } finally {
        await server.close();
      }
    });
  },
);

describe("slipway inspect without an engine", () => {
  const noEngine = { DOCKER_HOST: "unix:///nonexistent.sock" };

  it.skipIf(Boolean(unavailable))("reads saved images given by path or --archive", async () => {
    const result = await runCli(
      ["inspect", "--static", "--archive", saveImage("symlinked"), ociLayout("full")],
      noEngine,
    );
    expect(result.code).toBe(0);
    const read = parseEnvironmentFile(result.stdout, "out.yaml", "declarative");
    expect(read.ok && read.environments.map((e) => e.name)).toEqual([
      imageName("symlinked"),
      imageName("full"),
    ]);
  });

  it("says which engine it looked for when an image needs one", async () => {
    const result = await runCli(["inspect", "busybox:1", "--format", "json"], noEngine);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("unix:///nonexistent.sock");
    expect(result.stderr).toContain("--static --archive FILE");
    expect(result.stdout).toBe("");
  });

  it("inspects the host by running the interpreters it finds", async () => {
    const result = await runCli(["inspect", "--host", "--format", "json"]);
    expect(result.code).toBe(0);
    const [host] = JSON.parse(result.stdout);
    expect(host.name).toBe("host");
    // Every machine Slipway's tests run on has a python3 (the test images copy it).
    expect(host.python.installations.length).toBeGreaterThan(0);
    for (const { path, version } of host.python.installations) {
      const real = execFileSync(path, ["-c", "import platform; print(platform.python_version())"]);
      expect(version).toBe(real.toString().trim());
    }
  });
});
