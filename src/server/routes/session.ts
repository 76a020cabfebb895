/** Dashboard sign-in: a username and password give an HttpOnly session cookie and a CSRF token. */
import { randomBytes } from "node:crypto";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyRequest } from "fastify";
import { ApiError } from "../../errors.js";
import type { Store } from "../../store/database.js";
import { deleteSession, findSession, insertSession } from "../../store/sessions.js";
import { findUserByName, type UserRow } from "../../store/users.js";
import { hashApiKey } from "../../users/api-key.js";
import { verifyPassword } from "../../users/passwords.js";
import { SESSION_COOKIE, sessionId } from "../auth.js";
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

export const sessionRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (
  app,
  { store },
) => {
  const tags = ["slipway"];
  const secure = (request: FastifyRequest) =>
    request.protocol === "https" || request.headers["x-forwarded-proto"] === "https";

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
      const user = await findUserByName(store.db, request.body.username);
      const ok = await verifyPassword(request.body.password, user?.password_hash ?? null);
      if (!user || !ok || user.locked)
        throw new ApiError("authenticationRequired", "Wrong username or password.");
      const id = randomBytes(32).toString("base64url");
      const csrf = randomBytes(24).toString("base64url");
      await insertSession(store.db, {
        id_hash: hashApiKey(id),
        user_guid: user.guid,
        csrf_token: csrf,
        expires_time: new Date(Date.now() + SESSION_HOURS * 3600_000).toISOString(),
      });
      reply.header(
        "Set-Cookie",
        `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${SESSION_HOURS * 3600}${secure(request) ? "; Secure" : ""}`,
      );
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
      const id = sessionId(request.headers);
      if (id) await deleteSession(store.db, hashApiKey(id));
      reply.header("Set-Cookie", `${SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0`);
      return reply.status(204).send(null);
    },
  );
};
