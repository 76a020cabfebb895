/**
 * What of an application's response reaches the browser. An application may set its own
 * headers and cookies for its own content URL, but never Slipway's cookies, cookies for the
 * dashboard or the API or other content, headers Slipway sets itself, headers that act on the
 * whole host, or a redirect elsewhere on Slipway's own origin (which CSP would not check).
 * Pure, so every rule is tested on plain data.
 */
import { isSlipwayCookie } from "./session-cookie.js";

export type Headers = Record<string, string | string[] | number | undefined>;

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
}

export type Filtered = { ok: true; headers: Headers } | { ok: false; location: string };

export function filterResponseHeaders(headers: Headers, rules: ResponseRules): Filtered {
  const out: Headers = {};
  for (const [name, value] of Object.entries(headers)) {
    const key = name.toLowerCase();
    if (value === undefined || WITHHELD.has(key)) continue;
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
