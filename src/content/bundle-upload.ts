/**
 * An upload's body, read once: each chunk is counted against `[Bundles] MaxBytes`, hashed for
 * X-Content-Checksum and written to the kept archive while it is handed on to the unpacker, so
 * a bundle of any size costs one pass and one chunk of memory.
 */
import { createHash } from "node:crypto";
import { type FileHandle, open } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import { ApiError, isApiError } from "../errors.js";
import { writeAll } from "../util/write-all.js";

export class UploadBody {
  readonly #hash = createHash("md5");
  readonly #chunks: AsyncIterator<Buffer>;
  #size = 0;
  #ended = false;
  /** Set once the body is no longer kept: what arrives after is only counted. */
  #stopped = false;
  #closed = false;
  /** Reads happen one after another, whoever asks. */
  #reading: Promise<unknown> = Promise.resolve();
  /** The archive write in flight (one at a time), and the first one that failed. */
  #write: Promise<void> = Promise.resolve();
  #writeError: unknown;

  private constructor(
    body: Readable,
    private readonly archive: FileHandle,
    private readonly maxBytes: number,
  ) {
    // Not destroyed when the unpacker stops early: the rest is still to be kept, or discarded.
    this.#chunks = body.iterator({ destroyOnReturn: false });
  }

  static async open(body: Readable, archivePath: string, maxBytes: number): Promise<UploadBody> {
    if (typeof body?.iterator !== "function") {
      throw new ApiError("badRequest", "The bundle upload is empty.");
    }
    // A body that says it is too large is refused before any of it is read (HTTP itself
    // reads and drops it, then).
    const declared = Number((body as Readable & IncomingMessage).headers?.["content-length"]);
    if (declared > maxBytes) throw tooLarge(maxBytes);
    return new UploadBody(body, await open(archivePath, "wx", 0o644), maxBytes);
  }

  /**
   * The body as a stream for the unpacker. Destroying it (the unpacker refused the bundle)
   * takes effect at once and leaves the body itself alone.
   */
  stream(): Readable {
    const stream: Readable = new Readable({
      read: () => {
        this.#next().then(
          (chunk) => stream.push(chunk ?? null),
          (error: unknown) => stream.destroy(error as Error),
        );
      },
    });
    return stream;
  }

  /** Reads what the unpacker left unread, to the end; the body's size and MD5 (base64). */
  async finish(): Promise<{ size: number; md5: string }> {
    while (await this.#next());
    await this.#flushed();
    return { size: this.#size, md5: this.#hash.digest("base64") };
  }

  /**
   * After a refusal, reads and drops the rest of the body in the background, so that the
   * connection stays usable and a client that sends everything before it reads the answer
   * (Python's http.client, requests) gets to read it; closing instead would reset the
   * connection under the answer. A client that never stops sending is cut off by the
   * server's request timeouts.
   */
  discardRest(): void {
    this.#stopped = true;
    const discard = async () => {
      while (!this.#ended) await this.#next();
    };
    discard().catch(() => {});
  }

  /** Waits for the last archive write, then closes the archive file. */
  async close(): Promise<void> {
    this.#stopped = true;
    await this.#write;
    if (this.#closed) return;
    this.#closed = true;
    await this.archive.close();
  }

  #next(): Promise<Buffer | undefined> {
    const next = this.#reading.then(() => this.#read());
    this.#reading = next.catch(() => {});
    return next;
  }

  async #read(): Promise<Buffer | undefined> {
    if (this.#ended) return undefined;
    let next: IteratorResult<Buffer>;
    try {
      next = await this.#chunks.next();
    } catch (error) {
      this.#ended = true;
      // The server's own refusals of the body (too slow, stalled) keep their status.
      if (isApiError(error)) throw error;
      throw new ApiError(
        "badRequest",
        `The upload stopped before the whole bundle arrived (${(error as Error).message}).`,
      );
    }
    if (next.done) {
      this.#ended = true;
      if (this.#size === 0) throw new ApiError("badRequest", "The bundle upload is empty.");
      return undefined;
    }
    const chunk = next.value;
    this.#size += chunk.length;
    if (this.#stopped) return chunk;
    if (this.#size > this.maxBytes) throw tooLarge(this.maxBytes);
    this.#hash.update(chunk);
    await this.#flushed();
    this.#write = writeAll(this.archive, chunk).catch((error: unknown) => {
      this.#writeError ??= error;
    });
    return chunk;
  }

  async #flushed(): Promise<void> {
    await this.#write;
    if (this.#writeError !== undefined) throw this.#writeError;
  }
}

function tooLarge(maxBytes: number): ApiError {
  return new ApiError(
    "badRequest",
    `The bundle is larger than ${maxBytes} bytes (Bundles.MaxBytes).`,
    {
      status: 413,
    },
  );
}
