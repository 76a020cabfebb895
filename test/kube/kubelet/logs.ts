/**
 * GET …/pods/{name}/log: a container's output from the engine, demultiplexed, with the
 * kubelet's options (tailLines, sinceSeconds, timestamps, previous) and, with follow, streamed
 * until the container exits or the client goes away.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { PassThrough } from "node:stream";
import type Docker from "dockerode";
import type { LogRequest } from "../request.js";

export async function streamLogs(
  docker: Docker,
  containerId: string,
  request: LogRequest,
  res: ServerResponse,
  req: IncomingMessage,
): Promise<void> {
  const container = docker.getContainer(containerId);
  const base = {
    stdout: true,
    stderr: true,
    timestamps: request.timestamps,
    ...(request.tailLines !== undefined ? { tail: request.tailLines } : {}),
    ...(request.sinceSeconds !== undefined
      ? { since: Math.floor(Date.now() / 1000) - request.sinceSeconds }
      : {}),
  };
  res.writeHead(200, { "content-type": "text/plain", "transfer-encoding": "chunked" });
  if (!request.follow) {
    const buffer = (await container.logs({ ...base, follow: false })) as unknown as Buffer;
    res.end(demux(buffer));
    return;
  }
  // As the API server: a follower learns at once that the stream is open, before any output.
  res.flushHeaders();
  const stream = (await container.logs({
    ...base,
    follow: true,
  })) as unknown as NodeJS.ReadableStream & { destroy(): void };
  const out = new PassThrough();
  docker.modem.demuxStream(stream, out, out);
  out.pipe(res, { end: false });
  await new Promise<void>((resolve) => {
    const done = () => {
      stream.destroy();
      resolve();
    };
    stream.on("end", done);
    stream.on("close", done);
    req.on("close", done);
  });
  out.end();
  res.end();
}

/** The engine's multiplexed frames (8-byte header: stream, 0, 0, 0, big-endian length) joined. */
export function demux(buffer: Buffer): Buffer {
  const parts: Buffer[] = [];
  let at = 0;
  while (at + 8 <= buffer.length) {
    const size = buffer.readUInt32BE(at + 4);
    parts.push(buffer.subarray(at + 8, at + 8 + size));
    at += 8 + size;
  }
  return Buffer.concat(parts);
}

/** The last lines of a container's output, for FallbackToLogsOnError (80 lines, 2048 bytes). */
export async function tail(docker: Docker, containerId: string): Promise<string> {
  const buffer = (await docker
    .getContainer(containerId)
    .logs({ stdout: true, stderr: true, tail: 80, follow: false })) as unknown as Buffer;
  const text = demux(buffer);
  return text.subarray(Math.max(0, text.length - 2048)).toString("utf8");
}
