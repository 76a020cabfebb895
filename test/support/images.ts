/**
 * Real container images for tests, built offline: a busybox rootfs plus the host's own
 * Python 3.11 (binary, shared libraries, standard library) and small R / Quarto launchers
 * that print version strings, imported into the local engine under localhost/slipway-test/.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const HOST_PYTHON = "/usr/bin/python3.11";
const BUSYBOX = "/bin/busybox";

/**
 * full: Python (real), R and Quarto under /opt/<runtime>/<version>. symlinked: /opt/R/4.3.1 is
 * a link to /usr/lib/R, Quarto unversioned in /opt/quarto. empty: busybox only. path-python:
 * Python only on the PATH (/usr/local/bin/python3 -> python3.11). no-shell: an R launcher
 * and no /bin/sh, so only static inspection can read it. layered: full plus a layer made by
 * the engine that deletes R 4.2.2, Quarto and Python (whiteouts, an opaque folder) and adds R 4.4.1.
 * hanging: an R launcher that never answers, for timeouts.
 */
export type TestImage =
  | "full"
  | "symlinked"
  | "empty"
  | "path-python"
  | "no-shell"
  | "layered"
  | "hanging";

/** Bumped whenever what an image holds changes, so cached images are rebuilt. */
const RECIPE = 3;

export function engineAvailable(): string | undefined {
  try {
    execFileSync("docker", ["info"], { stdio: "ignore" });
  } catch {
    return "no Docker engine is reachable (bash .ci/install-container-engine.sh starts one)";
  }
  if (!existsSync(BUSYBOX)) return "busybox-static is not installed";
  if (!existsSync(HOST_PYTHON)) return `${HOST_PYTHON} is not installed`;
  return undefined;
}

/** Why Podman's Docker-compatible API cannot be used here, or undefined when it can. */
export function podmanAvailable(): string | undefined {
  try {
    execFileSync("curl", ["-fsS", "-m", "2", "--unix-socket", PODMAN_SOCKET, "http://d/_ping"], {
      stdio: "ignore",
    });
    return undefined;
  } catch {
    return `Podman's API is not answering on ${PODMAN_SOCKET} (bash .ci/install-podman.sh starts it)`;
  }
}

export const PODMAN_SOCKET = "/run/podman/podman.sock";

export function hostPythonVersion(): string {
  return execFileSync(HOST_PYTHON, ["-c", "import platform; print(platform.python_version())"])
    .toString()
    .trim();
}

export function imageName(kind: TestImage): string {
  return `localhost/slipway-test/${kind}:${RECIPE}`;
}

function imageId(name: string): string | undefined {
  try {
    return execFileSync("docker", ["image", "inspect", "--format", "{{.Id}}", name], {
      stdio: ["ignore", "pipe", "ignore"],
    })
      .toString()
      .trim();
  } catch {
    return undefined;
  }
}

