/**
 * The dashboard's session cookie: its names, how a request's Cookie header is read, and the
 * checks a cookie-authenticated change must pass besides its CSRF token.
 *
 * Over HTTPS the cookie is `__Host-slipway_session`: browsers only accept a `__Host-` cookie
 * that is Secure, host-only and `Path=/`, so no other host — a content origin under the same
 * domain included — can plant one. Over plain HTTP it is `slipway_session`, and a request
 * that carries two of them (one planted by a sibling host on the parent domain) is refused
 * rather than guessed at.
 */
import type { IncomingHttpHeaders } from "node:http";
import { ApiError } from "../errors.js";

export const SESSION_COOKIE = "slipway_session";
export const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;

/** Cookie names content may never set or read: every one Slipway issues starts with these. */
export function isSlipwayCookie(name: string): boolean {
  const bare = name.replace(/^__(Host|Secure)-/i, "").toLowerCase();
  return bare.startsWith("slipway_");
}

/** True when the browser reached Slipway over HTTPS (directly or through a proxy that says so). */
export function isSecureRequest(headers: IncomingHttpHeaders, encrypted = false): boolean {
  const proto = headers["x-forwarded-proto"];
  const first = (Array.isArray(proto) ? proto[0] : proto)?.split(",")[0]?.trim();
  return encrypted || first === "https";
}

/** Every value of a cookie in a Cookie header, in the order the browser sent them. */
export function cookieValues(headers: IncomingHttpHeaders, name: string): string[] {
  const values: string[] = [];
  for (const part of (headers.cookie ?? "").split(";")) {
    const at = part.indexOf("=");
    if (at < 0 || part.slice(0, at).trim() !== name) continue;
    try {
      values.push(decodeURIComponent(part.slice(at + 1).trim()));
    } catch {
      values.push(part.slice(at + 1).trim());
    }
  }
  return values;
}

export type SessionCookie =
  | { kind: "none" }
  | { kind: "one"; id: string }
  | { kind: "ambiguous"; name: string };

/**
 * The session id a request carries. On a secure request only the `__Host-` cookie counts:
 * a plain `slipway_session` there can only have been planted.
 */
export function readSessionCookie(headers: IncomingHttpHeaders): SessionCookie {
  const names = isSecureRequest(headers)
    ? [SECURE_SESSION_COOKIE]
    : [SECURE_SESSION_COOKIE, SESSION_COOKIE];
  for (const name of names) {
    const values = cookieValues(headers, name);
    if (values.length > 1) return { kind: "ambiguous", name };
    if (values.length === 1) return { kind: "one", id: values[0]! };
  }
  return { kind: "none" };
}

/** The Set-Cookie value that starts a session (or, with an empty id, ends it). */
export function sessionSetCookie(id: string, maxAgeSeconds: number, secure: boolean): string {
  const name = secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
  // No Domain attribute: the cookie stays on the dashboard's own host, never its subdomains.
  return `${name}=${id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${maxAgeSeconds}${secure ? "; Secure" : ""}`;
}

/**
 * A change authorized by the session cookie must come from a page of Slipway's own origin:
 * browsers say where a request comes from (Sec-Fetch-Site, Origin) and pages cannot forge
 * either. Clients that are not browsers send neither and authenticate with keys anyway.
 */
export function assertSameOriginWrite(headers: IncomingHttpHeaders): void {
  const site = headers["sec-fetch-site"];
  const origin = headers.origin;
  let sameHost = true;
  if (origin !== undefined) {
    try {
      sameHost = new URL(origin).host === headers.host;
    } catch {
      sameHost = false;
    }
  }
  if ((site !== undefined && site !== "same-origin") || !sameHost) {
    throw new ApiError(
      "permissionDenied",
      "Changes made with the session cookie must come from the dashboard's own origin.",
    );
  }
}
