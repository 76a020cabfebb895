/**
 * Who is calling. Every API route declares the least role it needs in its config
 * (`config: { role }`, null for public routes); one hook enforces it before the body is read.
 * A key carries exactly its owner's current role, so it can never exceed it.
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { FastifyInstance } from "fastify";
import { ApiError } from "../errors.js";
import { findApiKeyByHash, touchApiKey } from "../store/api-keys.js";
import type { Store } from "../store/database.js";
import { findSession } from "../store/sessions.js";
import type { UserRow } from "../store/users.js";
import { hashApiKey } from "../users/api-key.js";
import { type Role, roleAtLeast } from "../users/roles.js";
import { assertSameOriginWrite, readSessionCookie } from "./session-cookie.js";
import type { FieldRules } from "./validation.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /** The least role allowed; null means no authentication. */
    role?: Role | null;
    /** Connect error codes and readable rules for body fields that fail validation. */
    fieldRules?: FieldRules;
  }
  interface FastifyRequest {
    user: UserRow | null;
  }
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function registerAuth(app: FastifyInstance, store: Store): void {
  app.decorateRequest("user", null);
  app.addHook("onRequest", async (request) => {
    const role = request.routeOptions.config.role;
    if (role === undefined || role === null) return;
    request.user = await authenticate(request.headers, store, request.method);
    if (!roleAtLeast(request.user.user_role, role)) {
      throw new ApiError(
        "permissionDenied",
        "You do not have permission to perform this operation.",
      );
    }
  });
}

/** The dashboard's session id from a Cookie header, if it carries exactly one. */
export function sessionId(headers: IncomingHttpHeaders): string | undefined {
  const cookie = readSessionCookie(headers);
  if (cookie.kind === "ambiguous") {
    throw new ApiError(
      "authenticationRequired",
      "The request carries two session cookies, so neither is trusted: sign in again.",
    );
  }
  return cookie.kind === "one" ? cookie.id : undefined;
}

/**
 * The user the request's credentials belong to: an API key, or the dashboard's session
 * cookie. A cookie alone never authorizes a change: writes must also carry the session's
 * CSRF token, which another site's page cannot read.
 */
export async function authenticate(
  headers: IncomingHttpHeaders,
  store: Store,
  method = "GET",
): Promise<UserRow> {
  const header = headers.authorization;
  const session = sessionId(headers);
  if (!header && session) {
    const found = await findSession(store.db, hashApiKey(session));
    if (!found || found.user.locked)
      throw new ApiError("authenticationRequired", "Your session has ended: sign in again.");
    if (!SAFE_METHODS.has(method)) {
      assertSameOriginWrite(headers);
      if (!sameSecret(headers["x-csrf-token"], found.csrf_token)) {
        throw new ApiError(
          "permissionDenied",
          "This change needs the session's X-CSRF-Token header.",
        );
      }
    }
    return found.user;
  }
  if (!header) {
    throw new ApiError(
      "authenticationRequired",
      "Authentication required: send 'Authorization: Key <api key>' or sign in.",
    );
  }
  const match = /^Key\s+(\S+)\s*$/i.exec(header);
  if (!match)
    throw new ApiError(
      "invalidApiKey",
      "Invalid API key: the Authorization header must be 'Key <api key>'.",
    );
  const found = await findApiKeyByHash(store.db, hashApiKey(match[1]!));
  if (!found || found.key.revoked_time !== null || found.user.locked) {
    throw new ApiError("invalidApiKey", "Invalid API key.");
  }
  // A write per request would make every read contend for the database; a minute is precise enough.
  const lastUsed = found.key.last_used_time ? Date.parse(found.key.last_used_time) : 0;
  if (Date.now() - lastUsed > 60_000) await touchApiKey(store.db, found.key.guid);
  return found.user;
}

function sameSecret(given: string | string[] | undefined, expected: string): boolean {
  if (typeof given !== "string" || given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}
