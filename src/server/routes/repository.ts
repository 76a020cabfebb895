import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { RepositoryService } from "../../content/repository-service.js";
import { errors, GuidParams } from "./schemas.js";

const fields = {
  repository: Type.String({ minLength: 1, maxLength: 2048, description: "The git URL." }),
  branch: Type.String({ minLength: 1, maxLength: 255, description: 'Default "main".' }),
  directory: Type.String({
    minLength: 1,
    maxLength: 1024,
    description: 'The folder holding manifest.json; default ".".',
  }),
  polling: Type.Boolean({ description: "Deploy each new commit of the branch." }),
};

const Repository = Type.Object({
  ...fields,
  last_commit: Type.Union([Type.String(), Type.Null()], {
    description: "Slipway's extension: the commit last deployed.",
  }),
  last_checked_time: Type.Union([Type.String(), Type.Null()]),
  last_error: Type.Union([Type.String(), Type.Null()], {
    description: "Slipway's extension: why the last look at the repository failed.",
  }),
});

export const repositoryRoutes: FastifyPluginAsyncTypebox<{
  repositories: RepositoryService;
}> = async (app, { repositories }) => {
  const tags = ["content"];
  const path = "/v1/content/:guid/repository";

  app.get(
    path,
    {
      schema: {
        tags,
        summary: "The git repository a content item deploys from",
        params: GuidParams,
        response: { 200: Repository, ...errors },
      },
      config: { role: "publisher" },
    },
    (request) => repositories.get(request.user!, request.params.guid),
  );

  app.put(
    path,
    {
      schema: {
        tags,
        summary: "Set the git repository a content item deploys from; git must reach the branch",
        params: GuidParams,
        body: Type.Object({
          repository: fields.repository,
          branch: Type.Optional(fields.branch),
          directory: Type.Optional(fields.directory),
          polling: Type.Optional(fields.polling),
        }),
        response: { 200: Repository, ...errors },
      },
      config: { role: "publisher" },
    },
    (request) => repositories.put(request.user!, request.params.guid, request.body),
  );

  app.patch(
    path,
    {
      schema: {
        tags,
        summary: "Change some of a content item's git repository settings",
        params: GuidParams,
        body: Type.Partial(Type.Object(fields)),
        response: { 200: Repository, ...errors },
      },
      config: { role: "publisher" },
    },
    (request) => repositories.patch(request.user!, request.params.guid, request.body),
  );

  app.delete(
    path,
    {
      schema: {
        tags,
        summary: "Stop deploying a content item from git; its bundles stay",
        params: GuidParams,
        response: { 204: Type.Null(), ...errors },
      },
      config: { role: "publisher" },
    },
    async (request, reply) => {
      await repositories.remove(request.user!, request.params.guid);
      return reply.status(204).send(null);
    },
  );

  app.post(
    `${path}/bundle`,
    {
      schema: {
        tags,
        summary: "Bundle the branch's newest commit and deploy it",
        params: GuidParams,
        response: {
          202: Type.Object({
            task_id: Type.String(),
            bundle_id: Type.String(),
            commit: Type.String(),
          }),
          ...errors,
        },
      },
      config: { role: "publisher" },
    },
    async (request, reply) =>
      reply.status(202).send(await repositories.deployNow(request.user!, request.params.guid)),
  );
};
