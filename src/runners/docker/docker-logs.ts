/** Reading a container's output from the engine: its framing, and following it to the end. */
import type { Readable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import { LineSplitter, type OutputLine } from "../runner.js";

/**
 * How long a follow may stay open once its container has exited. Podman ends a follow by
 * polling, within about half a second of the exit; Docker ends it at once.
 */
export const FOLLOW_GRACE_MS = 2000;

/**
 * Lines of Docker's multiplexed log stream (containers without a TTY), in the order the
 * engine framed them, each with its stream: every frame is an 8-byte header (stream 1 or 2,
 * then the payload's length, big-endian, at byte 4) and its payload.
 */
export async function* demuxedLines(stream: AsyncIterable<unknown>): AsyncIterable<OutputLine> {
  const splitters = { stdout: new LineSplitter(), stderr: new LineSplitter() };
  let pending = Buffer.alloc(0);
  for await (const chunk of stream) {
    pending = Buffer.concat([pending, chunk as Buffer]);
    while (pending.length >= 8) {
      const size = pending.readUInt32BE(4);
      if (pending.length < 8 + size) break;
      const source = pending[0] === 2 ? "stderr" : "stdout";
      const payload = pending.subarray(8, 8 + size);
      pending = pending.subarray(8 + size);
      for (const text of splitters[source].push(payload)) yield { source, text };
    }
  }
  for (const source of ["stdout", "stderr"] as const) {
    for (const text of splitters[source].end()) yield { source, text };
  }
}

export interface Follow {
  /** The engine's follow of the container's output. */
  stream: Readable;
  /** Settles once the container has exited (or is gone); cancelled through the signal. */
  exited: (signal: AbortSignal) => Promise<unknown>;
  /** The container's whole output, read without following. */
  whole: () => Promise<AsyncIterable<unknown>>;
  graceMs?: number;
}

class Stalled extends Error {}

/**
 * The lines of a follow, to the end of the container's output. Podman's Docker-compatible API
 * (4.3 here) now and then never ends the follow of a container that exits as the follow
 * attaches, though every line has arrived (between 1 in 10 and 1 in 40 such follows, measured
 * here; see containers/podman#6627 and #11461). So once the container has exited, the follow
 * has a grace to end by itself; past it, the rest comes from a whole read of the output, less
 * the lines each stream has already given (each stream keeps its order; how the two interleave
 * is the engine's own).
 */
export async function* followedLines(follow: Follow): AsyncIterable<OutputLine> {
  const given = { stdout: 0, stderr: 0 };
  const done = new AbortController();
  let stalled = false;
  follow
    .exited(done.signal)
    .catch(() => undefined)
    .then(() => delay(follow.graceMs ?? FOLLOW_GRACE_MS, undefined, { signal: done.signal }))
    .then(
      () => {
        stalled = true;
        // An error, not a plain end, so that a partial last line is not given as a whole one.
        follow.stream.destroy(new Stalled());
      },
      () => undefined,
    );
  try {
    for await (const line of demuxedLines(follow.stream)) {
      given[line.source] += 1;
      yield line;
    }
  } catch (error) {
    if (!stalled) throw error;
  } finally {
    done.abort();
  }
  if (!stalled) return;
  for await (const line of demuxedLines(await follow.whole())) {
    if (given[line.source] > 0) given[line.source] -= 1;
    else yield line;
  }
}
