/**
 * How deeply JSON text nests, measured as its bytes arrive and without parsing it, so text
 * nested too deeply for JSON.parse to handle safely is refused after reading only as many
 * bytes as its limit. Bytes outside strings that open or close arrays and objects are ASCII,
 * and UTF-8 never uses ASCII bytes inside a multi-byte character, so scanning bytes is exact.
 */
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const OPEN_OBJECT = 0x7b;
const CLOSE_ARRAY = 0x5d;
const CLOSE_OBJECT = 0x7d;

export class JsonDepth {
  #depth = 0;
  #inString = false;
  #escaped = false;
  /** The deepest nesting seen so far. */
  deepest = 0;

  /** Reads the next bytes of the text; returns the deepest nesting seen so far. */
  push(bytes: Uint8Array): number {
    for (const byte of bytes) {
      if (this.#inString) {
        if (this.#escaped) this.#escaped = false;
        else if (byte === BACKSLASH) this.#escaped = true;
        else if (byte === QUOTE) this.#inString = false;
      } else if (byte === QUOTE) {
        this.#inString = true;
      } else if (byte === OPEN_ARRAY || byte === OPEN_OBJECT) {
        this.#depth++;
        if (this.#depth > this.deepest) this.deepest = this.#depth;
      } else if (byte === CLOSE_ARRAY || byte === CLOSE_OBJECT) {
        this.#depth--;
      }
    }
    return this.deepest;
  }
}

/** The deepest nesting of arrays and objects in `text`. */
export function jsonDepth(text: string): number {
  return new JsonDepth().push(Buffer.from(text));
}
