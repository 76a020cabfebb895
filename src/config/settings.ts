/**
 * Every setting Slipway reads, with its type, default and what it governs. The table below
 * is the only place settings are declared: parsing, validation, environment overrides and
 * `slipway config --help`-style listings all come from it.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { PULL_POLICIES } from "../environments/model.js";
import { didYouMean } from "../util/did-you-mean.js";
import { CONNECT_MEANINGS, CONNECT_SETTINGS } from "./connect-settings.js";
import { parseGcfg } from "./gcfg.js";
import { originConflict, parseContentOrigin, parseOrigin } from "./origins.js";

interface Option<T> {
  readonly default: T;
  readonly help: string;
  /** Repeatable keys accumulate; others keep the last value. */
  readonly repeatable: boolean;
  parse(raw: string): T;
}

const text = (fallback: string, help: string): Option<string> => ({
  default: fallback,
  help,
  repeatable: false,
  parse: (raw) => raw,
});

const oneOf = <const T extends string>(
  values: readonly T[],
  fallback: T,
  help: string,
): Option<T> => ({
  default: fallback,
  help: `${help} One of: ${values.join(", ")}.`,
  repeatable: false,
  parse(raw) {
    const found = values.find((v) => v.toLowerCase() === raw.toLowerCase());
    if (!found) throw new Error(`must be one of ${values.join(", ")}, not "${raw}"`);
    return found;
  },
});

const list = (help: string): Option<string[]> => ({
  default: [],
  help,
  repeatable: true,
  parse: (raw) => [raw],
});

const bool = (fallback: boolean, help: string): Option<boolean> => ({
  default: fallback,
  help,
  repeatable: false,
  parse(raw) {
    if (/^(true|yes|on|1)$/i.test(raw)) return true;
    if (/^(false|no|off|0)$/i.test(raw)) return false;
    throw new Error(`must be true or false, not "${raw}"`);
  },
});

const integer = (
  fallback: number,
  help: string,
  range: { min?: number; max?: number } = {},
): Option<number> => ({
  default: fallback,
  help,
  repeatable: false,
  parse(raw) {
    if (!/^\d+$/.test(raw)) throw new Error(`must be a whole number, not "${raw}"`);
    const value = Number(raw);
    if (range.min !== undefined && value < range.min) {
      throw new Error(`must be at least ${range.min}, not ${raw}`);
    }
    if (range.max !== undefined && value > range.max) {
      throw new Error(`must be at most ${range.max}, not ${raw}`);
    }
    return value;
  },
});

/** Seconds, as a whole number or as Connect writes durations (Go's: 90s, 5m, 1h30m). */
const duration = (fallback: number, help: string): Option<number> => ({
  default: fallback,
  help: `${help} Seconds, or a duration such as 90s, 5m or 1h30m.`,
  repeatable: false,
  parse(raw) {
    if (/^\d+$/.test(raw)) return Number(raw);
    const parts = [...raw.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
    if (parts.length === 0 || parts.map((p) => p[0]).join("") !== raw) {
      throw new Error(`must be a number of seconds or a duration such as 90s or 5m, not "${raw}"`);
    }
    const unit = { ms: 0.001, s: 1, m: 60, h: 3600 } as const;
    return parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2] as keyof typeof unit], 0);
  },
});

const decimal = (
  fallback: number,
  help: string,
  max = Number.POSITIVE_INFINITY,
): Option<number> => ({
  default: fallback,
  help,
  repeatable: false,
  parse(raw) {
    const value = Number(raw);
    if (!/^\d+(\.\d+)?$/.test(raw) || value > max) {
      throw new Error(`must be a number from 0 to ${max}, not "${raw}"`);
    }
    return value;
  },
});

const account = (fallback: string, help: string): Option<string> => ({
  default: fallback,
  help,
  repeatable: false,
  parse(raw) {
    const match = /^(\d+):(\d+)$/.exec(raw);
    if (!match) throw new Error(`must be UID:GID (such as 10001:10001), not "${raw}"`);
    if (match[1] === "0") throw new Error("must not be root (UID 0)");
    return raw;
  },
});

