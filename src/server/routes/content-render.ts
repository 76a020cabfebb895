/**
 * Re-rendering a document the way posit-sdk's `ContentItem.render()` asks for it
 * (src/posit/connect/variants.py): `GET /applications/{guid}/variants` lists the content's
 * variants (Slipway has one, the default, whose id is the content's guid) and
 * `POST /variants/{id}/render` renders the active bundle again, answering with the task it
 * started, which the client then follows at `/v1/tasks/{id}`.
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import { isRendered } from "../../content/app-commands.js";
import type { ContentService } from "../../content/content-service.js";
import type { DeployService } from "../../content/deploy-service.js";
import { Task } from "../../content/model.js";
import type { TaskRunner } from "../../content/task-runner.js";
import { ApiError } from "../../errors.js";
import { errors } from "./schemas.js";

const Variant = Type.Object({
  id: Type.String(),
  app_id: Type.String(),
  app_guid: Type.String(),
  key: Type.String(),
  bundle_id: Type.Union([Type.String(), Type.Null()]),
  is_default: Type.Boolean(),
  name: Type.String(),
  visibility: Type.String(),
});
const Guid = Type.String({ minLength: 1, maxLength: 64 });

export const contentRenderRoutes: FastifyPluginAsyncTypebox<{
  content: ContentService;
  deploy: DeployService;
  tasks: TaskRunner;
}> = async (app, { content, deploy, tasks }) => {
  app.get(
    "/applications/:guid/variants",
    {
      schema: {
        tags: ["content"],
        summary: "The content's variants: one, the default",
        params: Type.Object({ guid: Guid }),
        response: { 200: Type.Array(Variant), ...errors },
      },
      config: { role: "viewer" },
    },
    async (request) => {
      const row = await content.get(request.params.guid);
      return [
        {
          id: row.guid,
          app_id: row.guid,
          app_guid: row.guid,
          key: row.guid,
          bundle_id: row.bundle_id === null ? null : String(row.bundle_id),
          is_default: true,
          name: "default",
          visibility: "public",
        },
      ];
    },
  );

  app.post(
    "/variants/:id/render",
    {
      schema: {
        tags: ["content"],
        summary: "Render the document again from its active bundle",
        params: Type.Object({ id: Guid }),
        response: { 200: Task, ...errors },
      },
      config: { role: "publisher" },
    },
    async (request) => {
      const row = await content.getEditable(request.user!, request.params.id);
      if (row.bundle_id === null || row.app_mode === null) {
        throw new ApiError("bundleMissing", `Content ${row.guid} is not deployed yet.`);
      }
      if (!isRendered(row.app_mode)) {
        throw new ApiError(
          "badRequest",
          `Content ${row.guid} is ${row.app_mode}, which is not rendered: restart it instead.`,
          { payload: { app_mode: row.app_mode } },
        );
      }
      const id = await deploy.start(request.user!, row.guid, {
        bundleId: row.bundle_id,
        buildOnly: false,
        activate: true,
      });
      return tasks.get(id, 0, 0);
    },
  );
};
