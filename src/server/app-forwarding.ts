/**
 * One request to an application, once whoever let it in has made every check: the headers the
 * application is sent and may send back, the retry when its process has just died, and what
 * each failure tells the client. The content route and the fast path both end here, so an
 * application's answer is the same whichever way the request came.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { Readable } from "node:stream";
import { mountPath } from "../content/bundle-context.js";
import type { ContentResolver, ContentTarget } from "../content/content-resolver.js";
import { ApiError } from "../errors.js";
import type { Metrics } from "../metrics/metrics.js";
import { ApplicationSilent, forward, upstreamAgent } from "./content-proxy.js";
import type { ContentSite } from "./content-site.js";
import { filterResponseHeaders, type Headers, requestHeadersForApp } from "./proxy-headers.js";

export type AppTarget = Extract<ContentTarget, { kind: "app" }>;

/** What one request asks of an application. */
export interface AppCall {
  guid: string;
  /** The draft bundle previewed, or null for the live content. */
  draft: number | null;
  request: IncomingMessage;
  /** Whether the browser reached Slipway, or a proxy Slipway trusts, over TLS. */
  encrypted: boolean;
  /** The client's response: its closing cuts the application's work off and ends the load. */
  response: ServerResponse;
  /** The path and query the application is asked for, under its own root. */
  pathAndQuery: string;
  /** The request's body as it arrives, for a request that carries one. */
  body: Readable | undefined;
  target: AppTarget;
  /** Seconds since the request arrived, when it is answered. */
  elapsedSeconds: () => number;
}

/** The application's answer, filtered: status, headers, and the body still to stream. */
export interface AppAnswer {
  status: number;
  headers: Headers;
  body: IncomingMessage;
}

const RETRIABLE = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * Applications beside the dashboard may fetch, post and open sockets only under their own
 * content URL (redirects out of it are refused by the proxy, since CSP ignores the path of a
 * redirect's target); workers only from there too, since a worker runs under its script's
 * policy.
 */
export function applicationPolicy(origin: string, guid: string): string {
  const http = `${origin}/content/${guid}/`;
  const ws = http.replace(/^http/, "ws");
  return `connect-src ${http} ${ws}; worker-src ${http} blob:`;
}

export class AppForwarder {
  readonly #agent = upstreamAgent();
  readonly #dashboardHost: string | null;

  constructor(
    private readonly resolver: ContentResolver,
    private readonly site: ContentSite,
    private readonly metrics: Metrics | undefined,
  ) {
    this.#dashboardHost = site.dashboard && new URL(site.dashboard).host;
  }

  /** The application's answer; an ApiError saying what went wrong when there is none. */
  answer(call: AppCall): Promise<AppAnswer> {
    const { guid, request, response } = call;
    const origin = this.site.requestOrigin(request.headers, call.encrypted);
    const rules = {
      prefix: `/content/${guid}/`,
      requestUrl: `${origin}${request.url}`,
      ownHosts: this.#ownHosts(request.headers),
      csp: this.site.content ? undefined : applicationPolicy(origin, guid),
    };
    const headers = requestHeadersForApp(
      request.headers,
      { "x-forwarded-prefix": mountPath(guid, call.draft), "x-rsc-request": request.url },
      call.body !== undefined,
    );
    // One listener for the client's going: it ends the load on the process the request went
    // to, cuts the application's work off if it is still answering, and times the request.
    let release = call.target.release;
    let cut = () => {};
    let gone = false;
    response.once("close", () => {
      gone = true;
      cut();
      release();
      this.metrics?.proxyRequest.observe(
        { content_guid: guid, status_class: `${Math.floor(response.statusCode / 100)}xx` },
        call.elapsedSeconds(),
      );
    });
    const send = async (to: AppTarget, retried: boolean): Promise<AppAnswer> => {
      headers.host = `${to.host}:${to.port}`;
      let answer: IncomingMessage;
      try {
        answer = await forward({
          agent: this.#agent,
          host: to.host,
          port: to.port,
          method: request.method ?? "GET",
          path: call.pathAndQuery,
          headers,
          body: call.body,
          clientGone: (abort) => {
            cut = abort;
          },
          idleMs: to.timeouts.idleMs,
        });
      } catch (error) {
        // The client left first and the request was cut off: nothing is wrong with the process.
        if (gone) throw new ClientGone();
        if (error instanceof ApplicationSilent) {
          throw new ApiError(
            "internal",
            `The application did not answer within ${error.idleMs / 1000} s, the content's connection_timeout: raise it for content that takes longer.`,
            { status: 504 },
          );
        }
        this.resolver.unreachable(guid, to.runId);
        // A process that died since it was chosen: a request without a body may go to another.
        if (!retried && RETRIABLE.has(request.method ?? "")) {
          const next = await this.resolver.resolve(guid, call.draft);
          if (next.kind === "app") {
            to.release();
            release = next.release;
            return send(next, true);
          }
        }
        throw new ApiError(
          "internal",
          `The application did not answer (${(error as Error).message}): it may have stopped; the next request starts it again.`,
          { status: 502, cause: error },
        );
      }
      const filtered = filterResponseHeaders(answer.headers as Headers, rules);
      if (!filtered.ok) {
        answer.resume();
        throw new ApiError(
          "badRequest",
          `The application redirected to ${filtered.location}, outside its content URL: Slipway does not forward that.`,
          { status: 502 },
        );
      }
      const status = answer.statusCode ?? 0;
      if (status < 200 || status > 599) {
        answer.destroy();
        throw new ApiError("internal", `The application answered with status ${status}.`, {
          status: 502,
        });
      }
      // A connection whose request body the application did not read cannot carry another.
      if (call.body && !request.complete) filtered.headers.connection = "close";
      return { status, headers: filtered.headers, body: answer };
    };
    return send(call.target, false);
  }

  close(): void {
    this.#agent.destroy();
  }

  #ownHosts(headers: IncomingHttpHeaders): string[] {
    const hosts = [headers.host ?? ""];
    if (this.#dashboardHost) hosts.push(this.#dashboardHost);
    return hosts;
  }
}

/** The client went away before the application answered: there is nobody to answer. */
export class ClientGone extends Error {
  constructor() {
    super("the client closed the connection before the application answered");
  }
}
