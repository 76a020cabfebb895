/**
 * manifest.json as rsconnect-python, rsconnect (R) and posit-sdk write it, and what it says
 * the content needs. Unknown fields are tolerated; a field of the wrong type is refused with
 * code 38 and its JSON path. Pure.
 */
import { ApiError } from "../errors.js";
import { parseSpecifiers, type SpecifierSet } from "./specifiers.js";
import { formatVersion, parseVersion } from "./versions.js";

export interface Manifest {
  version?: number;
  locale?: string;
  platform?: string;
  metadata: {
    appmode: string;
    entrypoint?: string;
    primary_rmd?: string;
    primary_html?: string;
    content_category?: string;
    has_parameters?: boolean;
  };
  python?: {
    version?: string;
    package_manager?: {
      name?: string;
      version?: string;
      package_file?: string;
      allow_uv?: boolean;
    };
  };
  quarto?: { version?: string; engines?: string[] };
  environment?: {
    image?: string;
    identifier?: string;
    python?: { requires?: string };
    r?: { requires?: string };
    environment_management?: { python?: boolean; r?: boolean };
  };
  packages?: Record<string, unknown>;
  files?: Record<string, { checksum?: string }>;
}

export const APP_MODES = [
  "api",
  "jupyter-static",
  "jupyter-voila",
  "python-api",
  "python-bokeh",
  "python-dash",
  "python-fastapi",
  "python-gradio",
  "python-shiny",
  "python-streamlit",
  "python-panel",
  "quarto-shiny",
  "quarto-static",
  "rmd-static",
  "rmd-shiny",
  "shiny",
  "static",
  "tensorflow-saved-model",
] as const;

const R_APP_MODES = new Set(["api", "shiny", "rmd-static", "rmd-shiny"]);

export interface RuntimeNeed {
  /** The version the content was developed with, when the manifest says. */
  readonly version: string | null;
  /** A hard filter from `environment.<runtime>.requires`. */
  readonly constraint: SpecifierSet | null;
}

export interface ContentNeeds {
  readonly appMode: string;
  readonly entrypoint: string | null;
  readonly python?: RuntimeNeed;
  readonly r?: RuntimeNeed;
  readonly quarto?: RuntimeNeed;
  readonly pin: { readonly identifier?: string; readonly image?: string };
  /** false when the manifest turns package installation off for that runtime. */
  readonly management: { readonly python?: boolean; readonly r?: boolean };
}

type Json = unknown;

/** Parses manifest text or an already-parsed value; throws ApiError code 38 naming the path. */
export function parseManifest(input: string | Json): Manifest {
  let value: Json = input;
  if (typeof input === "string") {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw invalid(`is not valid JSON (${(error as Error).message})`);
    }
  }
  const root = object(value, "");
  const metadata = object(root.metadata, "metadata");
  const manifest: Manifest = {
    version: optional(root.version, "version", "number"),
    locale: optional(root.locale, "locale", "string"),
    platform: optional(root.platform, "platform", "string"),
    metadata: {
      appmode: required(metadata.appmode, "metadata.appmode", "string"),
      entrypoint: optional(metadata.entrypoint, "metadata.entrypoint", "string"),
      primary_rmd: optional(metadata.primary_rmd, "metadata.primary_rmd", "string"),
      primary_html: optional(metadata.primary_html, "metadata.primary_html", "string"),
      content_category: optional(metadata.content_category, "metadata.content_category", "string"),
      has_parameters: optional(metadata.has_parameters, "metadata.has_parameters", "boolean"),
    },
  };
  if (root.python !== undefined && root.python !== null) {
    const python = object(root.python, "python");
    const manager =
      python.package_manager === undefined || python.package_manager === null
        ? undefined
        : object(python.package_manager, "python.package_manager");
    manifest.python = {
      version: optional(python.version, "python.version", "string"),
      package_manager: manager && {
        name: optional(manager.name, "python.package_manager.name", "string"),
        version: optional(manager.version, "python.package_manager.version", "string"),
        package_file: optional(
          manager.package_file,
          "python.package_manager.package_file",
          "string",
        ),
        allow_uv: optional(manager.allow_uv, "python.package_manager.allow_uv", "boolean"),
      },
    };
  }
  if (root.quarto !== undefined && root.quarto !== null) {
    const quarto = object(root.quarto, "quarto");
    manifest.quarto = {
      version: optional(quarto.version, "quarto.version", "string"),
      engines: stringList(quarto.engines, "quarto.engines"),
    };
  }
  if (root.environment !== undefined && root.environment !== null) {
    const environment = object(root.environment, "environment");
    const requires = (runtime: "python" | "r") => {
      const section = environment[runtime];
      if (section === undefined || section === null) return undefined;
      const o = object(section, `environment.${runtime}`);
      return { requires: optional(o.requires, `environment.${runtime}.requires`, "string") };
    };
    const management =
      environment.environment_management === undefined ||
      environment.environment_management === null
        ? undefined
        : object(environment.environment_management, "environment.environment_management");
    manifest.environment = {
      image: optional(environment.image, "environment.image", "string"),
      identifier: optional(environment.identifier, "environment.identifier", "string"),
      python: requires("python"),
      r: requires("r"),
      environment_management: management && {
        python: optional(management.python, "environment.environment_management.python", "boolean"),
        r: optional(management.r, "environment.environment_management.r", "boolean"),
      },
    };
  }
  if (root.packages !== undefined && root.packages !== null)
    manifest.packages = object(root.packages, "packages");
  if (root.files !== undefined && root.files !== null) {
    manifest.files = object(root.files, "files") as Manifest["files"];
  }
  return manifest;
}