/** Builds the image if the engine lacks it (a second call costs one `docker image inspect`). */
export function ensureImage(kind: TestImage): string {
  const name = imageName(kind);
  if (imageId(name)) return name;
  if (kind === "layered") {
    // A real engine-made layer: `docker build` runs busybox in a container of the full image.
    execFileSync("docker", ["build", "--network", "none", "-q", "-t", name, "-"], {
      input: [
        `FROM ${ensureImage("full")}`,
        "RUN rm -rf /opt/R/4.2.2 /opt/quarto /opt/python && mkdir -p /opt/python /opt/R/4.4.1/bin" +
          ` && printf '#!/bin/sh\\necho "R version 4.4.1 (2024-06-14)"\\n' > /opt/R/4.4.1/bin/R` +
          " && chmod 755 /opt/R/4.4.1/bin/R",
      ].join("\n"),
      env: { ...process.env, DOCKER_BUILDKIT: "0" },
      stdio: ["pipe", "ignore", "inherit"],
    });
    return name;
  }
  const root = mkdtempSync(path.join(tmpdir(), `slipway-rootfs-${kind}-`));
  try {
    if (kind === "no-shell") {
      script(root, "/opt/R/4.2.2/bin/R", 'echo "R version 4.2.2 (2022-10-31)"');
    } else {
      busybox(root);
    }
    const pythonVersion = hostPythonVersion();
    if (kind === "full") {
      python(root, `/opt/python/${pythonVersion}`, "python3");
      script(
        root,
        "/opt/R/4.2.2/bin/R",
        'echo "R version 4.2.2 (2022-10-31) -- \\"Innocent and Trusting\\""',
      );
      script(root, "/opt/quarto/1.4.550/bin/quarto", "echo 1.4.550");
    } else if (kind === "symlinked") {
      script(
        root,
        "/usr/lib/R/bin/R",
        'echo "R version 4.3.1 (2023-06-16) -- \\"Beagle Scouts\\""',
      );
      mkdirSync(path.join(root, "opt/R"), { recursive: true });
      symlinkSync("/usr/lib/R", path.join(root, "opt/R/4.3.1"));
      script(root, "/opt/quarto/bin/quarto", "echo 1.3.340");
      mkdirSync(path.join(root, "opt/quarto/share"), { recursive: true });
      writeFileSync(path.join(root, "opt/quarto/share/version"), "1.3.340\n");
    } else if (kind === "hanging") {
      script(root, "/opt/R/4.2.2/bin/R", "exec sleep 600");
    } else if (kind === "path-python") {
      python(root, "/usr/local", `python${pythonVersion.split(".").slice(0, 2).join(".")}`);
      symlinkSync(
        `python${pythonVersion.split(".").slice(0, 2).join(".")}`,
        path.join(root, "usr/local/bin/python3"),
      );
    }
    const archive = path.join(root, "..", `${path.basename(root)}.tar`);
    execFileSync("tar", ["-C", root, "-cf", archive, "."]);
    execFileSync(
      "docker",
      ["import", "--change", "ENV PATH=/usr/local/bin:/usr/bin:/bin", archive, name],
      { stdio: "ignore" },
    );
    rmSync(archive, { force: true });
    return name;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** `docker save` of the image, as a docker-archive tar for static inspection; cached by id. */
export function saveImage(kind: TestImage): string {
  const name = ensureImage(kind);
  const id = imageId(name)!.replace("sha256:", "").slice(0, 12);
  const file = path.join(tmpdir(), `slipway-test-${kind}-${id}.tar`);
  if (!existsSync(file)) {
    // Saved aside then renamed, so a test file running at the same time never reads half of it.
    const partial = `${file}.${process.pid}.partial`;
    execFileSync("docker", ["save", "-o", partial, name]);
    renameSync(partial, file);
  }
  return file;
}

/**
 * The image pushed to the loopback registry that .ci/install-container-engine.sh starts,
 * and removed from the engine, so that using it means pulling it. Undefined with no registry.
 */
export function registryImage(kind: TestImage, registry = "127.0.0.1:5000"): string | undefined {
  const local = ensureImage(kind);
  const remote = `${registry}/slipway-test/${kind}:${RECIPE}`;
  try {
    execFileSync("docker", ["tag", local, remote]);
    execFileSync("docker", ["push", "-q", remote], { stdio: "ignore", timeout: 60_000 });
    execFileSync("docker", ["rmi", remote], { stdio: "ignore" });
    return remote;
  } catch {
    execFileSync("docker", ["rmi", "-f", remote], { stdio: "ignore" });
    return undefined;
  }
}

function busybox(root: string): void {
  mkdirSync(path.join(root, "bin"), { recursive: true });
  mkdirSync(path.join(root, "tmp"), { recursive: true });
  // Writable by whichever account a container runs as, as every Linux /tmp is.
  chmodSync(path.join(root, "tmp"), 0o1777);
  copyFileSync(BUSYBOX, path.join(root, "bin/busybox"));
  chmodSync(path.join(root, "bin/busybox"), 0o755);
  const applets = [
    "sh",
    "tr",
    "head",
    "cat",
    "echo",
    "ls",
    "sleep",
    "env",
    "rm",
    "mkdir",
    "printf",
  ];
  for (const applet of [...applets, "chmod"]) {
    symlinkSync("busybox", path.join(root, "bin", applet));
  }
}

function script(root: string, file: string, body: string): void {
  mkdirSync(path.join(root, path.dirname(file)), { recursive: true });
  writeFileSync(path.join(root, file), `#!/bin/sh\n${body}\n`);
  chmodSync(path.join(root, file), 0o755);
}

/** The host's Python under `prefix`, with the libraries its binary loads and its stdlib. */
function python(root: string, prefix: string, binary: string): void {
  const bin = path.join(root, prefix, "bin");
  mkdirSync(bin, { recursive: true });
  copyFileSync(HOST_PYTHON, path.join(bin, binary));
  chmodSync(path.join(bin, binary), 0o755);
  const libraries = execFileSync("ldd", [HOST_PYTHON])
    .toString()
    .split("\n")
    .map((line) => /(\/\S+)/.exec(line.includes("=>") ? line.split("=>")[1]! : line)?.[1])
    .filter((p): p is string => Boolean(p));
  for (const library of libraries) {
    mkdirSync(path.join(root, path.dirname(library)), { recursive: true });
    copyFileSync(library, path.join(root, library));
  }
  const lib = path.join(root, prefix, "lib");
  mkdirSync(lib, { recursive: true });
  execFileSync("sh", [
    "-c",
    'tar -C /usr/lib --exclude=test --exclude=__pycache__ --exclude=idlelib --exclude=tkinter --exclude=ensurepip -cf - python3.11 | tar -C "$1" -xf -',
    "sh",
    lib,
  ]);
}

/** The image as an OCI image layout folder, made from its docker-archive with no other tool. */
export function ociLayout(kind: TestImage): string {
  const archive = saveImage(kind);
  const dir = mkdtempSync(path.join(tmpdir(), `slipway-oci-${kind}-`));
  const unpacked = path.join(dir, "archive");
  mkdirSync(unpacked);
  execFileSync("tar", ["-C", unpacked, "-xf", archive]);
  const layout = path.join(dir, "layout");
  mkdirSync(path.join(layout, "blobs", "sha256"), { recursive: true });
  const blob = (bytes: Buffer, mediaType: string) => {
    const digest = createHash("sha256").update(bytes).digest("hex");
    writeFileSync(path.join(layout, "blobs", "sha256", digest), bytes);
    return { mediaType, digest: `sha256:${digest}`, size: bytes.length };
  };
  const [entry] = JSON.parse(readFileSync(path.join(unpacked, "manifest.json"), "utf8"));
  const config = blob(
    readFileSync(path.join(unpacked, entry.Config)),
    "application/vnd.oci.image.config.v1+json",
  );
  const layers = (entry.Layers as string[]).map((l) =>
    blob(readFileSync(path.join(unpacked, l)), "application/vnd.oci.image.layer.v1.tar"),
  );
  const manifest = blob(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config,
        layers,
      }),
    ),
    "application/vnd.oci.image.manifest.v1+json",
  );
  writeFileSync(
    path.join(layout, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ ...manifest, annotations: { "io.containerd.image.name": imageName(kind) } }],
    }),
  );
  writeFileSync(path.join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  rmSync(unpacked, { recursive: true, force: true });
  return layout;
}

/**
 * Slipway's content-init image, built by deploy/images/build.sh from this work tree's
 * runtime/ folder, so a test always runs the runtime components it is testing.
 */
export function contentInitImage(): string {
  const script = fileURLToPath(new URL("../../deploy/images/build.sh", import.meta.url));
  return execFileSync(
    "bash",
    [script, "content-init", "--tag", "localhost/slipway-test/content-init:current"],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  )
    .toString()
    .trim();
}

/** The Docker engine's image, copied into Podman's store (docker save | podman load) if absent there. */
export function inPodman(name: string): string {
  try {
    execFileSync("podman", ["image", "exists", name], { stdio: "ignore" });
    return name;
  } catch {
    const archive = path.join(tmpdir(), `slipway-to-podman-${process.pid}-${Date.now()}.tar`);
    try {
      execFileSync("docker", ["save", "-o", archive, name]);
      execFileSync("podman", ["load", "-q", "-i", archive], { stdio: "ignore" });
    } finally {
      rmSync(archive, { force: true });
    }
    return name;
  }
}
