/**
 * What every request passes before any route sees it: no NUL byte in the URL (PostgreSQL text
 * cannot hold one, and no name or path needs it) nor in an API body, and bodies that arrive
 * in time. A client
 * that trickles its headers or body is cut off with 408 instead of holding a connection open.
 */
import { randomUUID } from "node:crypto";
import { type IncomingHttpHeaders, STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import { type Readable, Transform } from "node:stream";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ApiError } from "../errors.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * The body is a bundle upload, read as a stream by the handler: it may take longer than
     * the request timeout as long as it keeps up the minimum upload rate.
     */
    upload?: boolean;
  }
}

export interface EdgeLimits {
  /** Time to send a whole body (any route but uploads); for uploads, the window of the rate rule. */
  requestTimeoutMs: number;
  /** Longest pause within a body. */
  bodyIdleTimeoutMs: number;
  /** Least average rate of an upload over each request-timeout window. */
  uploadMinBytesPerSecond: number;
}

const NUL_IN_URL = /%00/;

export function registerEdgeGuards(app: FastifyInstance, limits: EdgeLimits): void {
  app.addHook("onRequest", async (request) => {
    if (NUL_IN_URL.test(request.url)) {
      throw new ApiError(
        "badRequest",
        "The URL holds a NUL byte (%00); no path, name or value may contain one.",
      );
    }
  });

  app.addHook("preParsing", async (request, reply, payload) =>
    hasBody(request.headers) ? guardBody(payload, request, reply, limits) : payload,
  );

  // A body the server answered without reading (refused early, or not needed) is drained so
  // the client can finish sending and read the answer, but only for so long.
  app.addHook("onResponse", async (request) => {
    const raw = request.raw;
    if (raw.complete !== false || raw.destroyed) return;
    raw.unpipe();
    raw.resume();
    const socket = raw.socket;
    const timer = setTimeout(() => socket?.destroy(), limits.requestTimeoutMs);
    timer.unref();
    const done = () => {
      clearTimeout(timer);
      raw.off("end", done);
      socket?.off("close", done);
    };
    raw.once("end", done);
    socket?.once("close", done);
  });
}

/**
 * Refuses JSON bodies with a NUL byte in any name or value, for the routes of `app`: the
 * API's, whose values end in the database. Bodies passed through to content are its own.
 */
export function refuseNulInBodies(app: FastifyInstance): void {
  app.addHook("preValidation", async (request) => {
    const where = nulIn(request.body);
    if (where !== undefined) {
      throw new ApiError(
        "badRequest",
        `The request body holds a NUL byte (\\u0000) in ${where}; no name or value may contain one.`,
        { payload: { field: where } },
      );
    }
  });
}

