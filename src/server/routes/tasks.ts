import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { ContentService } from "../../content/content-service.js";
import type { DeployService } from "../../content/deploy-service.js";
import { Task } from "../../content/model.js";
import type { TaskRunner } from "../../content/task-runner.js";
import { ApiError } from "../../errors.js";
import type { Store } from "../../store/database.js";
import { findTask } from "../../store/tasks.js";
import type { UserRow } from "../../store/users.js";
import { roleAtLeast } from "../../users/roles.js";
import { errors, GuidParams } from "./schemas.js";

const DeployBody = Type.Union([
  Type.Object({
    bundle_id: Type.Optional(
      Type.Union([
        Type.String({ pattern: "^[0-9]{1,15}$" }),
        Type.Integer({ minimum: 1 }),
        Type.Null(),
      ]),
    ),
    activate: Type.Optional(Type.Boolean()),
  }),
  Type.Null(),
]);

const TaskId = Type.Object({ task_id: Type.String() });

export const taskRoutes: FastifyPluginAsyncTypebox<{
  deploy: DeployService;
  tasks: TaskRunner;
  content: ContentService;
  store: Store;
}> = async (app, { deploy, tasks, content, store }) => {
  /**
   * A task's log shows how content is built and run, so only the people who may change the
   * content (or who started a task of no content) read it. Holding its id is not enough.
   */
  async function assertMayRead(caller: UserRow, id: string): Promise<void> {
    const task = await findTask(store.db, id);
    if (!task) return; // tasks.get answers "no such task" in Connect's words
    if (task.content_guid) {
      await content.getBehindTheScenes(caller, task.content_guid);
    } else if (task.user_guid !== caller.guid && !roleAtLeast(caller.user_role, "administrator")) {
      throw new ApiError("permissionDenied", "Only whoever started this task may read it.");
    }
  }

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
    async (request) => {
      const item = await content.getBehindTheScenes(request.user!, request.params.guid);
      return { id: (await tasks.latestFor(item.guid)) ?? null };
    },
  );

  app.get(
    "/v1/tasks/:id",
    {
      schema: {
        tags: ["tasks"],
        summary: "A task's output and state; wait holds the answer until it finishes (seconds)",
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }),
        querystring: Type.Object({
          first: Type.Optional(Type.Integer({ minimum: 0 })),
          wait: Type.Optional(Type.Number({ minimum: 0, maximum: 60 })),
        }),
        response: { 200: Task, ...errors },
      },
      config: { role: "viewer" },
    },
    async (request) => {
      await assertMayRead(request.user!, request.params.id);
      return tasks.get(request.params.id, request.query.first ?? 0, request.query.wait ?? 0);
    },
  );
};
