/**
 * `/v1/content/{guid}/environment`: the content's environment variables. GET lists names (a
 * JSON array of strings, which posit-sdk's `EnvVars` and rsconnect-python read), PATCH takes
 * `[{name, value}]` with `value: null` removing one, PUT replaces them all. Each write
 * restarts the content's processes, with the new values.
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { ContentVariables } from "../../content/content-variables.js";
import { MAX_VARIABLES } from "../../content/content-variables.js";
import { errors, GuidParams } from "./schemas.js";

const Names = Type.Array(Type.String(), { description: "The variables' names; never values." });
const Changes = Type.Array(
  Type.Object(
    {
      name: Type.String({ maxLength: 1024 }),
      value: Type.Union([Type.String(), Type.Null()]),
    },
    { additionalProperties: false },
  ),
  { maxItems: MAX_VARIABLES },
);

export const contentEnvironmentRoutes: FastifyPluginAsyncTypebox<{
  variables: ContentVariables;
  /** Called after a write, so running processes restart with the new values. */
  onChanged(guid: string): void;
}> = async (app, { variables, onChanged }) => {
  const tags = ["content"];
  app.get(
    "/v1/content/:guid/environment",
    {
      schema: {
        tags,
        summary: "List the names of the content's environment variables",
        params: GuidParams,
        response: { 200: Names, ...errors },
      },
      config: { role: "publisher" },
    },
    async (request) => variables.names(request.user!, request.params.guid),
  );

  app.patch(
    "/v1/content/:guid/environment",
    {
      schema: {
        tags,
        summary: "Set environment variables (value null removes one); restarts the content",
        params: GuidParams,
        body: Changes,
        response: { 200: Names, ...errors },
      },
      config: { role: "publisher" },
    },
    async (request) => {
      const names = await variables.patch(request.user!, request.params.guid, request.body);
      onChanged(request.params.guid);
      return names;
    },
  );

  app.put(
    "/v1/content/:guid/environment",
    {
      schema: {
        tags,
        summary: "Replace every environment variable; restarts the content",
        params: GuidParams,
        body: Changes,
        response: { 200: Names, ...errors },
      },
      config: { role: "publisher" },
    },
    async (request) => {
      const names = await variables.replace(request.user!, request.params.guid, request.body);
      onChanged(request.params.guid);
      return names;
    },
  );
};
