import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { DeployService } from "../../content/deploy-service.js";
import { Task } from "../../content/model.js";
import type { TaskRunner } from "../../content/task-runner.js";
import { Count, errors, GuidParams, RowId, RowIdText } from "./schemas.js";

const DeployBody = Type.Union([
  Type.Object({
    bundle_id: Type.Optional(Type.Union([RowIdText, RowId, Type.Null()])),
    activate: Type.Optional(Type.Boolean()),
  }),
  Type.Null(),
]);

const TaskId = Type.Object({ task_id: Type.String() });

export const taskRoutes: FastifyPluginAsyncTypebox<{
  deploy: DeployService;
  tasks: TaskRunner;
}> = async (app, { deploy, tasks }) => {
  for (const [action, summary] of [
    ["deploy", "Deploy a bundle (default: the newest): select, build and run"],
    ["build", "Build a bundle without rendering or starting it"],
  ] as const) {
    app.post(
      `/v1/content/:guid/${action}`,
      {
        schema: {
          tags: ["content"],
          summary,
          params: GuidParams,
          body: Type.Optional(DeployBody),
          response: { 202: TaskId, ...errors },
        },
        config: { role: "publisher" },
      },
      async (request, reply) => {
        const bundleId = request.body?.bundle_id;
        const taskId = await deploy.start(request.user!, request.params.guid, {
          bundleId: bundleId === undefined || bundleId === null ? null : Number(bundleId),
          buildOnly: action === "build",
          activate: request.body?.activate ?? true,
        });
        return reply.status(202).send({ task_id: taskId });
      },
    );
  }

  app.get(
    "/slipway/v1/content/:guid/last-task",
    {
      schema: {
        tags: ["slipway"],
        summary: "The newest deploy or build task of a content item, to follow its log",
        params: GuidParams,
        response: { 200: Type.Object({ id: Type.Union([Type.String(), Type.Null()]) }), ...errors },
      },
      config: { role: "publisher" },
    },
    async (request) => ({ id: (await tasks.latestFor(request.params.guid)) ?? null }),
  );

  app.get(
    "/v1/tasks/:id",
    {
      schema: {
        tags: ["tasks"],
        summary: "A task's output and state; wait holds the answer until it finishes (seconds)",
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        querystring: Type.Object({
          first: Type.Optional(Count),
          wait: Type.Optional(Type.Number({ minimum: 0, maximum: 60 })),
        }),
        response: { 200: Task, ...errors },
      },
      config: { role: "viewer" },
    },
    (request) => tasks.get(request.params.id, request.query.first ?? 0, request.query.wait ?? 0),
  );
};
