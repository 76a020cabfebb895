/**
 * A realistic content image for container tests, built offline from this machine's own
 * Debian packages: the files of Debian's Python (with Flask, FastAPI, uvicorn, waitress,
 * nbconvert) and R (with rmarkdown, Shiny, plumber, pandoc), every package they depend on and
 * Debian's essential packages, laid out as Posit's images are: Python at
 * /opt/python/<version>/bin/python3 and R at /opt/R/<version>/bin/R.
 */
import { execFileSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const PACKAGES = [
  "python3",
  "python3-venv",
  "python3-pip",
  "python3-flask",
  "python3-fastapi",
  "python3-uvicorn",
  "python3-waitress",
  "python3-nbconvert",
  "python3-ipykernel",
  "r-base-core",
  "r-cran-rmarkdown",
  "r-cran-shiny",
  "r-cran-plumber",
  "pandoc",
];

/** What the image gets from the test rather than from the host's packages. */
const OWN_PATHS = [
  "bin",
  "lib",
  "lib64",
  "sbin",
  "tmp",
  "opt/python",
  "opt/R",
  "etc/passwd",
  "etc/group",
];

/** Bumped whenever what the image holds changes, so a cached image is rebuilt. */
const RECIPE = 4;

export interface DebianImage {
  name: string;
  python: { version: string; path: string };
  r: { version: string; path: string };
}

/** Why the image cannot be built here, or undefined when it can. */
export function debianImageUnavailable(): string | undefined {
  const missing = PACKAGES.filter((p) => !installed(p));
  return missing.length > 0
    ? `the Debian packages ${missing.join(", ")} are not installed (.ci/run installs them)`
    : undefined;
}

export function ensureDebianImage(): DebianImage {
  const python = execFileSync("/usr/bin/python3", [
    "-c",
    "import platform; print(platform.python_version())",
  ])
    .toString()
    .trim();
  const r = execFileSync("Rscript", ["-e", "cat(as.character(getRversion()))"]).toString().trim();
  const image: DebianImage = {
    name: `localhost/slipway-test/debian:${RECIPE}`,
    python: { version: python, path: `/opt/python/${python}/bin/python3` },
    r: { version: r, path: `/opt/R/${r}/bin/R` },
  };
  if (exists(image.name)) return image;
  const work = mkdtempSync(path.join(tmpdir(), "slipway-debian-image-"));
  try {
    const list = path.join(work, "files");
    const own = new Set(OWN_PATHS);
    writeFileSync(
      list,
      filesOf(closure())
        .filter((file) => !own.has(file))
        .join("\n"),
    );
    // What Posit's images hold, and slipway inspect finds: versioned installations under /opt.
    const extra = path.join(work, "extra");
    mkdirSync(path.join(extra, "opt/python", python, "bin"), { recursive: true });
    symlinkSync("/usr/bin/python3", path.join(extra, "opt/python", python, "bin/python3"));
    mkdirSync(path.join(extra, "opt/R"), { recursive: true });
    symlinkSync("/usr/lib/R", path.join(extra, "opt/R", r));
    for (const top of ["bin", "lib", "lib64", "sbin"]) {
      symlinkSync(`usr/${top}`, path.join(extra, top));
    }
    mkdirSync(path.join(extra, "tmp"));
    chmodSync(path.join(extra, "tmp"), 0o1777);
    mkdirSync(path.join(extra, "etc"));
    writeFileSync(
      path.join(extra, "etc/passwd"),
      "root:x:0:0:root:/root:/bin/sh\ncontent:x:10001:10001:content:/tmp:/bin/sh\n",
    );
    writeFileSync(path.join(extra, "etc/group"), "root:x:0:\ncontent:x:10001:\n");
    const archive = path.join(work, "rootfs.tar");
    execFileSync("tar", ["-C", "/", "--no-recursion", "-cf", archive, "-T", list]);
    execFileSync("tar", ["-C", extra, "-rf", archive, ...OWN_PATHS]);
    execFileSync(
      "docker",
      ["import", "--change", "ENV PATH=/usr/local/bin:/usr/bin:/bin", archive, image.name],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    return image;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function readlinkOrNull(file: string): string | null {
  try {
    return readlinkSync(file);
  } catch {
    return null;
  }
}

function installed(pkg: string): boolean {
  try {
    return execFileSync("dpkg-query", ["-W", "-f=${Status}", pkg], {
      stdio: ["ignore", "pipe", "ignore"],
    })
      .toString()
      .includes("install ok installed");
  } catch {
    return false;
  }
}

function exists(name: string): boolean {
  try {
    execFileSync("docker", ["image", "inspect", name], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** The packages, everything they depend on, and Debian's essential packages: all installed ones. */
function closure(): string[] {
  const essential = execFileSync("dpkg-query", ["-W", "-f=${Package} ${Essential}\\n"])
    .toString()
    .split("\n")
    .filter((line) => line.endsWith(" yes"))
    .map((line) => line.split(" ")[0]!);
  const depends = execFileSync("apt-cache", [
    "depends",
    "--recurse",
    "--installed",
    "--no-recommends",
    "--no-suggests",
    "--no-conflicts",
    "--no-breaks",
    "--no-replaces",
    "--no-enhances",
    ...PACKAGES,
    ...essential,
  ])
    .toString()
    .split("\n")
    .filter((line) => /^[a-z0-9]/.test(line));
  return [...new Set(depends.map((line) => line.replace(/:amd64$/, "")))].filter(installed);
}

/**
 * The paths the packages installed, relative to / (tar adds them without descending), with the
 * alternatives links, the loader's cache and dpkg's record, which no package owns.
 */
function filesOf(packages: string[]): string[] {
  const out = execFileSync("dpkg", ["-L", ...packages], {
    maxBuffer: 256 * 1024 * 1024,
  }).toString();
  // Debian's R packages ask dpkg for the versions of the JavaScript libraries they link to.
  const files = new Set<string>(["etc/ld.so.cache", "var/lib/dpkg/status"]);
  for (const line of out.split("\n")) {
    if (!line.startsWith("/") || line === "/." || !existsSync(line)) continue;
    // Debian's merged /usr: /lib and /bin are links into /usr, so name files by where they are.
    const real = path.join(realpathSync(path.dirname(line)), path.basename(line));
    if (real !== "/") files.add(real.slice(1));
  }
  // Configuration made at install time (ucf's /etc/R/Renviron, alternatives) is in no list:
  // every folder of /etc a package uses comes whole.
  for (const file of [...files]) {
    if (!file.startsWith("etc/") || !statSync(`/${file}`).isDirectory()) continue;
    for (const entry of readdirSync(`/${file}`)) files.add(`${file}/${entry}`);
  }
  // The links that point at the alternatives (libblas.so.3, pager) belong to no package either.
  for (const dir of ["usr/bin", "usr/sbin", "usr/lib/x86_64-linux-gnu"]) {
    for (const name of readdirSync(`/${dir}`)) {
      const target = readlinkOrNull(`/${dir}/${name}`);
      if (target?.startsWith("/etc/alternatives/")) files.add(`${dir}/${name}`);
    }
  }
  return [...files];
}
