/**
 * A cap on bundle uploads received at once. Over the cap the caller is told to come back
 * rather than queued: a queue would hold its connection and body open for as long as it waits.
 */
import { ApiError } from "../errors.js";

/** How long a refused uploader is asked to wait; uploads of ordinary bundles take seconds. */
const RETRY_AFTER_SECONDS = 5;

export class UploadSlots {
  #inUse = 0;

  constructor(readonly max: number) {}

  /** Takes a slot, or refuses with 503; the returned function gives the slot back once. */
  acquire(): () => void {
    if (this.#inUse >= this.max) {
      throw new ApiError(
        "serverBusy",
        `The server is already receiving ${this.max} bundle uploads ([Bundles] MaxConcurrentUploads); try again in a few seconds.`,
        { headers: { "retry-after": String(RETRY_AFTER_SECONDS) } },
      );
    }
    this.#inUse++;
    let released = false;
    return () => {
      if (!released) this.#inUse--;
      released = true;
    };
  }
}
