import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { Store } from "../../store/database.js";
import type { UserRow } from "../../store/users.js";
import { changeRole } from "../../users/accounts.js";
import { hashApiKey } from "../../users/api-key.js";
import { ROLES } from "../../users/roles.js";
import { sessionId } from "../auth.js";
import { errors, GuidParams } from "./schemas.js";

const User = Type.Object({
  guid: Type.String(),
  username: Type.String(),
  email: Type.String(),
  first_name: Type.String(),
  last_name: Type.String(),
  user_role: Type.String(),
  created_time: Type.String(),
  updated_time: Type.String(),
  active_time: Type.Union([Type.String(), Type.Null()]),
  confirmed: Type.Boolean(),
  locked: Type.Boolean(),
  external_id: Type.Union([Type.String(), Type.Null()]),
});

const toUser = (user: UserRow) => {
  const { password_hash: _, ...shown } = user;
  return {
    ...shown,
    active_time: user.active_time ?? user.updated_time,
    confirmed: true,
    locked: user.locked !== 0,
    external_id: null,
  };
};

export const userRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, { store }) => {
  app.get(
    "/v1/user",
    {
      schema: { summary: "The calling user", response: { 200: User, ...errors } },
      config: { role: "viewer" },
    },
    async (request) => toUser(request.user!),
  );

  app.put(
    "/v1/users/:guid",
    {
      schema: {
        summary: "Change a user's role; the user's other sessions end",
        params: GuidParams,
        body: Type.Object(
          { user_role: Type.Unsafe<string>(Type.String({ enum: [...ROLES] })) },
          { additionalProperties: false },
        ),
        response: { 200: User, ...errors },
      },
      config: { role: "administrator" },
    },
    async (request) => {
      const cookie = request.headers.authorization ? undefined : sessionId(request.headers);
      const { user } = await changeRole(store, request.params.guid, request.body.user_role, {
        by: request.user!.username,
        keepSession: cookie ? hashApiKey(cookie) : undefined,
        audit: request.log,
      });
      return toUser(user);
    },
  );
};