const address = (fallback: string, help: string): Option<string> => ({
  default: fallback,
  help,
  repeatable: false,
  parse(raw) {
    const match = /^(.*):(\d{1,5})$/.exec(raw);
    if (!match || Number(match[2]) > 65535) {
      throw new Error(`must be HOST:PORT (such as 127.0.0.1:3939), not "${raw}"`);
    }
    return raw;
  },
});

const checked = (
  fallback: string,
  help: string,
  check: (raw: string) => unknown,
): Option<string> => ({
  default: fallback,
  help,
  repeatable: false,
  parse(raw) {
    if (raw !== "") check(raw);
    return raw;
  },
});

export const VERSION_MATCHING = ["exact", "major-minor", "nearest"] as const;

export const SCHEMA = {
  Server: {
    Address: address(
      "127.0.0.1:3939",
      "Host and port the HTTP server listens on; 0.0.0.0:3939 to accept remote clients.",
    ),
    DataDir: text(
      "slipway-data",
      "Folder for the embedded database, bundles, package caches and logs; relative paths are taken from the working directory.",
    ),
    RVersionMatching: oneOf(
      VERSION_MATCHING,
      "nearest",
      "How an R installation is judged compatible with the R version a bundle asks for.",
    ),
    LogLevel: oneOf(
      ["fatal", "error", "warn", "info", "debug", "trace", "silent"],
      "info",
      "Least severity written to the JSON log on standard output.",
    ),
    BootstrapAdministrator: bool(
      true,
      "On the very first start with an empty store, create an administrator and print its API key once.",
    ),
    DashboardOrigin: checked(
      "",
      "The origin browsers reach the dashboard and API at, such as https://slipway.example.com. Needed with ContentOrigin, to send content visitors there to sign in.",
      parseOrigin,
    ),
    ContentOrigin: checked(
      "",
      "A separate origin to serve content from, such as https://content.example.com, or https://{guid}.content.example.com for one origin per content item. Content there can neither read nor use the dashboard's session: its pages cannot act as their visitors. Empty serves content beside the dashboard, with documents sandboxed.",
      parseContentOrigin,
    ),
    TrustedProxies: list(
      "Address or CIDR range of a reverse proxy whose X-Forwarded-For and X-Forwarded-Proto are believed (the client address sign-in throttling counts, and whether the browser used HTTPS). May repeat.",
    ),
    HeadersTimeoutSeconds: integer(
      30,
      "Time a client has to send a request's headers; a slower one gets 408 and its connection is closed.",
      { min: 1 },
    ),
    RequestTimeoutSeconds: integer(
      60,
      "Time a client has to send a request body once its headers have arrived; a slower one gets 408 and its connection is closed. A bundle upload may take longer as long as every such period brings at least [Bundles] UploadMinBytesPerSecond. A body the server answers without reading is drained for at most this long.",
      { min: 1 },
    ),
    BodyIdleTimeoutSeconds: integer(
      30,
      "Longest pause allowed within a request body, uploads included, before the client gets 408. Long-polls (GET /v1/tasks/{id}?wait=) send no body and are not affected.",
      { min: 1 },
    ),
    DiskFreeWarningPercent: integer(
      10,
      "At start, warn in the log when the file system holding DataDir has less than this share of its space free (0 never warns).",
      { max: 100 },
    ),
    DiskFreeWarningBytes: integer(
      1024 * 1024 * 1024,
      "At start, warn in the log when the file system holding DataDir has fewer free bytes than this (0 never warns).",
    ),
    SecretKey: checked(
      "",
      "Base64 of 32 random bytes (openssl rand -base64 32): the key content environment variables are encrypted with at rest. Empty keeps a key in DataDir/secret.key, made on the first start. Changing it makes stored values unreadable.",
      (raw) => {
        if (Buffer.from(raw, "base64").length !== 32) {
          throw new Error("must be base64 of 32 bytes (openssl rand -base64 32)");
        }
      },
    ),
  },
  Authentication: {
    FailedSignInsBeforeDelay: integer(
      5,
      "Wrong passwords in a row, per user name and per client address, before each further sign-in must wait: slows down password guessing.",
    ),
    SignInDelaySeconds: integer(
      1,
      "The first wait once FailedSignInsBeforeDelay is reached; it doubles with every further failure. 0 turns throttling off.",
    ),
    SignInMaxDelaySeconds: integer(
      900,
      "The longest wait between sign-in attempts, however many failed.",
    ),
    FailedSignInsForgetSeconds: integer(
      86400,
      "A run of failed sign-ins is forgotten once its last failure is this old.",
    ),
  },
  Python: {
    VersionMatching: oneOf(
      VERSION_MATCHING,
      "major-minor",
      "How a Python installation is judged compatible with the Python version a bundle asks for.",
    ),
    EnvironmentManagement: bool(
      true,
      "Build a virtual environment with the bundle's packages; false runs content with the image's Python as it is. A manifest or content setting overrides it.",
    ),
    PackageIndexURL: text(
      "",
      "pip's index URL for content builds; empty uses pip's default. With FindLinks and no index, builds run offline.",
    ),
    FindLinks: list(
      "A folder or URL of wheels pip may install from (pip --find-links). May repeat.",
    ),
    SystemSitePackages: bool(
      false,
      "Let content virtual environments see the interpreter's own site-packages (packages the image installed system-wide).",
    ),
  },
  R: {
    EnvironmentManagement: bool(
      true,
      "Install the bundle's R packages into the environment's package library; false uses the image's R library as it is.",
    ),
    RepositoryURL: text("https://cloud.r-project.org", "Where R packages are installed from."),
  },
  Bundles: {
    MaxBytes: integer(
      2 * 1024 * 1024 * 1024,
      "Largest bundle upload accepted, in bytes as sent (gzip-compressed); a longer body is cut off with 413 as soon as it passes this. 2 GiB by default: larger than any bundle rsconnect or posit-sdk sends for a real project, small enough to keep one upload from filling the data folder.",
    ),
    MaxExpandedBytes: integer(
      4 * 1024 * 1024 * 1024,
      "Largest a bundle may be once decompressed, in bytes (its files plus 512 bytes of tar header per entry). Refused as soon as an entry's declared size or the decompressed stream passes it, so a gzip bomb costs at most this much inflating (about 1 GiB a second on one core). 4 GiB by default: twice MaxBytes, room for data that compresses 2:1.",
    ),
    MaxFiles: integer(
      100_000,
      "Most entries (files, folders and links) a bundle may hold, refused at the first entry over. 100,000 by default: ten times rsconnect's own default of 10,000 files.",
    ),
    MaxPathLength: integer(
      1024,
      "Longest path of an entry in a bundle, in bytes of UTF-8. Linux refuses paths over 4,096 bytes, and this path is joined to the data folder's, so keep it well below that. 1,024 by default.",
    ),
    MaxNameLength: integer(
      255,
      "Longest single file or folder name in a bundle, in bytes of UTF-8. 255 by default, the limit of ext4, XFS and most other file systems.",
    ),
    MaxDepth: integer(
      64,
      "Most folders an entry of a bundle may lie inside. 64 by default: far deeper than real projects nest, shallow enough that a path cannot be made of thousands of one-letter folders.",
    ),
    MaxManifestBytes: integer(
      16 * 1024 * 1024,
      "Largest manifest.json accepted, in bytes, refused from the entry's header before any of it is read. 16 MiB by default: a manifest listing 100,000 files with their checksums is about 10 MB.",
    ),
    MaxManifestDepth: integer(
      32,
      "Deepest nesting of objects and arrays in manifest.json, checked as its bytes arrive and before it is parsed. Connect's manifests nest 4 levels; 32 by default.",
    ),
    StagingMaxAgeMinutes: integer(
      60,
      "At start, staging folders of uploads (under DataDir/staging) untouched for this long are removed: they were left by a server that stopped mid-upload. An upload in progress writes to its folder with every chunk it receives, so this only needs to exceed the longest pause a client may take, and any clock difference between servers sharing the data folder.",
    ),
    MaxConcurrentUploads: integer(
      4,
      "Bundle uploads received at once; one more is refused with 503 and Retry-After, so uploads cannot crowd out disk and CPU.",
      { min: 1 },
    ),
    UploadMinBytesPerSecond: integer(
      1024,
      "Least average rate of a bundle upload over each [Server] RequestTimeoutSeconds; a slower upload gets 408.",
    ),
  },
  Applications: {
    RunAs: text(
      "",
      "Account that content builds and runs as on the local runner (Connect's Applications.RunAs), so it cannot read the server's database, keys or other content. Empty: the account slipway-content, created at start when the server runs as root; a server not running as root runs content as itself. Never root unless RunAsRootAllowed.",
    ),
    RunAsRootAllowed: bool(
      false,
      "Let content run as root when RunAs names root; without it, the server refuses to start.",
    ),
    Sandbox: bool(
      true,
      "Run each local build and process under bubblewrap (/usr/bin/bwrap), where the data folder holds only the job's own bundle, cache and output: the database, keys, logs and other content are not there to read. Off, or bubblewrap missing: only the account and file modes protect them.",
    ),
    Supervisor: text(
      "",
      "Program that wraps every process the server starts on its own host (Connect's Applications.Supervisor). With a container backend it wraps only server-local processes, never content; give environments their own supervisor for that.",
    ),
    RenderTimeoutSeconds: integer(
      3600,
      "How long rendering a document may take before it is stopped as failed.",
    ),
    HostEnvironment: bool(
      true,
      "On a first start with an empty catalog and the local runner, register this machine's own Python, R and Quarto as an environment.",
    ),
  },
  Scheduler: {
    MinProcesses: integer(
      0,
      "Application processes kept running for content whose min_processes is unset; 0 lets idle applications stop.",
    ),
    MaxProcesses: integer(
      3,
      "Most processes one application runs for content whose max_processes is unset.",
    ),
    MaxProcessesLimit: integer(
      20,
      "Highest max_processes (and min_processes) content may ask for.",
    ),
    MaxConnsPerProcess: integer(
      20,
      "Most client connections one process takes for content whose max_conns_per_process is unset.",
    ),
    LoadFactor: decimal(
      0.5,
      "How eagerly more processes start, from 0 (as soon as a second connection arrives) to 1 (only when every process is full), for content whose load_factor is unset.",
      1,
    ),
    IdleTimeout: duration(
      5,
      "Seconds an application process with no connections stays up before it stops, for content whose idle_timeout is unset.",
    ),
    InitTimeout: duration(
      60,
      "Seconds an application may take from its start to answering on its port, for content whose init_timeout is unset.",
    ),
    ConnectionTimeout: duration(
      3600,
      "Seconds a client connection to an application may pass with no data either way (0: never), for content whose connection_timeout is unset.",
    ),
    ReadTimeout: duration(
      3600,
      "Seconds a client connection may pass without sending anything (0: never), for content whose read_timeout is unset.",
    ),
  },
  Quarto: {
    VersionMatching: oneOf(
      VERSION_MATCHING,
      "nearest",
      "How a Quarto installation is judged compatible with the Quarto version a bundle asks for.",
    ),
  },
  Database: {
    Provider: oneOf(
      ["sqlite", "postgres"],
      "sqlite",
      "sqlite keeps everything in one file under DataDir; postgres lets several servers share one catalog.",
    ),
  },
  Postgres: {
    URL: text("", "Connection URL, such as postgres://slipway@db.example.com:5432/slipway."),
    Password: text(
      "",
      "Password for the URL's user, kept out of the URL so it can come from a secret.",
    ),
  },
  Launcher: {
    ClusterDefinition: list(
      "Bootstrap file (legacy runtime.yaml) whose images are created when the catalog is empty. May repeat.",
    ),
  },
  Git: {
    Executable: text("git", "The git program that fetches git-backed content."),
    AllowLocalRepositories: bool(
      false,
      "Let publishers deploy from file:// repositories on the server's own disk, which they could otherwise not read.",
    ),
    PollingFrequency: duration(
      900,
      "How often the branch of each git-backed content item with polling on is checked for a new commit.",
    ),
  },
  ExecutionEnvironments: {
    ConfigFilePath: text(
      "",
      "Declarative file of environments (the Helm value executionEnvironments), applied at start and on every change.",
    ),
  },
  Docker: {
    Enabled: bool(
      false,
      "Run every build and run of content as a container of its environment's image on a Docker engine, or Podman through its Docker-compatible API, instead of as processes on this machine.",
    ),
    Host: text(
      "/var/run/docker.sock",
      "The engine's API: a unix socket (Podman's is /run/podman/podman.sock) or an http(s) URL. The engine must see DataDir at the same path: jobs bind their folders from it.",
    ),
    Network: oneOf(
      ["auto", "bridge", "host"],
      "auto",
      "bridge publishes each application on 127.0.0.1 of the engine's host; host shares the host's network, for engines without a bridge; auto takes bridge when the engine has one.",
    ),
    User: account(
      "10001:10001",
      "UID:GID that content builds and runs as inside containers; never root.",
    ),
    PullPolicy: oneOf(
      PULL_POLICIES,
      "if-not-present",
      "When images are pulled, for environments whose image_pull_policy is unset.",
    ),
    RegistryConfig: text(
      "",
      "A Docker config.json whose auths give credentials for private registries; empty pulls anonymously.",
    ),
    InitContainerImage: text(
      "",
      "The content-init image that copies Slipway's runtime helpers into each application's container; empty is localhost/slipway/content-init:<Slipway's version>, as deploy/images/build.sh content-init tags it.",
    ),
  },
  Kubernetes: {
    Enabled: bool(
      false,
      "Run every build and run of content as a Kubernetes Job in its environment's image, instead of as processes on this machine.",
    ),
    Namespace: text(
      "",
      "Namespace content Jobs and Services are created in; empty means the namespace of the server's own service account (default outside a cluster).",
    ),
    Kubeconfig: text(
      "",
      "A kubeconfig file for reaching the cluster from outside it, such as a workstation or a test; empty uses the pod's in-cluster service account.",
    ),
    DataDirPVCName: text(
      "",
      "The ReadWriteMany PersistentVolumeClaim that holds DataDir; content pods mount it by per-job sub-paths, so builds and runs see the bundles and package caches the server sees.",
    ),
    DataDirPVCSubPath: text(
      "",
      "The folder of DataDirPVCName that the server mounts as DataDir (relative, without ..); content pods' sub-paths start from it, so it must match the server's own mount.",
    ),
    DefaultResourceJobBase: text(
      "",
      "A YAML file holding a batch/v1 Job that every content Job starts from (node selectors, tolerations, pull secrets, security context); Slipway overrides only the fields it must control.",
    ),
    DefaultResourceServiceBase: text(
      "",
      "A YAML file holding a v1 Service that the Service of every interactive app starts from.",
    ),
    InitContainerImage: text(
      "",
      "Image of the init container that copies Slipway's runtime helpers into each content pod; empty is localhost/slipway/content-init:<Slipway's version>, as deploy/images/build.sh content-init tags it.",
    ),
    InitContainerImagePullPolicy: oneOf(
      ["Always", "IfNotPresent", "Never"],
      "IfNotPresent",
      "When the kubelet pulls InitContainerImage.",
    ),
    JobTTLSeconds: integer(
      0,
      "Seconds a finished content Job stays in the cluster before the cluster deletes it (ttlSecondsAfterFinished); 0 leaves it to Slipway, which removes each Job once it has its output.",
    ),
    PrePullImages: bool(
      false,
      "Keeps the catalog's images and the content-init image pulled on every node with a DaemonSet, updated when the catalog changes, so content starts without waiting for a pull. Needs the right to manage DaemonSets in the namespace (the chart grants it with backends.kubernetes.prePullImages).",
    ),
  },
  Metrics: {
    PrometheusListen: address(
      "",
      "Where /metrics is served in Prometheus text format, on a listener of its own: HOST:PORT, or :PORT for every interface; empty turns it off.",
    ),
  },
} as const;

