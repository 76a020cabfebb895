import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import { errors } from "./schemas.js";

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

export const userRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    "/v1/user",
    {
      schema: { summary: "The calling user", response: { 200: User, ...errors } },
      config: { role: "viewer" },
    },
    async (request) => {
      const user = request.user!;
      return {
        ...user,
        active_time: user.active_time ?? user.updated_time,
        confirmed: true,
        locked: user.locked !== 0,
        external_id: null,
      };
    },
  );
};
