/**
 * Dashboard sign-in: a username and password give an HttpOnly session cookie and a CSRF
 * token. Attempts are throttled per user name and per client address, and a refusal takes as
 * long whether or not the user exists.
 */
import { randomBytes } from "node:crypto";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyReply, FastifyRequest } from "fastify";
import type { Settings } from "../../config/settings.js";
import { ApiError } from "../../errors.js";
import type { Store } from "../../store/database.js";
import { deleteSession, findSession, insertSession } from "../../store/sessions.js";
import { findUserByName, type UserRow } from "../../store/users.js";
import { changePassword, MIN_PASSWORD_LENGTH } from "../../users/accounts.js";
import { hashApiKey } from "../../users/api-key.js";
import { recordSecurityEvent } from "../../users/audit.js";
import { verifyPasswordOrDummy } from "../../users/passwords.js";
import { SignInThrottle } from "../../users/sign-in-throttle.js";
import { sessionId } from "../auth.js";
import {
  isSecureRequest,
  SECURE_SESSION_COOKIE,
  SESSION_COOKIE,
  sessionSetCookie,
} from "../session-cookie.js";
import { errors } from "./schemas.js";

const SESSION_HOURS = 12;

const Session = Type.Object({
  user: Type.Object({ guid: Type.String(), username: Type.String(), user_role: Type.String() }),
  /** Send as X-CSRF-Token on every change made with the session cookie; null for API keys. */
  csrf_token: Type.Union([Type.String(), Type.Null()]),
});

const view = (user: UserRow, csrf: string | null) => ({
  user: { guid: user.guid, username: user.username, user_role: user.user_role },
  csrf_token: csrf,
});

export const sessionRoutes: FastifyPluginAsyncTypebox<{
  store: Store;
  settings: Settings;
}> = async (app, { store, settings }) => {
  const tags = ["slipway"];
  const auth = settings.Authentication;
  const throttle = new SignInThrottle(store, {
    freeFailures: auth.FailedSignInsBeforeDelay,
    baseDelaySeconds: auth.SignInDelaySeconds,
    maxDelaySeconds: auth.SignInMaxDelaySeconds,
    forgetSeconds: auth.FailedSignInsForgetSeconds,
  });
  const secure = (request: FastifyRequest) =>
    request.protocol === "https" ||
    isSecureRequest(request.headers) ||
    settings.Server.DashboardOrigin.startsWith("https:");

  /** Checks a password under the throttle; the user when it is right, otherwise a refusal. */
  async function checkPassword(
    request: FastifyRequest,
    reply: FastifyReply,
    username: string,
    password: string,
  ): Promise<UserRow> {
    const address = request.ip;
    const claim = await throttle.claim(username, address);
    if (!claim.ok) {
      await recordSecurityEvent(
        request.log,
        {
          event: "sign_in.throttled",
          username,
          address,
          throttled: claim.throttled,
          retry_after_seconds: claim.retryAfterSeconds,
        },
        store.db,
      );
      reply.header("Retry-After", String(claim.retryAfterSeconds));
      throw new ApiError(
        "authenticationRequired",
        `Too many failed sign-ins ${claim.throttled === "user" ? "for this user" : "from this address"}: try again in ${claim.retryAfterSeconds} seconds.`,
        { status: 429, payload: { retry_after_seconds: claim.retryAfterSeconds } },
      );
    }
    const user = await findUserByName(store.db, username);
    const ok = await verifyPasswordOrDummy(password, user?.password_hash);
    if (!user || !ok || user.locked) {
      await recordSecurityEvent(
        request.log,
        {
          event: "sign_in.refused",
          username,
          address,
          reason: user?.locked && ok ? "locked" : "wrong_password",
        },
        store.db,
      );
      throw new ApiError("authenticationRequired", "Wrong username or password.");
    }
    await throttle.succeeded(claim.keys);
    return user;
  }

  app.post(
    "/slipway/v1/session",
    {
      schema: {
        tags,
        summary: "Sign in with a username and password",
        body: Type.Object({
          username: Type.String({ maxLength: 64 }),
          password: Type.String({ maxLength: 1024 }),
        }),
        response: { 200: Session, ...errors },
      },
      config: { role: null },
    },
    async (request, reply) => {
      const user = await checkPassword(
        request,
        reply,
        request.body.username,
        request.body.password,
      );
      const id = randomBytes(32).toString("base64url");
      const csrf = randomBytes(24).toString("base64url");
      await insertSession(store.db, {
        id_hash: hashApiKey(id),
        user_guid: user.guid,
        csrf_token: csrf,
        expires_time: new Date(Date.now() + SESSION_HOURS * 3600_000).toISOString(),
      });
      await recordSecurityEvent(
        request.log,
        {
          event: "sign_in.succeeded",
          user_guid: user.guid,
          username: user.username,
          address: request.ip,
        },
        store.db,
      );
      reply.header("Set-Cookie", sessionSetCookie(id, SESSION_HOURS * 3600, secure(request)));
      return view(user, csrf);
    },
  );

  app.get(
    "/slipway/v1/session",
    {
      schema: {
        tags,
        summary: "Who is signed in, with the session's CSRF token",
        response: { 200: Session, ...errors },
      },
      config: { role: "viewer" },
    },
    async (request) => {
      const id = request.headers.authorization ? undefined : sessionId(request.headers);
      const session = id ? await findSession(store.db, hashApiKey(id)) : undefined;
      return view(request.user!, session?.csrf_token ?? null);
    },
  );

  app.delete(
    "/slipway/v1/session",
    {
      schema: { tags, summary: "Sign out", response: { 204: Type.Null(), ...errors } },
      config: { role: null },
    },
    async (request, reply) => {
      let id: string | undefined;
      try {
        id = sessionId(request.headers);
      } catch {
        // Two session cookies: clearing both below is exactly what signing out should do.
      }
      const session = id ? await findSession(store.db, hashApiKey(id)) : undefined;
      if (id) await deleteSession(store.db, hashApiKey(id));
      if (session) {
        await recordSecurityEvent(
          request.log,
          {
            event: "session.ended",
            user_guid: session.user.guid,
            reason: "sign_out",
          },
          store.db,
        );
      }
      reply.header("Set-Cookie", [
        `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`,
        `${SECURE_SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0; Secure`,
      ]);
      return reply.status(204).send(null);
    },
  );

  app.put(
    "/slipway/v1/user/password",
    {
      schema: {
        tags,
        summary: "Change your own password; your other sessions end",
        body: Type.Object({
          current_password: Type.Optional(Type.String({ maxLength: 1024 })),
          new_password: Type.String({ minLength: MIN_PASSWORD_LENGTH, maxLength: 1024 }),
        }),
        response: { 200: Type.Object({ sessions_ended: Type.Integer() }), ...errors },
      },
      config: { role: "viewer" },
    },
    async (request, reply) => {
      const caller = request.user!;
      // Someone holding only a stolen session must not be able to lock its owner out.
      if (caller.password_hash !== null) {
        await checkPassword(request, reply, caller.username, request.body.current_password ?? "");
      }
      const cookie = request.headers.authorization ? undefined : sessionId(request.headers);
      const { sessionsEnded } = await changePassword(
        store,
        caller.username,
        request.body.new_password,
        {
          by: caller.username,
          keepSession: cookie ? hashApiKey(cookie) : undefined,
          audit: request.log,
        },
      );
      return { sessions_ended: sessionsEnded };
    },
  );
};
