/**
 * Reads an image without an engine running it: a docker-archive or OCI-archive tar (a file,
 * or the engine's `save` stream) or an OCI image layout folder. Archives are read in one
 * streaming pass with nothing written to disk: of each layer only its file list is kept, plus
 * the few tiny files that tell a version; the JSON documents saying which layers apply in
 * which order are kept whole and read at the end (`docker save` writes them last).
 */
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { type Header, Parser, type ReadEntry } from "tar";
import { applyLayer, type FileTree, type LayerEntry } from "./layers.js";

export interface ImageFiles {
  tree: FileTree;
  /** PATH from the image configuration, when it sets one. */
  searchPath: string | undefined;
  /** The image's name as the archive records it, if it does. */
  name: string | undefined;
}

/** What an image's manifests point at: JSON documents and layer tars, by path in the archive. */
interface Blobs {
  json(name: string): Promise<unknown>;
  layer(name: string): Promise<LayerEntry[]>;
}

const VERSION_FILE = /\/share\/version$/;
/** Manifests and configs are a few kilobytes; anything larger is only ever a layer. */
const DOCUMENT_LIMIT = 4 << 20;

/** Reads a docker-archive or OCI-archive tar file, or an OCI layout folder. */
export async function readImageArchive(location: string): Promise<ImageFiles> {
  if (!(await stat(location)).isDirectory()) return readImageStream(createReadStream(location));
  return readImage({
    json: async (name) => JSON.parse(await readFile(path.join(location, name), "utf8")),
    layer: (name) => layerEntries(createReadStream(path.join(location, name))),
  });
}

/** Reads a docker-archive or OCI-archive tar as it streams by, e.g. from the engine's `save`. */
export async function readImageStream(input: NodeJS.ReadableStream): Promise<ImageFiles> {
  const documents = new Map<string, Buffer>();
  const layers = new Map<string, Promise<LayerEntry[]>>();
  const links = new Map<string, string>();
  const outer = new Parser();
  outer.on("entry", (entry: ReadEntry) => {
    const name = path.posix.normalize(entry.path);
    if (entry.type === "SymbolicLink" && entry.linkpath) {
      // docker save links a layer shared by two saved images to its first copy.
      links.set(name, path.posix.join(path.posix.dirname(name), entry.linkpath));
    }
    if (entry.type !== "File") return entry.resume();
    const chunks: Buffer[] = [];
    const inner = name.endsWith(".tar") || name.startsWith("blobs/") ? new Parser() : undefined;
    if (inner) layers.set(name, collectEntries(inner));
    const keep = (entry.size ?? 0) <= DOCUMENT_LIMIT;
    entry.on("data", (chunk: Buffer) => {
      if (keep) chunks.push(chunk);
      inner?.write(chunk);
    });
    entry.on("end", () => {
      if (keep) documents.set(name, Buffer.concat(chunks));
      inner?.end();
    });
  });
  await pipeline(input, outer);
  const follow = (name: string) => {
    let current = path.posix.normalize(name);
    for (let hops = 0; links.has(current) && hops < 10; hops++) current = links.get(current)!;
    return current;
  };
  return readImage({
    json: async (name) => {
      const document = documents.get(follow(name));
      if (!document) throw new Error(`the archive has no ${name}`);
      return JSON.parse(document.toString("utf8"));
    },
    layer: async (name) => {
      const entries = layers.get(follow(name));
      if (!entries) throw new Error(`the archive has no layer ${name}`);
      return entries;
    },
  });
}

interface DockerManifest {
  Config: string;
  Layers: string[];
  RepoTags?: string[] | null;
}
interface OciIndex {
  manifests: { digest: string; annotations?: Record<string, string> }[];
}
interface OciManifest {
  manifests?: { digest: string }[];
  config: { digest: string };
  layers: { digest: string }[];
}
interface ImageConfig {
  config?: { Env?: string[] | null };
}

/** Follows docker-archive's manifest.json, or else OCI's index.json, to the config and layers. */
async function readImage(blobs: Blobs): Promise<ImageFiles> {
  let layers: string[];
  let configFile: string;
  let name: string | undefined;
  const dockerManifest = (await blobs.json("manifest.json").catch(() => undefined)) as
    | DockerManifest[]
    | undefined;
  if (Array.isArray(dockerManifest) && dockerManifest[0]) {
    layers = dockerManifest[0].Layers;
    configFile = dockerManifest[0].Config;
    name = dockerManifest[0].RepoTags?.[0];
  } else {
    const index = (await blobs.json("index.json").catch(() => undefined)) as OciIndex | undefined;
    const first = index?.manifests?.[0];
    if (!first)
      throw new Error("not a docker-archive or OCI image (no manifest.json or index.json)");
    name = first.annotations?.["io.containerd.image.name"];
    const blob = (digest: string) => path.posix.join("blobs", ...digest.split(":"));
    let manifest = (await blobs.json(blob(first.digest))) as OciManifest;
    // A multi-platform index: take its first image.
    if (manifest.manifests?.[0]) {
      manifest = (await blobs.json(blob(manifest.manifests[0].digest))) as OciManifest;
    }
    layers = manifest.layers.map((l) => blob(l.digest));
    configFile = blob(manifest.config.digest);
  }
  const config = (await blobs.json(configFile)) as ImageConfig;
  const env = config.config?.Env ?? [];
  const tree: FileTree = new Map();
  for (const layer of layers) applyLayer(tree, await blobs.layer(layer));
  return { tree, searchPath: env.find((e) => e.startsWith("PATH="))?.slice(5), name };
}

async function layerEntries(input: NodeJS.ReadableStream): Promise<LayerEntry[]> {
  const parser = new Parser();
  const entries = collectEntries(parser);
  await pipeline(input, parser);
  return entries;
}

/** The file list a tar parser sees (gzip and zstd layers are unpacked on the way). */
function collectEntries(parser: Parser): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [];
  parser.on("entry", (entry: ReadEntry) => {
    const type =
      entry.type === "Directory" ? "dir" : entry.type === "SymbolicLink" ? "symlink" : "file";
    const record: LayerEntry = { path: entry.path, type, linkpath: entry.linkpath };
    entries.push(record);
    if (type === "file" && VERSION_FILE.test(entry.path) && (entry.size ?? 0) < 256) {
      const chunks: Buffer[] = [];
      entry.on("data", (c: Buffer) => chunks.push(c));
      entry.on("end", () => {
        record.content = Buffer.concat(chunks).toString("utf8");
      });
    } else {
      entry.resume();
    }
  });
  // Docker writes a whiteout as an empty regular file that keeps a stale link name in its
  // header; node-tar drops such an entry with a warning, so it is taken from the header here.
  // (Its body is empty, so nothing is left for the parser to skip.)
  parser.on("warn", (_code: string, message: string, data: { header?: Header }) => {
    const header = data.header;
    if (message === "linkpath forbidden" && header?.path && !header.size) {
      entries.push({ path: header.path, type: header.type === "Directory" ? "dir" : "file" });
    }
  });
  return new Promise((resolve) => parser.on("end", () => resolve(entries)));
}
