import { PassThrough, Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { demuxedLines, followedLines } from "../../src/runners/docker/docker-logs.js";
import type { OutputLine } from "../../src/runners/runner.js";

/** One frame of Docker's multiplexed stream. */
const frame = (source: "stdout" | "stderr", text: string) => {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = source === "stderr" ? 2 : 1;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
};

const collect = async (lines: AsyncIterable<OutputLine>) => {
  const seen: OutputLine[] = [];
  for await (const line of lines) seen.push(line);
  return seen;
};

/** An engine's follow, open until the test ends it, and a container exit the test decides. */
const engine = (written: Buffer[]) => {
  const stream = new PassThrough();
  let exit = () => {};
  const exited = new Promise<void>((resolve) => {
    exit = resolve;
  });
  const waits: AbortSignal[] = [];
  const reads = { whole: 0 };
  return {
    stream,
    exit,
    waits,
    reads,
    follow: {
      stream,
      exited: (signal: AbortSignal) => {
        waits.push(signal);
        return exited;
      },
      whole: async () => {
        reads.whole += 1;
        return Readable.from([Buffer.concat(written)]);
      },
      graceMs: 50,
    },
  };
};

describe("demuxedLines", () => {
  it("splits frames into lines of their stream, across frames and chunk boundaries", async () => {
    const bytes = Buffer.concat([
      frame("stdout", "one\ntw"),
      frame("stderr", "err\n"),
      frame("stdout", "o\nlast"),
    ]);
    const chunks = [bytes.subarray(0, 3), bytes.subarray(3, 17), bytes.subarray(17)];
    expect(await collect(demuxedLines(Readable.from(chunks)))).toEqual([
      { source: "stdout", text: "one" },
      { source: "stderr", text: "err" },
      { source: "stdout", text: "two" },
      { source: "stdout", text: "last" },
    ]);
  });
});

describe("followedLines", () => {
  it("gives a follow that ends by itself as it is, without reading the whole output", async () => {
    const written = [frame("stdout", "a\n"), frame("stderr", "b\n")];
    const e = engine(written);
    const lines = collect(followedLines(e.follow));
    for (const bytes of written) e.stream.write(bytes);
    e.exit();
    e.stream.end();
    expect(await lines).toEqual([
      { source: "stdout", text: "a" },
      { source: "stderr", text: "b" },
    ]);
    expect(e.reads.whole).toBe(0);
    expect(e.waits[0]?.aborted).toBe(true);
  });

  it("ends a follow left open after the exit, with the lines it had not given yet", async () => {
    const written = [
      frame("stdout", "out one\n"),
      frame("stderr", "err one\n"),
      frame("stdout", "out two\n"),
      frame("stderr", "err two, never sent by the follow"),
    ];
    const e = engine(written);
    // The follow gives the two streams in another order than the whole read, and stops
    // short of the end, mid-line.
    e.stream.write(frame("stderr", "err one\n"));
    e.stream.write(frame("stdout", "out one\nout two\n"));
    e.stream.write(frame("stderr", "err two, nev"));
    e.exit();
    expect(await collect(followedLines(e.follow))).toEqual([
      { source: "stderr", text: "err one" },
      { source: "stdout", text: "out one" },
      { source: "stdout", text: "out two" },
      { source: "stderr", text: "err two, never sent by the follow" },
    ]);
    expect(e.reads.whole).toBe(1);
    expect(e.stream.destroyed).toBe(true);
  });

  it("leaves a running container's follow open past the grace", async () => {
    const e = engine([]);
    // No grace at all: only the exit starts it.
    const iterator = followedLines({ ...e.follow, graceMs: 0 })[Symbol.asyncIterator]();
    const first = iterator.next();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(e.stream.destroyed).toBe(false);
    e.stream.write(frame("stdout", "late\n"));
    expect(await first).toEqual({ done: false, value: { source: "stdout", text: "late" } });
    await iterator.return?.();
    expect(e.waits[0]?.aborted).toBe(true);
  });

  it("passes on a follow's own error", async () => {
    const e = engine([]);
    const lines = collect(followedLines(e.follow));
    e.stream.destroy(new Error("the engine went away"));
    await expect(lines).rejects.toThrow("the engine went away");
    expect(e.reads.whole).toBe(0);
  });
});
