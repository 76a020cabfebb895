import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyRequest } from "fastify";
import {
  parseIncludes,
  refuseUnsupportedFields,
  withIncludes,
} from "../../content/content-fields.js";
import type { ContentService } from "../../content/content-service.js";
import { toContent } from "../../content/content-service.js";
import { Content, ContentCreate, ContentPatch } from "../../content/model.js";
import type { Store } from "../../store/database.js";
import type { ContentSite } from "../content-site.js";
import { errors, GuidParams, RowIdText } from "./schemas.js";

export interface ContentRoutesOptions {
  content: ContentService;
  /** Where content URLs point. */
  site: ContentSite;
  /** Called after a change, so running processes follow the content's settings. */
  onChanged(guid: string): void;
  /** Called once content is deleted, so its running processes and files go with it. */
  onDeleted(guid: string): Promise<void>;
  /** For the owner's names in `include=owner`. */
  store: Store;
}

export function baseUrl(request: FastifyRequest): string {
  return `${request.protocol}://${request.host}`;
}

export const contentRoutes: FastifyPluginAsyncTypebox<ContentRoutesOptions> = async (
  app,
  options,
) => {
  const { content } = options;
  const urls = (request: FastifyRequest) => {
    const base = baseUrl(request);
    return { base, content: (guid: string) => options.site.contentUrl(guid, base) };
  };
  const tags = ["content"];

  app.post(
    "/v1/content",
    {
      schema: {
        tags,
        summary: "Create a content item",
        body: ContentCreate,
        response: { 200: Content, ...errors },
      },
      config: { role: "publisher" },
    },
    async (request) => {
      refuseUnsupportedFields(request.body);
      return toContent(
        await content.create(request.user!, request.body),
        request.user!,
        urls(request),
        "owner",
      );
    },
  );

  app.get(
    "/v1/content",
    {
      schema: {
        tags,
        summary: "List content, optionally by name and owner",
        querystring: Type.Object({
          name: Type.Optional(Type.String()),
          owner_guid: Type.Optional(Type.String()),
          include: Type.Optional(Type.String({ maxLength: 256 })),
          tag_id: Type.Optional(RowIdText),
        }),
        response: { 200: Type.Array(Content), ...errors },
      },
      config: { role: "viewer" },
    },
    async (request) => {
      const include = parseIncludes(request.query.include);
      const rows = await content.list(request.user!, {
        name: request.query.name,
        ownerGuid: request.query.owner_guid,
        tagId: request.query.tag_id === undefined ? undefined : Number(request.query.tag_id),
      });
      return Promise.all(
        rows.map(({ row, role }) =>
          withIncludes(options.store, toContent(row, request.user!, urls(request), role), include),
        ),
      );
    },
  );

  app.get(
    "/v1/content/:guid",
    {
      schema: {
        tags,
        summary: "Get a content item",
        params: GuidParams,
        querystring: Type.Object({ include: Type.Optional(Type.String({ maxLength: 256 })) }),
        response: { 200: Content, ...errors },
      },
      config: { role: "viewer" },
    },
    async (request) => {
      const include = parseIncludes(request.query.include);
      const { row, role } = await content.getViewable(request.user!, request.params.guid);
      return withIncludes(
        options.store,
        toContent(row, request.user!, urls(request), role),
        include,
      );
    },
  );

  app.patch(
    "/v1/content/:guid",
    {
      schema: {
        tags,
        summary: "Change a content item; omitted fields keep their value",
        params: GuidParams,
        body: ContentPatch,
        response: { 200: Content, ...errors },
      },
      config: { role: "publisher" },
    },
    async (request) => {
      refuseUnsupportedFields(request.body);
      const row = await content.patch(request.user!, request.params.guid, request.body);
      options.onChanged(row.guid);
      const { role } = await content.getViewable(request.user!, row.guid);
      return toContent(row, request.user!, urls(request), role);
    },
  );

  app.delete(
    "/v1/content/:guid",
    {
      schema: {
        tags,
        summary: "Delete a content item with its bundles",
        params: GuidParams,
        response: { 204: Type.Null(), ...errors },
      },
      config: { role: "publisher" },
    },
    async (request, reply) => {
      // The row goes first, so nothing starts the content again while its processes stop.
      await content.remove(request.user!, request.params.guid);
      await options.onDeleted(request.params.guid);
      return reply.status(204).send(null);
    },
  );
};
