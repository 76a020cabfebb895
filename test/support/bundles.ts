/** Builds gzip tar bundles in memory, including deliberately malicious entries. */
import { gzipSync } from "node:zlib";
import { Header } from "tar";

export interface TarEntry {
  path: string;
  type?: "File" | "Directory" | "SymbolicLink" | "Link" | "CharacterDevice" | "FIFO";
  content?: string | Buffer;
  linkpath?: string;
  mode?: number;
}

export function tarGz(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = entry.content === undefined ? Buffer.alloc(0) : Buffer.from(entry.content);
    const type = entry.type ?? "File";
    const header = new Header({
      path: entry.path,
      type,
      size: type === "File" ? body.length : 0,
      linkpath: entry.linkpath,
      mode: entry.mode ?? (type === "Directory" ? 0o755 : 0o644),
      mtime: new Date(0),
      uid: 0,
      gid: 0,
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (type === "File" && body.length > 0) {
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

/** A bundle from a map of file names to contents, with a manifest built from `manifest`. */
export function bundle(manifest: object, files: Record<string, string> = {}): Buffer {
  return tarGz([
    { path: "manifest.json", content: JSON.stringify({ version: 1, ...manifest }) },
    ...Object.entries(files).map(([name, content]) => ({ path: name, content })),
  ]);
}