/** What the content needs from an environment (selection.md, section 1). */
export function contentNeeds(manifest: Manifest): ContentNeeds {
  const appMode = manifest.metadata.appmode;
  const entrypoint =
    manifest.metadata.entrypoint ??
    manifest.metadata.primary_rmd ??
    manifest.metadata.primary_html ??
    null;
  const pin = {
    ...(manifest.environment?.identifier ? { identifier: manifest.environment.identifier } : {}),
    ...(manifest.environment?.image ? { image: manifest.environment.image } : {}),
  };
  const management = { ...manifest.environment?.environment_management };
  if (appMode === "static") return { appMode, entrypoint, pin, management };

  const pythonMode = appMode.startsWith("python-") || appMode.startsWith("jupyter-");
  const quartoMode = appMode.startsWith("quarto-");
  const knitr = manifest.quarto?.engines?.includes("knitr") ?? false;
  const needsPython = pythonMode || manifest.python !== undefined;
  const needsR =
    R_APP_MODES.has(appMode) ||
    (quartoMode && knitr) ||
    Object.keys(manifest.packages ?? {}).length > 0 ||
    (manifest.platform !== undefined && !pythonMode);
  const needsQuarto = quartoMode || manifest.quarto !== undefined;

  return {
    appMode,
    entrypoint,
    pin,
    management,
    ...(needsPython && {
      python: need(manifest.python?.version, manifest.environment?.python?.requires, "python"),
    }),
    ...(needsR && { r: need(manifest.platform, manifest.environment?.r?.requires, "r") }),
    ...(needsQuarto && { quarto: need(manifest.quarto?.version, undefined, "quarto") }),
  };
}

function need(
  version: string | undefined,
  requires: string | undefined,
  runtime: string,
): RuntimeNeed {
  let wanted: string | null = null;
  if (version !== undefined && version.trim() !== "") {
    // Interpreters report versions such as 3.11.7+ or 3.12.0rc1: the numeric release decides.
    const numeric = /^\s*(\d+(?:\.\d+)*)/.exec(version)?.[1];
    if (!numeric) throw invalid(`${runtime} version "${version}" is not a dotted numeric version`);
    wanted = formatVersion(parseVersion(numeric));
  }
  let constraint: SpecifierSet | null = null;
  if (requires !== undefined && requires.trim() !== "") {
    try {
      constraint = parseSpecifiers(requires);
    } catch (error) {
      throw invalid(`environment.${runtime}.requires: ${(error as Error).message}`);
    }
  }
  return { version: wanted, constraint };
}

function invalid(problem: string): ApiError {
  return new ApiError("invalidManifest", `manifest.json: ${problem}.`);
}

function describe(path: string): string {
  return path === "" ? "the manifest" : path;
}

function object(value: Json, path: string): Record<string, Json> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw invalid(`${describe(path)} must be an object`);
  }
  return value as Record<string, Json>;
}

function required<T extends "string" | "number" | "boolean">(value: Json, path: string, type: T) {
  if (value === undefined || value === null) throw invalid(`${path} is required`);
  return optional(value, path, type)!;
}

function optional<T extends "string" | "number" | "boolean">(
  value: Json,
  path: string,
  type: T,
): (T extends "string" ? string : T extends "number" ? number : boolean) | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== type) throw invalid(`${path} must be a ${type}`);
  return value as never;
}

function stringList(value: Json, path: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw invalid(`${path} must be a list of strings`);
  return value.map((item, i) => {
    if (typeof item !== "string") throw invalid(`${path}[${i}] must be a string`);
    return item;
  });
}
