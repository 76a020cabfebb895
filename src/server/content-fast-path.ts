/**
 * The common request to a running application, taken from node:http before Fastify sees it:
 * a caller with an API key, or anyone for content open to all, on the dashboard's host, with
 * no body. Fastify's hooks, routing and reply machinery cost more per request than the rest
 * of the proxy (bench/proxy.ts), and these requests need none of them.
 *
 * Whatever else comes (sessions, passes, previews, files, bodies, refusals, URLs the router
 * would decode) is handed to the content route, which answers every case. The fast path takes
 * a request only once the same checks let it in, and the same forwarder makes its answer, so a
 * client cannot tell which way its request went.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { FastifyBaseLogger, FastifyServerFactory } from "fastify";
import {
  type ContentLookup,
  type ContentResolver,
  lookupOnce,
} from "../content/content-resolver.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Store } from "../store/database.js";
import type { UserRow } from "../store/users.js";
import { type AppForwarder, ClientGone } from "./app-forwarding.js";
import { userOfKey } from "./auth.js";
import { PASS_SEGMENT } from "./content-pass.js";
import type { ContentSite } from "./content-site.js";
import { openToAnyone, refuseViewer } from "./content-visitors.js";
import { hasBody } from "./edge-guards.js";
import { logAnswered, toApiError } from "./error-handler.js";
import { logCompleted } from "./request-log.js";
import { NOT_CONTENT_HEADERS } from "./security-headers.js";
import { readSessionCookie } from "./session-cookie.js";

/** A plain path under a content URL: no escapes, no empty segments, no preview or pass prefix. */
const PLAIN =
  /^\/content\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(\/[^?%]*)(\?.*)?$/;

/** Takes a request and answers it (true), or leaves it to Fastify (false), deciding at once when it can. */
export type FastPath = (
  request: IncomingMessage,
  response: ServerResponse,
) => Promise<boolean> | false;

export interface FastPathDeps {
  store: Store;
  resolver: ContentResolver;
  site: ContentSite;
  forwarder: AppForwarder;
  metrics: Metrics;
  logger: FastifyBaseLogger;
  /** The request's correlation id, as Fastify would give it. */
  requestId: (request: IncomingMessage) => string;
}

export function contentFastPath(deps: FastPathDeps): FastPath {
  const { store, resolver, site, forwarder, logger } = deps;

  /**
   * The content's row, when the content route would let the caller in as they are (a valid
   * key, or no credentials for content open to all, and allowed to view it); undefined if not.
   */
  async function admitted(
    request: IncomingMessage,
    guid: string,
  ): Promise<ContentLookup | undefined> {
    const row = lookupOnce(store, guid);
    const key = request.headers.authorization;
    let user: UserRow | null;
    if (key !== undefined) user = await userOfKey(key, store);
    else if (readSessionCookie(request.headers).kind === "none" && (await openToAnyone(row)))
      user = null;
    else return undefined;
    return (await refuseViewer(store, user, guid, row)) ? undefined : row;
  }

  async function take(
    request: IncomingMessage,
    response: ServerResponse,
    match: RegExpExecArray,
  ): Promise<boolean> {
    const arrived = performance.now();
    // Read now: a client that closes leaves the socket without its address by the end.
    const client = {
      remoteAddress: request.socket.remoteAddress,
      remotePort: request.socket.remotePort,
    };
    const [, guid, rest, query = ""] = match as unknown as [string, string, string, string?];
    const row = await admitted(request, guid).catch(() => undefined);
    if (!row) return false;
    const target = await resolver.resolve(guid, null, row).catch((error: Error) => error);
    // Files are the content route's; an app's start that failed is answered here.
    if (!(target instanceof Error) && target.kind !== "app") return false;
    deps.metrics.proxyDirect.inc();
    const id = deps.requestId(request);
    const elapsedMs = () => performance.now() - arrived;
    response.once("finish", () => logCompleted(logger, id, request, client, response, elapsedMs()));
    const own = { "X-Correlation-ID": id, "X-Content-Type-Options": "nosniff" };
    if (target instanceof Error) {
      // As the content route answers it: before anything of the content was served.
      answerError(response, { ...own, ...NOT_CONTENT_HEADERS }, logger, id, target);
      return true;
    }
    try {
      const answer = await forwarder.answer({
        guid,
        draft: null,
        request,
        // Slipway has no TLS listener, and the fast path runs with no trusted proxy.
        encrypted: false,
        response,
        pathAndQuery: rest + query,
        body: undefined,
        target,
        elapsedSeconds: () => elapsedMs() / 1000,
      });
      response.writeHead(answer.status, Object.assign(answer.headers, own));
      // pipe, not pipeline: pipeline's abort signal per call costs more than the rest here.
      answer.body.once("error", () => response.destroy());
      answer.body.pipe(response);
    } catch (error) {
      if (!(error instanceof ClientGone)) answerError(response, own, logger, id, error as Error);
    }
    return true;
  }

  return (request, response) => {
    const url = request.url ?? "";
    if (!url.startsWith("/content/") || hasBody(request.headers)) return false;
    const match = PLAIN.exec(url);
    const rest = match?.[2] ?? "";
    if (
      !match ||
      rest.includes("//") ||
      rest.startsWith("/_bundle") ||
      rest.startsWith(`/${PASS_SEGMENT}/`) ||
      url.includes("%00") ||
      site.hostOf(request.headers).kind !== "dashboard"
    ) {
      return false;
    }
    return take(request, response, match);
  };
}

/** Connect's error body, as the error handler answers it, for a request Fastify never saw. */
function answerError(
  response: ServerResponse,
  headers: Record<string, string>,
  logger: FastifyBaseLogger,
  id: string,
  error: Error,
): void {
  const apiError = toApiError(error);
  logAnswered(logger.child({ correlation_id: id }), error, apiError);
  if (response.headersSent) {
    response.destroy();
    return;
  }
  const body = JSON.stringify(apiError.toBody());
  response.writeHead(apiError.status, {
    ...headers,
    ...apiError.headers,
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(body),
  });
  response.end(body);
}

/**
 * Fastify's own HTTP server (the same options and timeouts), but each request is offered to
 * the fast path first; `current` gives the fast path once the routes exist, and none while
 * the server closes.
 */
export function serverWithFastPath(current: () => FastPath | undefined): FastifyServerFactory {
  return (handler, options) => {
    const server = createServer(options.http ?? {}, (request, response) => {
      const taken = current()?.(request, response) ?? false;
      if (taken === false) handler(request, response);
      else void taken.then((yes) => yes || handler(request, response));
    });
    server.keepAliveTimeout = options.keepAliveTimeout as number;
    server.requestTimeout = options.requestTimeout as number;
    server.setTimeout(options.connectionTimeout as number);
    return server;
  };
}
