import type { FileHandle } from "node:fs/promises";

/** Writes the whole chunk at the file's position: a single write may take only part of it. */
export async function writeAll(file: FileHandle, chunk: Uint8Array): Promise<void> {
  for (let at = 0; at < chunk.length; ) {
    at += (await file.write(chunk, at)).bytesWritten;
  }
}
