import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import { Environment, RetiredEnvironment } from "../../environments/model.js";
import type { EnvironmentService } from "../../environments/service.js";
import { errors, GuidParams } from "./schemas.js";

/**
 * Slipway's own endpoints for environments retired by a delete while content used them:
 * Connect's API hides them everywhere, so only these show them or bring them back.
 */
export const retiredEnvironmentRoutes: FastifyPluginAsyncTypebox<{
  environments: EnvironmentService;
}> = async (app, { environments }) => {
  const tags = ["slipway"];

  app.get(
    "/slipway/v1/environments/retired",
    {
      schema: {
        tags,
        summary: "List retired environments",
        response: { 200: Type.Array(RetiredEnvironment), ...errors },
      },
      config: { role: "publisher" },
    },
    () => environments.listRetired(),
  );

  app.post(
    "/slipway/v1/environments/retired/:guid/restore",
    {
      schema: {
        tags,
        summary: "Put a retired environment back in the catalog with its former matching",
        params: GuidParams,
        response: { 200: Environment, ...errors },
      },
      config: { role: "administrator" },
    },
    (request) => environments.restore(request.params.guid),
  );

  app.delete(
    "/slipway/v1/environments/retired/:guid",
    {
      schema: {
        tags,
        summary: "Erase a retired environment",
        params: GuidParams,
        response: { 204: Type.Null(), ...errors },
      },
      config: { role: "administrator" },
    },
    async (request, reply) => {
      await environments.eraseRetired(request.params.guid);
      return reply.status(204).send(null);
    },
  );
};