type Schema = typeof SCHEMA;
export type Settings = {
  -readonly [S in keyof Schema]: {
    -readonly [K in keyof Schema[S]]: Schema[S][K] extends Option<infer T> ? T : never;
  };
};

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

export interface LoadOptions {
  /** Path of a .gcfg file; none means defaults plus environment overrides. */
  file?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Values that win over the file and the environment (used by tests and CLI flags). */
  overrides?: Partial<{ [S in keyof Settings]: Partial<Settings[S]> }>;
}

/** A Connect setting the file gave that Slipway does not use. */
export interface IgnoredSetting {
  /** `[Section] Key` or `[Section "name"] Key`, as the file wrote it. */
  setting: string;
  /** file:line of its first occurrence. */
  where: string;
  reason?: string;
}

export interface LoadedConfiguration {
  settings: Settings;
  /** Each Connect key the file gave that Slipway does not use, once, in file order. */
  ignored: IgnoredSetting[];
}

/** {@link loadConfiguration} for callers that need only the settings. */
export function loadSettings(options: LoadOptions = {}): Settings {
  return loadConfiguration(options).settings;
}

/**
 * Builds the settings: defaults, then the file, then `SLIPWAY_<SECTION>_<KEY>` variables,
 * then explicit overrides. Keys Posit Connect defines and Slipway does not use are collected
 * as ignored, so a Connect `rstudio-connect.gcfg` starts Slipway; sections and keys neither
 * defines, and bad values, stop the load with file:line messages, all of them at once.
 */
