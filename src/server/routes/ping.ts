import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import { errors } from "./schemas.js";

export const pingRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    "/__ping__",
    {
      schema: { response: { 200: Type.Object({}), ...errors } },
      config: { role: null },
    },
    async () => ({}),
  );
};
