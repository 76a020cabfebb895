import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { ContentService } from "../../content/content-service.js";
import type { Store } from "../../store/database.js";
import type { ContentPermissionRow } from "../../store/permissions.js";
import {
  addPermission,
  changePermission,
  getPermission,
  listPermissions,
  PERMISSION_ROLES,
  removePermission,
} from "../../users/content-permissions.js";
import { ContentPermission as Permission } from "../../users/permission-model.js";
import { errors, GuidParams, RowIdText } from "./schemas.js";

const Body = Type.Object({
  principal_guid: Type.String({ minLength: 1, maxLength: 64 }),
  principal_type: Type.Union([Type.Literal("user"), Type.Literal("group")]),
  role: Type.Union(PERMISSION_ROLES.map((r) => Type.Literal(r))),
});

const OneParams = Type.Object({ guid: GuidParams.properties.guid, id: RowIdText });

const toPermission = (row: ContentPermissionRow) => ({
  id: String(row.id),
  content_guid: row.content_guid,
  principal_guid: row.principal_guid,
  principal_type: row.principal_type,
  role: row.role,
});

/** The people who may change the content (owner, collaborators, administrators) manage who sees it. */
export const contentPermissionRoutes: FastifyPluginAsyncTypebox<{
  store: Store;
  content: ContentService;
}> = async (app, { store, content }) => {
  const tags = ["content"];

  app.get(
    "/v1/content/:guid/permissions",
    {
      schema: {
        tags,
        summary: "Who besides its owner may view or change the content",
        params: GuidParams,
        response: { 200: Type.Array(Permission), ...errors },
      },
      config: { role: "viewer" },
    },
    async (request) => {
      await content.getEditable(request.user!, request.params.guid);
      return (await listPermissions(store, request.params.guid)).map(toPermission);
    },
  );

  app.post(
    "/v1/content/:guid/permissions",
    {
      schema: {
        tags,
        summary: "Let a user or group view (viewer) or change (owner) the content",
        params: GuidParams,
        body: Body,
        response: { 200: Permission, ...errors },
      },
      config: { role: "publisher" },
    },
    async (request) => {
      await content.getEditable(request.user!, request.params.guid);
      return toPermission(await addPermission(store, request.params.guid, request.body));
    },
  );

  app.get(
    "/v1/content/:guid/permissions/:id",
    {
      schema: {
        tags,
        summary: "One permission",
        params: OneParams,
        response: { 200: Permission, ...errors },
      },
      config: { role: "viewer" },
    },
    async (request) => {
      await content.getEditable(request.user!, request.params.guid);
      return toPermission(
        await getPermission(store, request.params.guid, Number(request.params.id)),
      );
    },
  );

  app.put(
    "/v1/content/:guid/permissions/:id",
    {
      schema: {
        tags,
        summary: "Change a permission",
        params: OneParams,
        body: Body,
        response: { 200: Permission, ...errors },
      },
      config: { role: "publisher" },
    },
    async (request) => {
      await content.getEditable(request.user!, request.params.guid);
      return toPermission(
        await changePermission(store, request.params.guid, Number(request.params.id), request.body),
      );
    },
  );

  app.delete(
    "/v1/content/:guid/permissions/:id",
    {
      schema: {
        tags,
        summary: "Remove a permission",
        params: OneParams,
        response: { 204: Type.Null(), ...errors },
      },
      config: { role: "publisher" },
    },
    async (request, reply) => {
      await content.getEditable(request.user!, request.params.guid);
      await removePermission(store, request.params.guid, Number(request.params.id));
      return reply.status(204).send(null);
    },
  );
};
