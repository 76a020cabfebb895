import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { DeclarativeFile } from "../../environments/declarative.js";
import { planFile } from "../../environments/declarative.js";
import type { Store } from "../../store/database.js";
import { errors } from "./schemas.js";

const Status = Type.Object({
  file: Type.Union([Type.String(), Type.Null()]),
  ok: Type.Boolean(),
  problems: Type.Array(Type.String()),
  last_checked: Type.Union([Type.String(), Type.Null()]),
  last_applied: Type.Union([Type.String(), Type.Null()]),
  last_changes: Type.Array(Type.String()),
});

/** Slipway's own endpoints, under a prefix Connect's API will never use. */
export const environmentFileRoutes: FastifyPluginAsyncTypebox<{
  store: Store;
  declarative: DeclarativeFile | undefined;
}> = async (app, { store, declarative }) => {
  const tags = ["slipway"];

  app.get(
    "/slipway/v1/environments/file",
    {
      schema: {
        tags,
        summary: "State of the declarative environments file: last apply, changes, problems",
        response: { 200: Status, ...errors },
      },
      config: { role: "publisher" },
    },
    async () =>
      declarative?.status() ?? {
        file: null,
        ok: true,
        problems: [],
        last_checked: null,
        last_applied: null,
        last_changes: [],
      },
  );

  app.post(
    "/slipway/v1/environments/plan",
    {
      schema: {
        tags,
        summary: "Plan a declarative environments file against the catalog without applying it",
        body: Type.Object({
          text: Type.String({ maxLength: 4 * 1024 * 1024, description: "The file's YAML text." }),
        }),
        querystring: Type.Object({ source: Type.Optional(Type.String({ maxLength: 4096 })) }),
        response: {
          200: Type.Object({
            summary: Type.Array(Type.String()),
            plan: Type.Array(Type.Object({}, { additionalProperties: true })),
          }),
          ...errors,
        },
      },
      config: { role: "administrator" },
    },
    async (request) => {
      const source = request.query.source ?? declarative?.file ?? "plan";
      const { plan, summary } = await planFile(store, request.body.text, source);
      return { summary, plan };
    },
  );
};
