/** Builds gzip tar bundles in memory, including deliberately malicious entries. */
import { gzipSync } from "node:zlib";
import { Header, Pax } from "tar";

export interface TarEntry {
  path: string;
  type?:
    | "File"
    | "Directory"
    | "SymbolicLink"
    | "Link"
    | "CharacterDevice"
    | "BlockDevice"
    | "FIFO";
  content?: string | Buffer;
  linkpath?: string;
  mode?: number;
}

/** An uncompressed tar of the entries, written exactly as given (no path cleaning). */
export function tar(entries: TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const body = entry.content === undefined ? Buffer.alloc(0) : Buffer.from(entry.content);
    const type = entry.type ?? "File";
    // Past ustar's 255 bytes only a PAX header can hold the path (and encoding a path of
    // many thousand names into ustar's fields costs minutes).
    const long = Buffer.byteLength(entry.path) > 255;
    const header = new Header({
      path: long ? "long-path-in-pax-header" : entry.path,
      type,
      size: type === "File" ? body.length : 0,
      linkpath: entry.linkpath,
      mode: entry.mode ?? (type === "Directory" ? 0o755 : 0o644),
      mtime: new Date(0),
      uid: 0,
      gid: 0,
    });
    const block = Buffer.alloc(512);
    // A path or link too long for the ustar fields goes in a PAX header before the entry.
    if (header.encode(block, 0) || long) {
      blocks.push(new Pax({ path: entry.path, linkpath: entry.linkpath }).encode());
    }
    blocks.push(block);
    if (type === "File" && body.length > 0) {
      blocks.push(body, Buffer.alloc((512 - (body.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

export function tarGz(entries: TarEntry[]): Buffer {
  return gzipSync(tar(entries));
}

/** A gzip tar of a map from file names to contents, such as a bundle's files and manifest. */
export function tarGzOf(files: Readonly<Record<string, string | Buffer>>): Buffer {
  return tarGz(Object.entries(files).map(([name, content]) => ({ path: name, content })));
}
