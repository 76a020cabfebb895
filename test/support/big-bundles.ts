/**
 * Bundles of real size and hostile bundles, made on the fly into temporary files: static sites
 * with an incompressible data file packed by GNU tar or Python's tarfile, and archives built
 * from repeated gzip members (a gzip stream may hold many, and they unpack as one), so a bomb
 * of gigabytes costs megabytes and milliseconds to make. Also uploads that stream a file, raw
 * (with a length) or chunked, as clients do.
 */
import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { createGzip, gzipSync } from "node:zlib";
import { Header, Pax } from "tar";

const run = promisify(execFile);

export type Packer = "gnu-tar" | "python-tarfile";

export interface StaticBundle {
  archive: string;
  /** The data file's name inside the bundle, its size and its SHA-256. */
  dataName: string;
  dataBytes: number;
  sha256: string;
}

/** A scratch folder for one test file's bundles. */
export function bundleScratch(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), "slipway-big-bundles-"));
}

/**
 * A `static` bundle: manifest.json and a file of `bytes` random bytes, packed (gzip level 1,
 * since random data does not compress anyway) by GNU tar or by Python's tarfile.
 */
export async function staticBundle(
  scratch: string,
  bytes: number,
  packer: Packer,
  extraFiles = 0,
): Promise<StaticBundle> {
  const dir = path.join(scratch, `${packer}-${bytes}-${extraFiles}`);
  await mkdir(dir, { recursive: true });
  const dataName = "data.bin";
  const hash = createHash("sha256");
  const out = createWriteStream(path.join(dir, dataName));
  for (let left = bytes; left > 0; ) {
    const piece = randomBytes(Math.min(left, 1024 * 1024));
    hash.update(piece);
    if (!out.write(piece)) await once(out, "drain");
    left -= piece.length;
  }
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
  const manifest = { version: 1, metadata: { appmode: "static", primary_html: dataName } };
  await writeFile(path.join(dir, "manifest.json"), JSON.stringify(manifest));
  const names = ["manifest.json", dataName];
  if (extraFiles > 0) {
    for (let i = 0; i < extraFiles; i++) {
      const sub = path.join(dir, "files", String(i % 50));
      if (i < 50) await mkdir(sub, { recursive: true });
      await writeFile(path.join(sub, `file-${i}.txt`), `file ${i}\n`);
    }
    names.push("files");
  }
  const archive = path.join(scratch, `${packer}-${bytes}-${extraFiles}.tar.gz`);
  await pack(dir, names, archive, packer);
  return { archive, dataName, dataBytes: bytes, sha256: hash.digest("hex") };
}

/** Packs the named files and folders of `dir` as a gzip tar (level 1) with a real tool. */
export async function pack(dir: string, names: string[], archive: string, packer: Packer) {
  if (packer === "gnu-tar") {
    await run("tar", ["-I", "gzip -1", "-cf", archive, "-C", dir, ...names]);
  } else {
    const script = [
      "import sys, tarfile",
      "with tarfile.open(sys.argv[1], 'w:gz', compresslevel=1) as t:",
      "    for name in sys.argv[3:]: t.add(sys.argv[2] + '/' + name, arcname=name)",
    ].join("\n");
    await run("python3", ["-c", script, archive, dir, ...names]);
  }
}

/** The SHA-256 of a file, read as a stream. */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** A tar header block, written as given. */
export function header(fields: {
  path: string;
  type?: string;
  size?: number;
  linkpath?: string;
}): Buffer {
  const block = Buffer.alloc(512);
  new Header({
    path: fields.path,
    type: (fields.type ?? "File") as never,
    size: fields.size ?? 0,
    linkpath: fields.linkpath,
    mode: fields.type === "Directory" ? 0o755 : 0o644,
    mtime: new Date(0),
    uid: 0,
    gid: 0,
  }).encode(block, 0);
  return block;
}

/** A PAX extended header holding `path`, as its own 512-byte-aligned blocks. */
export function paxPath(entryPath: string): Buffer {
  return new Pax({ path: entryPath }).encode();
}

