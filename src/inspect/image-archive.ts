/**
 * Reads an image without an engine running it: a docker-archive tar (`docker save`) or an
 * OCI image layout folder. Layers are streamed and only their file list is kept, plus the
 * few tiny files that tell a version.
 */
import { createReadStream } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { extract, Parser, type ReadEntry } from "tar";
import { applyLayer, type FileTree, type LayerEntry } from "./layers.js";

export interface ImageFiles {
  tree: FileTree;
  /** PATH from the image configuration, when it sets one. */
  searchPath: string | undefined;
  /** The image's name as the archive records it, if it does. */
  name: string | undefined;
}

const VERSION_FILE = /\/share\/version$/;

/** Reads a docker-archive tar file or an OCI layout folder. */
export async function readImageArchive(location: string): Promise<ImageFiles> {
  if ((await stat(location)).isDirectory()) return readLayout(location);
  const dir = await mkdtemp(path.join(tmpdir(), "slipway-image-"));
  try {
    await extract({ file: location, cwd: dir, strict: true });
    return await readLayout(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function readLayout(dir: string): Promise<ImageFiles> {
  const json = async (file: string) => JSON.parse(await readFile(path.join(dir, file), "utf8"));
  let layers: string[];
  let configFile: string;
  let name: string | undefined;
  const dockerManifest = await json("manifest.json").catch(() => undefined);
  if (Array.isArray(dockerManifest) && dockerManifest[0]) {
    layers = dockerManifest[0].Layers;
    configFile = dockerManifest[0].Config;
    name = dockerManifest[0].RepoTags?.[0];
  } else {
    const index = await json("index.json");
    name = index.manifests[0].annotations?.["io.containerd.image.name"];
    const blob = (digest: string) => path.join("blobs", ...digest.split(":"));
    let manifest = await json(blob(index.manifests[0].digest));
    if (manifest.manifests) manifest = await json(blob(manifest.manifests[0].digest));
    layers = manifest.layers.map((l: { digest: string }) => blob(l.digest));
    configFile = blob(manifest.config.digest);
  }
  const config = await json(configFile);
  const env: string[] = config.config?.Env ?? config.Config?.Env ?? [];
  const tree: FileTree = new Map();
  for (const layer of layers) applyLayer(tree, await layerEntries(path.join(dir, layer)));
  return { tree, searchPath: env.find((e) => e.startsWith("PATH="))?.slice(5), name };
}

async function layerEntries(file: string): Promise<LayerEntry[]> {
  const entries: LayerEntry[] = [];
  const parser = new Parser();
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
  await pipeline(createReadStream(file), parser);
  return entries;
}
