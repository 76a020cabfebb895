import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import { CacheFields, RuntimeCache } from "../../content/runtime-cache-model.js";
import {
  buildsInProgress,
  cacheExists,
  LANGUAGES,
  type Language,
  listRuntimeCaches,
  runtimeCacheSubPath,
  takeOutCache,
} from "../../content/runtime-caches.js";
import type { TaskRunner } from "../../content/task-runner.js";
import { ApiError } from "../../errors.js";
import type { Store } from "../../store/database.js";
import { findTask } from "../../store/tasks.js";
import { errors } from "./schemas.js";

/** What posit-sdk sends back is a listed cache plus dry_run, so the listing's fields are let in. */
const DeleteBody = Type.Object({
  ...CacheFields,
  dry_run: Type.Optional(Type.Boolean()),
  size_bytes: Type.Optional(Type.Integer()),
  entries: Type.Optional(Type.Integer()),
  last_used_time: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});

const DeleteResult = Type.Object({
  ...CacheFields,
  task_id: Type.Union([Type.String(), Type.Null()]),
});

export const runtimeCacheRoutes: FastifyPluginAsyncTypebox<{
  store: Store;
  tasks: TaskRunner;
  dataDir: string;
}> = async (app, { store, tasks, dataDir }) => {
  const tags = ["system"];

  app.get(
    "/v1/system/caches/runtime",
    {
      schema: {
        tags,
        summary: "List the package caches of every image, language and version",
        response: { 200: Type.Object({ caches: Type.Array(RuntimeCache) }), ...errors },
      },
      config: { role: "administrator" },
    },
    async () => ({ caches: await listRuntimeCaches(dataDir) }),
  );

  app.delete(
    "/v1/system/caches/runtime",
    {
      schema: {
        tags,
        summary: "Delete one package cache; refused while a build writes into it",
        body: DeleteBody,
        response: { 200: DeleteResult, ...errors },
      },
      config: { role: "administrator" },
    },
    async (request) => {
      const { version, image_name, dry_run } = request.body;
      const language = LANGUAGES.find(
        (l) => l.toLowerCase() === request.body.language.toLowerCase(),
      );
      if (!language) {
        throw new ApiError(
          "invalidParameter",
          `language must be one of ${LANGUAGES.join(", ")}, not "${request.body.language}".`,
          { payload: { field: "language" } },
        );
      }
      const target = { language: language as Language, version, image_name };
      const subPath = runtimeCacheSubPath(target);
      if (!(await cacheExists(dataDir, subPath))) {
        throw new ApiError(
          "notFound",
          `Cache does not exist: no ${language} ${version} cache for image "${image_name}".`,
          { payload: target },
        );
      }
      const busy = await buildsInProgress(dataDir, subPath, async (id) => {
        const task = await findTask(store.db, id);
        return task !== undefined && task.finished_time === null;
      });
      if (busy.length > 0) {
        throw new ApiError(
          "badRequest",
          `The ${language} ${version} cache for image "${image_name}" is in use by a build (task ${busy.join(", ")}); try again once it finishes.`,
          { status: 409, payload: { ...target, task_ids: busy } },
        );
      }
      if (dry_run) return { ...target, task_id: null };
      const remove = await takeOutCache(dataDir, subPath);
      const taskId = await tasks.start(
        { kind: "remove-runtime-cache", userGuid: request.user!.guid },
        async (log) => {
          await log.line(`Removing the ${language} ${version} cache for image "${image_name}"`);
          await remove();
          await log.line("Removed; the next build that needs it repopulates it.");
        },
      );
      return { ...target, task_id: taskId };
    },
  );
};
