/**
 * Who is calling. Every route declares the least role it needs in its config
 * (`config: { role }`, null for public routes); one hook enforces it before the body is read,
 * and a route that declares nothing is closed. A key carries exactly its owner's current
 * role, so it can never exceed it.
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { FastifyInstance, RouteOptions } from "fastify";
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
  interface FastifyInstance {
    /** Every route registered after the auth hook, as declared, for the route walk. */
    declaredRoutes: readonly RouteOptions[];
  }
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function registerAuth(app: FastifyInstance, store: Store): void {
  app.decorateRequest("user", null);
  const routes: RouteOptions[] = [];
  app.decorate("declaredRoutes", routes);
  // The options object itself is kept: hooks of inner plugins may still complete it.
  app.addHook("onRoute", (route) => void routes.push(route));
  app.addHook("onRequest", async (request) => {
    const role = request.routeOptions.config.role;
    if (role === undefined && !request.is404) {
      request.log.error(
        { route: request.routeOptions.url },
        "This route declares no role (config.role), so it is closed",
      );
      throw new ApiError(
        "permissionDenied",
        "This endpoint declares no access rule, so it is closed to everyone.",
      );
    }
    if (role === undefined || role === null) {
      // Anonymous callers get what is served without a key, but a key that is sent must be
      // valid, as Connect answers: a client with a bogus key learns so on its first call.
      const header = request.headers.authorization;
      if (header !== undefined) request.user = await userOfKey(header, store);
      return;
    }
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
  return userOfKey(header, store);
}

/** The owner of the API key in an Authorization header; anything else is an invalid key. */
export async function userOfKey(header: string, store: Store): Promise<UserRow> {
  const match = /^Key\s+(\S+)\s*$/i.exec(header);
  if (!match)
    throw new ApiError(
      "invalidApiKey",
      "Invalid API key: the Authorization header must be 'Key <api key>'.",
    );
  const hash = hashApiKey(match[1]!);
  const found = await store.recent.read(`key:${hash}`, () => findApiKeyByHash(store.db, hash));
  if (!found || found.key.revoked_time !== null || found.user.locked) {
    throw new ApiError("invalidApiKey", "Invalid API key.");
  }
  // A write per request would make every read contend for the database; a minute is precise enough.
  const lastUsed = found.key.last_used_time ? Date.parse(found.key.last_used_time) : 0;
  if (Date.now() - lastUsed > 60_000) {
    try {
      await touchApiKey(store.db, found.key.guid);
    } catch (error) {
      // When a key was last used is a hint: a full disk must not turn every read away.
      if (!store.dialect.isStorageFull(error)) throw error;
    }
  }
  return found.user;
}

function sameSecret(given: string | string[] | undefined, expected: string): boolean {
  if (typeof given !== "string" || given.length !== expected.length) return false;
  return timingSafeEqual(Buffer.from(given), Buffer.from(expected));
}
