/**
 * What of a request reaches an application, and what of its response reaches the browser.
 * The application never sees the caller's API key or Slipway's cookies: content is code that
 * publishers wrote. It may set its own headers and cookies for its own content URL, but never
 * Slipway's cookies, cookies for the dashboard or the API or other content, headers Slipway
 * sets itself, headers that act on the whole host, or a redirect elsewhere on Slipway's own
 * origin (which CSP would not check). Headers about one connection stay on it. Pure, so every
 * rule is tested on plain data; each direction is one pass over the headers, since every
 * proxied request makes both.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from "node:http";
import { isSlipwayCookie } from "./session-cookie.js";

export type Headers = Record<string, string | string[] | number | undefined>;

/** Headers about one connection (RFC 9110 §7.6.1), never forwarded in either direction. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "transfer-encoding",
  "upgrade",
  "te",
  "trailer",
]);

/** The headers about the connection only: hop-by-hop, and any other `connection` names. */
function connectionOnly(connection: Headers[string]): ReadonlySet<string> {
  if (typeof connection !== "string") return HOP_BY_HOP;
  // Usually "keep-alive" or "close", which name nothing beyond the hop-by-hop set.
  let listed: Set<string> | undefined;
  for (const token of connection.split(",")) {
    const name = token.trim().toLowerCase();
    if (HOP_BY_HOP.has(name)) continue;
    listed ??= new Set(HOP_BY_HOP);
    listed.add(name);
  }
  return listed ?? HOP_BY_HOP;
}

/** The cookies of a Cookie header that are not Slipway's, or undefined when none are left. */
function othersCookies(cookie: string): string | undefined {
  const kept = cookie
    .split(";")
    .map((c) => c.trim())
    .filter((c) => c && !isSlipwayCookie(c.split("=")[0]!.trim()));
  return kept.length > 0 ? kept.join("; ") : undefined;
}

/** The request's headers without the caller's credentials, connection headers kept. */
export function withoutCredentials(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const { authorization: _, cookie, ...rest } = headers;
  const kept = cookie === undefined ? undefined : othersCookies(cookie);
  return kept === undefined ? rest : { ...rest, cookie: kept };
}

/**
 * The headers an application is sent for a request: the request's, without the caller's
 * credentials or headers about the client's connection (nor a length, for a request sent
 * without its body), with `added` over them.
 */
export function requestHeadersForApp(
  headers: IncomingHttpHeaders,
  added: OutgoingHttpHeaders,
  withBody: boolean,
): OutgoingHttpHeaders {
  const skipped = connectionOnly(headers.connection);
  const out: OutgoingHttpHeaders = {};
  for (const name of Object.keys(headers)) {
    if (skipped.has(name) || name === "authorization") continue;
    if (name === "content-length" && !withBody) continue;
    if (name === "cookie") {
      const kept = othersCookies(headers.cookie!);
      if (kept !== undefined) out.cookie = kept;
    } else {
      out[name] = headers[name];
    }
  }
  return Object.assign(out, added);
}

/** Slipway's own headers, and headers whose effect reaches beyond the content URL. */
const WITHHELD = new Set([
  "x-correlation-id",
  "x-content-type-options",
  "clear-site-data",
  "service-worker-allowed",
  "strict-transport-security",
]);

export interface ResponseRules {
  /** The content URL's path, with its trailing slash: /content/<guid>/. */
  readonly prefix: string;
  /** The URL the browser asked for, to resolve relative redirects. */
  readonly requestUrl: string;
  /** Hosts that are Slipway's (the request's host, the dashboard's). */
  readonly ownHosts: readonly string[];
  /** Slipway's policy for this response, enforced beside any the application sends. */
  readonly csp?: string;
  /** A WebSocket handshake's answer, whose Connection and Upgrade headers are the upgrade's. */
  readonly handshake?: boolean;
}

const NONE: ReadonlySet<string> = new Set();

export type Filtered = { ok: true; headers: Headers } | { ok: false; location: string };

export function filterResponseHeaders(headers: Headers, rules: ResponseRules): Filtered {
  const out: Headers = {};
  const skipped = rules.handshake ? NONE : connectionOnly(headers.connection);
  for (const name of Object.keys(headers)) {
    const value = headers[name];
    const key = name.toLowerCase();
    if (value === undefined || WITHHELD.has(key) || skipped.has(key)) continue;
    if (key === "set-cookie") {
      const cookies = (Array.isArray(value) ? value : [String(value)])
        .map((c) => rewriteSetCookie(c, rules.prefix))
        .filter((c): c is string => c !== null);
      if (cookies.length > 0) out[key] = cookies;
    } else if (key === "location") {
      if (escapesPrefix(String(value), rules)) return { ok: false, location: String(value) };
      out[key] = value;
    } else {
      out[key] = value;
    }
  }
  if (rules.csp) {
    const theirs = out["content-security-policy"];
    out["content-security-policy"] = [
      rules.csp,
      ...(theirs === undefined ? [] : Array.isArray(theirs) ? theirs : [String(theirs)]),
    ];
  }
  return { ok: true, headers: out };
}

/**
 * A Set-Cookie value scoped to the content URL: host-only and within the prefix; null for a
 * cookie the application may not set at all.
 */
export function rewriteSetCookie(value: string, prefix: string): string | null {
  const [pair = "", ...attributes] = value.split(";");
  const name = pair.slice(0, Math.max(0, pair.indexOf("="))).trim();
  // A __Host- cookie must have Path=/, which would reach the dashboard: none of those either.
  if (!name || isSlipwayCookie(name) || /^__host-/i.test(name)) return null;
  const kept: string[] = [];
  let path: string | null = null;
  for (const attribute of attributes) {
    const attributeName = attribute.split("=")[0]!.trim().toLowerCase();
    if (attributeName === "domain") continue;
    if (attributeName === "path") {
      path = attribute.slice(attribute.indexOf("=") + 1).trim();
      continue;
    }
    if (attribute.trim()) kept.push(attribute.trim());
  }
  const within = path !== null && (path.startsWith(prefix) || `${path}/` === prefix);
  return [pair.trim(), `Path=${within ? path : prefix}`, ...kept].join("; ");
}

function escapesPrefix(location: string, rules: ResponseRules): boolean {
  let url: URL;
  try {
    url = new URL(location, rules.requestUrl);
  } catch {
    return true;
  }
  if (!rules.ownHosts.includes(url.host)) return false;
  return !(url.pathname.startsWith(rules.prefix) || `${url.pathname}/` === rules.prefix);
}
