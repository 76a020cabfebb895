import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyReply } from "fastify";
import { Environment, EnvironmentCreate, EnvironmentUpdate } from "../../environments/model.js";
import type { EnvironmentService } from "../../environments/service.js";
import type { Store } from "../../store/database.js";
import { environmentsNotPermitted } from "../../store/permissions.js";
import { ENVIRONMENT_FIELD_RULES } from "../validation.js";
import { errors, GuidParams } from "./schemas.js";

export const environmentRoutes: FastifyPluginAsyncTypebox<{
  environments: EnvironmentService;
  store: Store;
}> = async (app, { environments, store }) => {
  const tags = ["environments"];

  app.get(
    "/v1/environments",
    {
      schema: {
        tags,
        summary: "List execution environments",
        response: { 200: Type.Array(Environment), ...errors },
      },
      config: { role: "publisher" },
    },
    async (request, reply) => {
      const json = await environments.listJson();
      // A publisher sees only the environments they may use.
      const hidden = await environmentsNotPermitted(store.db, request.user!);
      if (hidden.size > 0) {
        const visible = (JSON.parse(json.toString()) as Environment[]).filter(
          (e) => !hidden.has(e.guid),
        );
        return (reply as FastifyReply).type("application/json; charset=utf-8").send(visible);
      }
      // Already serialized text: the untyped reply sends it as it is.
      return (reply as FastifyReply).type("application/json; charset=utf-8").send(json);
    },
  );

  app.post(
    "/v1/environments",
    {
      schema: {
        tags,
        summary: "Create an execution environment",
        body: EnvironmentCreate,
        response: { 200: Environment, ...errors },
      },
      config: { role: "administrator", fieldRules: ENVIRONMENT_FIELD_RULES },
    },
    (request) => environments.create(request.body),
  );

  app.get(
    "/v1/environments/:guid",
    {
      schema: {
        tags,
        summary: "Get one execution environment",
        params: GuidParams,
        response: { 200: Environment, ...errors },
      },
      config: { role: "publisher" },
    },
    async (request) =>
      environments.get(
        request.params.guid,
        await environmentsNotPermitted(store.db, request.user!),
      ),
  );

  app.put(
    "/v1/environments/:guid",
    {
      schema: {
        tags,
        summary: "Update an execution environment; omitted fields keep their value",
        params: GuidParams,
        body: EnvironmentUpdate,
        response: { 200: Environment, ...errors },
      },
      config: { role: "administrator", fieldRules: ENVIRONMENT_FIELD_RULES },
    },
    (request) => environments.update(request.params.guid, request.body),
  );

  app.delete(
    "/v1/environments/:guid",
    {
      schema: {
        tags,
        summary:
          "Delete an execution environment; one that content uses is retired instead, unless forced",
        params: GuidParams,
        querystring: Type.Object({ force: Type.Optional(Type.Boolean()) }),
        response: { 204: Type.Null(), ...errors },
      },
      config: { role: "administrator" },
    },
    async (request, reply) => {
      await environments.remove(request.params.guid, { force: request.query.force });
      return reply.status(204).send(null);
    },
  );
};