/** Whether a request carries a body, by its headers. */
export function hasBody(headers: IncomingHttpHeaders): boolean {
  const length = headers["content-length"];
  return headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/**
 * The body as a stream that fails with 408 when it stalls for longer than the idle timeout,
 * or (an ordinary body) is not complete within the request timeout, or (an upload) brings
 * less than the minimum rate over any request-timeout window.
 */
function guardBody(
  payload: Readable,
  request: FastifyRequest,
  reply: FastifyReply,
  limits: EdgeLimits,
): Readable {
  const upload = request.routeOptions.config.upload === true;
  const windowSeconds = limits.requestTimeoutMs / 1000;
  const windowBytes = Math.ceil(windowSeconds * limits.uploadMinBytesPerSecond);
  let received = 0;
  const timers: NodeJS.Timeout[] = [];
  const stop = () => {
    for (const t of timers) clearTimeout(t);
  };
  const guard = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      received += chunk.length;
      idle.refresh();
      done(null, chunk);
    },
  });
  const fail = (message: string) => {
    stop();
    payload.unpipe(guard);
    // The client is too slow to be worth keeping: answer, then close the connection; when the
    // answer went out already (a refusal while the rest was being drained), just close it.
    if (reply.sent) request.raw.socket?.destroy();
    else reply.header("connection", "close");
    guard.destroy(new ApiError("requestTimeout", message));
  };
  const idle = setTimeout(
    () =>
      fail(
        `The request body stalled for ${limits.bodyIdleTimeoutMs / 1000} s ([Server] BodyIdleTimeoutSeconds).`,
      ),
    limits.bodyIdleTimeoutMs,
  );
  timers.push(idle);
  if (upload) {
    const window = setInterval(() => {
      if (received < windowBytes) {
        fail(
          `The upload sent ${received} bytes in ${windowSeconds} s, less than [Bundles] UploadMinBytesPerSecond (${limits.uploadMinBytesPerSecond}) allows.`,
        );
      }
      received = 0;
    }, limits.requestTimeoutMs);
    timers.push(window);
  } else {
    timers.push(
      setTimeout(
        () =>
          fail(
            `The request body did not arrive within ${windowSeconds} s ([Server] RequestTimeoutSeconds).`,
          ),
        limits.requestTimeoutMs,
      ),
    );
  }
  guard.once("finish", stop);
  guard.once("close", stop);
  // Whoever reads the body sees the error through its own listeners; a handler that has not
  // begun to read, or never will, must not turn it into an uncaught exception.
  guard.on("error", () => {});
  reply.raw.once("close", stop);
  payload.once("error", (error) => guard.destroy(error));
  payload.once("close", () => {
    if (!payload.readableEnded) guard.destroy(new Error("The client closed the connection."));
  });
  payload.pipe(guard);
  return guard;
}

/**
 * Where a parsed JSON body holds a NUL byte, in a name or a value, if anywhere. Walked with
 * a stack rather than recursion: a body may nest deeper than the call stack goes.
 */
export function nulIn(body: unknown): string | undefined {
  if (typeof body === "string") return body.includes("\u0000") ? "the body" : undefined;
  if (typeof body !== "object" || body === null || !isPlain(body)) return undefined;
  const stack: [unknown, string][] = [[body, ""]];
  while (stack.length > 0) {
    const [value, where] = stack.pop()!;
    if (typeof value === "string") {
      if (value.includes("\u0000")) return where || "the body";
    } else if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) stack.push([item, `${where}[${i}]`]);
    } else if (typeof value === "object" && value !== null) {
      for (const [key, item] of Object.entries(value)) {
        const at = where ? `${where}.${key}` : key;
        if (key.includes("\u0000")) return `a name in ${where || "the body"}`;
        stack.push([item, at]);
      }
    }
  }
  return undefined;
}

function isPlain(value: object): boolean {
  const prototype = Object.getPrototypeOf(value);
  return Array.isArray(value) || prototype === Object.prototype || prototype === null;
}

const CLIENT_ERRORS: Record<string, { status: number; message: string }> = {
  ERR_HTTP_REQUEST_TIMEOUT: {
    status: 408,
    message: "The request headers did not arrive in time ([Server] HeadersTimeoutSeconds).",
  },
  HPE_HEADER_OVERFLOW: { status: 431, message: "The request headers are too large." },
};

/**
 * Answers what Node's HTTP parser refuses before Fastify sees a request (malformed requests,
 * oversized or late headers) in Connect's error shape, then closes the connection.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === "ECONNRESET" || !socket.writable) {
    socket.destroy();
    return;
  }
  const known = CLIENT_ERRORS[error.code ?? ""];
  const apiError = known
    ? new ApiError("badRequest", known.message, { status: known.status })
    : new ApiError("badRequest", "The request is not valid HTTP.");
  const body = JSON.stringify(apiError.toBody());
  socket.end(
    [
      `HTTP/1.1 ${apiError.status} ${STATUS_CODES[apiError.status]}`,
      "Content-Type: application/json; charset=utf-8",
      `Content-Length: ${Buffer.byteLength(body)}`,
      `X-Correlation-ID: ${randomUUID()}`,
      "Connection: close",
      "",
      body,
    ].join("\r\n"),
  );
}