export function loadConfiguration(options: LoadOptions = {}): LoadedConfiguration {
  const env = options.env ?? process.env;
  const settings = defaults();
  const problems: string[] = [];
  const ignored: IgnoredSetting[] = [];
  const seen = new Set<string>();

  if (options.file) {
    let content: string;
    try {
      content = readFileSync(options.file, "utf8");
    } catch (error) {
      throw new ConfigError([`${options.file}: cannot read: ${(error as Error).message}`]);
    }
    const parsed = parseGcfg(content);
    if (!parsed.ok) {
      for (const p of parsed.problems)
        problems.push(`${options.file}:${p.line}:${p.column}: ${p.message}`);
    }
    const reported = new Set<string>();
    for (const entry of parsed.entries) {
      const found = lookup(entry.section, entry.key, entry.value);
      if ("ignored" in found) {
        const header =
          entry.subsection === null ? entry.section : `${entry.section} "${entry.subsection}"`;
        const setting = `[${header}] ${entry.key}`;
        if (!reported.has(setting.toLowerCase())) {
          ignored.push({ setting, where: `${options.file}:${entry.line}`, reason: found.reason });
        }
        reported.add(setting.toLowerCase());
        continue;
      }
      if ("problem" in found) {
        const line = found.wholeSection ? entry.sectionLine : entry.line;
        const problem = `${options.file}:${line}: ${found.problem}`;
        if (!reported.has(problem)) problems.push(problem);
        reported.add(problem);
        continue;
      }
      const where = `${options.file}:${entry.line}`;
      const id = `${found.section}.${found.key}`;
      try {
        assign(settings, found.section, found.key, entry.value, seen.has(id));
        seen.add(id);
      } catch (error) {
        problems.push(`${where}: ${id} ${(error as Error).message}`);
      }
    }
  }

  for (const [section, keys] of Object.entries(SCHEMA)) {
    for (const key of Object.keys(keys)) {
      const variable = `SLIPWAY_${section}_${key}`.toUpperCase();
      const value = env[variable];
      if (value === undefined) continue;
      try {
        assign(settings, section, key, value, false);
      } catch (error) {
        problems.push(`environment variable ${variable} ${(error as Error).message}`);
      }
    }
  }

  if (problems.length > 0) throw new ConfigError(problems);

  for (const [section, values] of Object.entries(options.overrides ?? {})) {
    Object.assign((settings as Record<string, object>)[section]!, values);
  }
  settings.Server.DataDir = path.resolve(options.cwd ?? process.cwd(), settings.Server.DataDir);
  if (settings.Database.Provider === "postgres" && !settings.Postgres.URL) {
    throw new ConfigError(['Database.Provider is "postgres" but Postgres.URL is empty.']);
  }
  const { ContentOrigin, DashboardOrigin } = settings.Server;
  if (ContentOrigin) {
    if (!DashboardOrigin) {
      throw new ConfigError([
        "Server.ContentOrigin is set but Server.DashboardOrigin is empty: visitors who must sign in are sent there.",
      ]);
    }
    const conflict = originConflict(
      parseContentOrigin(ContentOrigin),
      parseOrigin(DashboardOrigin),
    );
    if (conflict) throw new ConfigError([`Server.${conflict}.`]);
  }
  return { settings, ignored };
}

