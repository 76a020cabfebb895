/**
 * What a bundle's build installed, read from the built environment itself — each Python
 * distribution's `METADATA` in the virtual environment, each R package's `DESCRIPTION` in the
 * library — with the manifest's R packages filling in those the image already held. Recorded
 * on the bundle once built, for Connect's packages and lockfile endpoints.
 */
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { Manifest } from "../environments/manifest.js";
import type { Built } from "./jobs.js";

export interface InstalledPackage {
  language: "python" | "r";
  language_version: string | null;
  name: string;
  version: string;
  /** The package's description hash (R); null for Python. */
  hash: string | null;
}

export async function installedPackages(
  dataDir: string,
  built: Built,
  manifest: Manifest,
  versions: { python: string | null; r: string | null },
): Promise<InstalledPackage[]> {
  const found: InstalledPackage[] = [];
  if (built.pythonEnv) {
    const lib = path.join(dataDir, built.pythonEnv, "lib");
    for (const python of await names(lib)) {
      const site = path.join(lib, python, "site-packages");
      for (const entry of await names(site)) {
        if (!entry.endsWith(".dist-info")) continue;
        const fields = headerFields(await text(path.join(site, entry, "METADATA")));
        if (fields.Name && fields.Version) {
          found.push(pkg("python", versions.python, fields.Name, fields.Version, null));
        }
      }
    }
  }
  const inLibrary = new Set<string>();
  if (built.rLibrary) {
    const library = path.join(dataDir, built.rLibrary);
    for (const entry of await names(library)) {
      const fields = headerFields(await text(path.join(library, entry, "DESCRIPTION")));
      if (fields.Package && fields.Version) {
        inLibrary.add(fields.Package);
        found.push(pkg("r", versions.r, fields.Package, fields.Version, null));
      }
    }
  }
  for (const [name, info] of Object.entries(manifest.packages ?? {})) {
    if (inLibrary.has(name)) continue;
    const description = (info as { description?: Record<string, unknown> } | null)?.description;
    const version = description?.Version;
    if (typeof version !== "string") continue;
    const hash =
      typeof (info as { hash?: unknown })?.hash === "string"
        ? (info as { hash: string }).hash
        : null;
    found.push(pkg("r", versions.r, name, version, hash));
  }
  return found.sort((a, b) => a.language.localeCompare(b.language) || a.name.localeCompare(b.name));
}

/** A lockfile of the packages: pinned requirements for Python, renv.lock for R. */
export function lockfile(
  packages: readonly InstalledPackage[],
  language: "python" | "r",
): { text: string; fileName: string; type: string } {
  const mine = packages.filter((p) => p.language === language);
  if (language === "python") {
    return {
      text: mine.map((p) => `${p.name}==${p.version}\n`).join(""),
      fileName: "requirements.txt",
      type: "text/plain; charset=utf-8",
    };
  }
  const lock = {
    R: { Version: mine[0]?.language_version ?? null },
    Packages: Object.fromEntries(
      mine.map((p) => [p.name, { Package: p.name, Version: p.version, Source: "Repository" }]),
    ),
  };
  return {
    text: `${JSON.stringify(lock, null, 2)}\n`,
    fileName: "renv.lock",
    type: "application/json; charset=utf-8",
  };
}

function pkg(
  language: "python" | "r",
  languageVersion: string | null,
  name: string,
  version: string,
  hash: string | null,
): InstalledPackage {
  return { language, language_version: languageVersion, name, version, hash };
}

/** `Key: value` lines up to the first blank line (METADATA and DESCRIPTION alike). */
function headerFields(body: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of body.split(/\r?\n/)) {
    if (line === "") break;
    const match = /^([A-Za-z][A-Za-z0-9-]*):\s*(.*)$/.exec(line);
    if (match) fields[match[1]!] ??= match[2]!.trim();
  }
  return fields;
}

async function names(folder: string): Promise<string[]> {
  return readdir(folder).catch(() => []);
}

async function text(file: string): Promise<string> {
  return readFile(file, "utf8").catch(() => "");
}