export const END_OF_ARCHIVE = Buffer.alloc(1024);

/** A part of a gzip stream: bytes compressed once, or one block compressed once and repeated. */
export type Part = Buffer | { repeat: Buffer; times: number };

/** Writes the parts as consecutive gzip members, compressing each repeated block only once. */
export async function gzipMembers(file: string, parts: Part[]): Promise<number> {
  const out = createWriteStream(file);
  let total = 0;
  const write = async (chunk: Buffer) => {
    total += chunk.length;
    if (!out.write(chunk)) await once(out, "drain");
  };
  for (const part of parts) {
    if (Buffer.isBuffer(part)) {
      await write(gzipSync(part, { level: 1 }));
    } else {
      const member = gzipSync(part.repeat, { level: 9 });
      for (let i = 0; i < part.times; i++) await write(member);
    }
  }
  await new Promise<void>((resolve, reject) =>
    out.end((error?: Error | null) => (error ? reject(error) : resolve())),
  );
  return total;
}

/**
 * A gzip tar of `count` empty files named f/<thousands>/<number>, a thousand to a folder.
 * The header is encoded once; each entry changes only its name's digits and the checksum,
 * which is the sum of the header's bytes, so a million entries take seconds, not minutes.
 */
export async function numberedFiles(file: string, count: number): Promise<void> {
  const digits = 7;
  const name = (i: number) => {
    const n = String(i).padStart(digits, "0");
    return `f/${n.slice(0, digits - 3)}/${n}`;
  };
  const template = header({ path: name(0) });
  const sumOf = (bytes: Buffer) => bytes.reduce((sum, b) => sum + b, 0);
  const nameBytes = Buffer.byteLength(name(0));
  const base = sumOf(template) - sumOf(template.subarray(148, 156)) + 8 * 0x20;
  const baseName = sumOf(template.subarray(0, nameBytes));
  async function* blocks() {
    const batch = 2048;
    for (let from = 0; from < count; from += batch) {
      const out = Buffer.alloc(512 * Math.min(batch, count - from));
      for (let i = 0; i < out.length / 512; i++) {
        const at = i * 512;
        template.copy(out, at);
        out.write(name(from + i), at, "latin1");
        const sum = base - baseName + sumOf(out.subarray(at, at + nameBytes));
        out.write(`${sum.toString(8).padStart(6, "0")}\0 `, at + 148, "latin1");
      }
      yield out;
    }
    yield END_OF_ARCHIVE;
  }
  await pipeline(blocks, createGzip({ level: 1 }), createWriteStream(file));
}

export interface UploadResult {
  status: number;
  /** A bundle, or Connect's error body. */
  body: { id?: string; code?: number; error?: string };
}

/** Uploads a file as a bundle, with Content-Length (raw) or chunked, streaming it. */
export function uploadFile(
  baseUrl: string,
  key: string,
  guid: string,
  file: string,
  mode: "raw" | "chunked",
  size?: number,
): Promise<UploadResult> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${baseUrl}/__api__/v1/content/${guid}/bundles`);
    const headers: Record<string, string | number> = {
      Authorization: `Key ${key}`,
      "Content-Type": "application/gzip",
    };
    if (mode === "raw") headers["Content-Length"] = size!;
    else headers["Transfer-Encoding"] = "chunked";
    const req = request(url, { method: "POST", headers }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (chunk: string) => (text += chunk));
      response.on("end", () => {
        // Answered before the whole body went (a refusal): stop sending, as clients do.
        if (!req.writableFinished) req.destroy();
        resolve({ status: response.statusCode!, body: JSON.parse(text) });
      });
    });
    req.on("error", reject);
    pipeline(createReadStream(file), req).catch(() => {});
  });
}

/** The SHA-256 of what a URL answers, read as a stream. */
export async function fetchSha256(
  url: string,
  key: string,
): Promise<{ status: number; sha256: string; bytes: number }> {
  const response = await fetch(url, { headers: { Authorization: `Key ${key}` } });
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const chunk of (response.body ?? []) as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { status: response.status, sha256: hash.digest("hex"), bytes };
}