/** One line for the start-up log naming every ignored Connect setting. */
export function describeIgnored(ignored: readonly IgnoredSetting[]): string {
  const items = ignored.map((i) => `${i.setting} (${i.where}${i.reason ? `: ${i.reason}` : ""})`);
  return `Posit Connect settings that Slipway does not use, ignored: ${items.join(", ")}`;
}

export function defaults(): Settings {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [section, keys] of Object.entries(SCHEMA)) {
    out[section] = {};
    for (const [key, option] of Object.entries(keys)) {
      const d = (option as Option<unknown>).default;
      out[section][key] = Array.isArray(d) ? [...d] : d;
    }
  }
  return out as Settings;
}

type Lookup =
  | { section: string; key: string }
  | { ignored: true; reason?: string }
  | { problem: string; wholeSection: boolean };

const CONNECT_SECTIONS = Object.keys(CONNECT_SETTINGS);

function findName(name: string, candidates: readonly string[]): string | undefined {
  return candidates.find((c) => c.toLowerCase() === name.toLowerCase());
}

function lookup(section: string, key: string, value: string): Lookup {
  const sectionName = findName(section, Object.keys(SCHEMA));
  const connectSection = findName(section, CONNECT_SECTIONS);
  const connectKeys = connectSection ? CONNECT_SETTINGS[connectSection]! : [];
  const connectKey = findName(key, connectKeys);

  if (sectionName) {
    const keys = Object.keys(SCHEMA[sectionName as keyof Schema]);
    const keyName = findName(key, keys);
    if (keyName) {
      const meaning = CONNECT_MEANINGS[`${sectionName}.${keyName}`];
      if (meaning?.test(value)) return { ignored: true, reason: meaning.reason };
      return { section: sectionName, key: keyName };
    }
    if (connectKey) return { ignored: true };
    return {
      problem: `unknown key ${key} in [${sectionName}]${hint(key, keys) || hint(key, connectKeys)}`,
      wholeSection: false,
    };
  }
  if (connectSection) {
    if (connectKey) return { ignored: true };
    return {
      problem: `unknown key ${key} in [${connectSection}], a Posit Connect section Slipway does not use${hint(key, connectKeys)}`,
      wholeSection: false,
    };
  }
  return {
    problem: `unknown section [${section}]${hint(section, [...Object.keys(SCHEMA), ...CONNECT_SECTIONS])}`,
    wholeSection: true,
  };
}

function assign(
  settings: Settings,
  section: string,
  key: string,
  raw: string,
  append: boolean,
): void {
  const option = (SCHEMA as Record<string, Record<string, Option<unknown>>>)[section]![key]!;
  const target = (settings as unknown as Record<string, Record<string, unknown>>)[section]!;
  const value = option.parse(raw);
  target[key] =
    option.repeatable && append ? [...(target[key] as unknown[]), ...(value as unknown[])] : value;
}

function hint(word: string, candidates: readonly string[]): string {
  const close = didYouMean(word, candidates);
  return close ? ` (did you mean ${close}?)` : "";
}
