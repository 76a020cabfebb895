/**
 * A content pass lets one session view one content item where the session cookie cannot go:
 * in the URL of sandboxed documents (their own requests carry no cookies), and as the
 * cookie of a separate content origin. It is the session's id hash and a MAC of the content
 * guid keyed by the session's secret, so it names its session, works for that content only,
 * and ends with the session. It never authorizes the API.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import type { Store } from "../store/database.js";
import { findSession } from "../store/sessions.js";
import type { UserRow } from "../store/users.js";

/** The path segment a pass travels behind: /content/<guid>/__pass__/<pass>/<rest>. */
export const PASS_SEGMENT = "__pass__";
/** The content origin's cookie holding an application's pass. */
export const PASS_COOKIE = "slipway_content";

const ID_CHARS = 43;
const PASS = /^[A-Za-z0-9_-]{65}$/;

export interface SessionSecret {
  readonly idHash: string;
  readonly csrfToken: string;
}

export function issuePass(session: SessionSecret, guid: string): string {
  return Buffer.from(session.idHash, "hex").toString("base64url") + mac(session.csrfToken, guid);
}

/** The user and session a pass belongs to, if it is a live pass for this content. */
export async function redeemPass(
  store: Store,
  pass: string,
  guid: string,
): Promise<{ user: UserRow; idHash: string } | null> {
  if (!PASS.test(pass)) return null;
  const idHash = Buffer.from(pass.slice(0, ID_CHARS), "base64url").toString("hex");
  const session = await findSession(store.db, idHash);
  if (!session || session.user.locked) return null;
  const expected = Buffer.from(mac(session.csrf_token, guid));
  const given = Buffer.from(pass.slice(ID_CHARS));
  return given.length === expected.length && timingSafeEqual(given, expected)
    ? { user: session.user, idHash }
    : null;
}

/** Splits a pass off the path below /content/<guid>. */
export function splitPass(rest: string): { pass: string | null; rest: string } {
  const match = /^\/__pass__\/([^/]*)(\/.*)?$/.exec(rest);
  return match ? { pass: match[1]!, rest: match[2] ?? "/" } : { pass: null, rest };
}

function mac(key: string, guid: string): string {
  return createHmac("sha256", key)
    .update(`slipway content pass\0${guid}`)
    .digest()
    .subarray(0, 16)
    .toString("base64url");
}
