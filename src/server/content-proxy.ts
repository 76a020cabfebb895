/**
 * Forwarding one request to an application's process, after the content route has made every
 * check: node:http's own client over kept-alive connections, so a request costs one parse of
 * the answer and no connection set-up. @fastify/reply-from over undici cost more than the
 * application itself under load (bench/proxy.ts), and its retries and logging were not ours.
 */
import {
  Agent,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from "node:http";
import type { Readable } from "node:stream";

/** Connections to applications, kept open between requests. */
export function upstreamAgent(): Agent {
  // A free connection idle for a second is closed by us, before the application's own
  // keep-alive timeout (gunicorn's is two seconds) can close it under a request we send.
  return new Agent({ keepAlive: true, maxFreeSockets: 256, timeout: 1000, scheduling: "lifo" });
}

export interface Forwarded {
  agent: Agent;
  host: string;
  port: number;
  method: string;
  path: string;
  /** Sent as they are: the Host header names the application's own address. */
  headers: OutgoingHttpHeaders;
  /** The request's body as it arrives, for methods that carry one. */
  body: Readable | undefined;
  /** Fires when the client went away, so the application's work is cut off too. */
  clientGone: (abort: () => void) => void;
  /** Longest the application may send nothing while it answers (0: never), then it is cut off. */
  idleMs: number;
}

/** The application sent nothing for the content's connection_timeout. */
export class ApplicationSilent extends Error {
  constructor(readonly idleMs: number) {
    super(`the application sent nothing for ${idleMs / 1000} s`);
  }
}

/**
 * The application's answer, headers read and body still to stream; fails when the
 * application cannot be reached or closes the connection before answering.
 */
export function forward(to: Forwarded): Promise<IncomingMessage> {
  return send(to).catch((error: unknown) => {
    // A kept connection the application closed just as it was reused: nothing reached the
    // application, so a request with no body goes again on another connection.
    if (!to.body && isStale(error)) return send(to);
    throw error;
  });
}

function send(to: Forwarded): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        agent: to.agent,
        host: to.host,
        port: to.port,
        method: to.method,
        path: to.path,
        headers: to.headers,
      },
      resolve,
    );
    outgoing.once("error", (error) => {
      reject(outgoing.reusedSocket ? Object.assign(error, { [STALE]: true }) : error);
    });
    to.clientGone(() => outgoing.destroy());
    // Covers the wait for the headers and every pause in the body that follows.
    if (to.idleMs > 0) {
      outgoing.setTimeout(to.idleMs, () => outgoing.destroy(new ApplicationSilent(to.idleMs)));
    }
    if (to.body) {
      to.body.once("error", (error) => outgoing.destroy(error));
      to.body.pipe(outgoing);
    } else {
      outgoing.end();
    }
  });
}

const STALE = Symbol("stale connection");

function isStale(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return (
    (error as { [STALE]?: boolean })[STALE] === true && (code === "ECONNRESET" || code === "EPIPE")
  );
}
