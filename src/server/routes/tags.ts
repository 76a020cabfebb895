import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyRequest } from "fastify";
import type { ContentService } from "../../content/content-service.js";
import { toContent } from "../../content/content-service.js";
import { Content } from "../../content/model.js";
import { Tag } from "../../content/tag-model.js";
import { ApiError } from "../../errors.js";
import type { Store } from "../../store/database.js";
import {
  deleteTag,
  findTag,
  insertTag,
  listTags,
  tagContent,
  tagsOfContent,
  toTag,
  untagContent,
  updateTag,
} from "../../store/tags.js";
import type { ContentSite } from "../content-site.js";
import { baseUrl } from "./content.js";
import { errors, GuidParams, RowIdText } from "./schemas.js";

const TagParams = Type.Object({ id: RowIdText });
const TAG_NAME = /^(?!\s)[^/\\]{1,255}(?<!\s)$/u;

/** Connect's tags: a tree that administrators keep, put on content by those who may change it. */
export const tagRoutes: FastifyPluginAsyncTypebox<{
  store: Store;
  content: ContentService;
  site: ContentSite;
}> = async (app, { store, content, site }) => {
  const tags = ["tags"];
  const getTag = async (id: number) => {
    const tag = await findTag(store.db, id);
    if (!tag)
      throw new ApiError("notFound", `Tag ${id} does not exist.`, { payload: { id: String(id) } });
    return tag;
  };
  const duplicate = (name: string) =>
    new ApiError("invalidParameter", `A tag named "${name}" already exists there.`, {
      status: 409,
      payload: { name },
    });
  /** Whether `name` may sit under `parentId`: a valid name, a parent that exists and is not
   * the tag itself or below it, and no sibling of that name. */
  const checkPlace = async (name: string, parentId: number | null, self?: number) => {
    if (!TAG_NAME.test(name)) {
      throw new ApiError(
        "invalidParameter",
        `Invalid tag name "${name}": no slashes, no leading or trailing spaces.`,
        { payload: { field: "name" } },
      );
    }
    for (let above = parentId; above !== null; ) {
      const parent = await findTag(store.db, above);
      if (!parent) {
        throw new ApiError("invalidParameter", `The parent tag ${parentId} does not exist.`, {
          status: 404,
          payload: { parent_id: String(parentId) },
        });
      }
      if (parent.id === self) {
        throw new ApiError("invalidParameter", `Tag ${self} cannot move under itself.`, {
          payload: { parent_id: String(parentId) },
        });
      }
      above = parent.parent_id;
    }
    const siblings = await listTags(store.db, { name, parentId });
    if (siblings.some((sibling) => sibling.id !== self)) throw duplicate(name);
  };
  /** Runs a write that a sibling of the same name, made meanwhile, may refuse. */
  const uniquely = async <T>(name: string, write: () => Promise<T>): Promise<T> => {
    try {
      return await write();
    } catch (error) {
      if (store.dialect.isUniqueViolation(error)) throw duplicate(name);
      throw error;
    }
  };
  const urls = (request: FastifyRequest) => {
    const base = baseUrl(request);
    return { base, content: (guid: string) => site.contentUrl(guid, base) };
  };

  app.get(
    "/v1/tags",
    {
      schema: {
        tags,
        summary: "Every tag with its parent, optionally by name and parent",
        querystring: Type.Object({
          name: Type.Optional(Type.String({ maxLength: 256 })),
          parent_id: Type.Optional(RowIdText),
        }),
        response: { 200: Type.Array(Tag), ...errors },
      },
      config: { role: "viewer" },
    },
    async (request) =>
      (
        await listTags(store.db, {
          name: request.query.name,
          parentId:
            request.query.parent_id === undefined ? undefined : Number(request.query.parent_id),
        })
      ).map(toTag),
  );

  app.post(
    "/v1/tags",
    {
      schema: {
        tags,
        summary: "Create a tag, at the top or under a parent",
        body: Type.Object({
          name: Type.String({ minLength: 1, maxLength: 255 }),
          parent_id: Type.Optional(Type.Union([RowIdText, Type.Null()])),
        }),
        response: { 200: Tag, ...errors },
      },
      config: { role: "administrator" },
    },
    async (request) => {
      const { name } = request.body;
      const parentId = request.body.parent_id ? Number(request.body.parent_id) : null;
      await checkPlace(name, parentId);
      return toTag(await uniquely(name, () => insertTag(store.db, name, parentId)));
    },
  );

  app.patch(
    "/v1/tags/:id",
    {
      schema: {
        tags,
        summary: "Rename a tag or move it under another parent (null: to the top)",
        params: TagParams,
        body: Type.Object({
          name: Type.Optional(Type.String({ minLength: 1, maxLength: 255 })),
          parent_id: Type.Optional(Type.Union([RowIdText, Type.Null()])),
        }),
        response: { 200: Tag, ...errors },
      },
      config: { role: "administrator" },
    },
    async (request) => {
      const id = Number(request.params.id);
      const tag = await getTag(id);
      const name = request.body.name ?? tag.name;
      const parentId =
        request.body.parent_id === undefined
          ? tag.parent_id
          : request.body.parent_id === null
            ? null
            : Number(request.body.parent_id);
      await checkPlace(name, parentId, id);
      return toTag(
        await uniquely(name, () => updateTag(store.db, id, { name, parent_id: parentId })),
      );
    },
  );

  app.get(
    "/v1/tags/:id",
    {
      schema: { tags, summary: "One tag", params: TagParams, response: { 200: Tag, ...errors } },
      config: { role: "viewer" },
    },
    async (request) => toTag(await getTag(Number(request.params.id))),
  );

  app.delete(
    "/v1/tags/:id",
    {
      schema: {
        tags,
        summary: "Delete a tag with its descendants; content loses them",
        params: TagParams,
        response: { 204: Type.Null(), ...errors },
      },
      config: { role: "administrator" },
    },
    async (request, reply) => {
      await getTag(Number(request.params.id));
      await deleteTag(store.db, Number(request.params.id));
      return reply.status(204).send(null);
    },
  );

  app.get(
    "/v1/tags/:id/content",
    {
      schema: {
        tags,
        summary: "The content with this tag that the caller may see",
        params: TagParams,
        response: { 200: Type.Array(Content), ...errors },
      },
      config: { role: "viewer" },
    },
    async (request) => {
      await getTag(Number(request.params.id));
      const rows = await content.list(request.user!, { tagId: Number(request.params.id) });
      return rows.map(({ row, role }) => toContent(row, request.user!, urls(request), role));
    },
  );

  app.get(
    "/v1/content/:guid/tags",
    {
      schema: {
        tags,
        summary: "The content's tags",
        params: GuidParams,
        response: { 200: Type.Array(Tag), ...errors },
      },
      config: { role: "viewer" },
    },
    async (request) => {
      await content.getViewable(request.user!, request.params.guid);
      return (await tagsOfContent(store.db, request.params.guid)).map(toTag);
    },
  );

  app.post(
    "/v1/content/:guid/tags",
    {
      schema: {
        tags,
        summary: "Put a tag on the content",
        params: GuidParams,
        body: Type.Object({ tag_id: RowIdText }),
        response: { 200: Tag, ...errors },
      },
      config: { role: "publisher" },
    },
    async (request) => {
      await content.getEditable(request.user!, request.params.guid);
      const id = Number(request.body.tag_id);
      const tag = await findTag(store.db, id);
      if (!tag) {
        throw new ApiError("invalidParameter", `Tag ${id} does not exist.`, {
          status: 404,
          payload: { tag_id: String(id) },
        });
      }
      try {
        await tagContent(store.db, request.params.guid, id);
      } catch (error) {
        if (!store.dialect.isUniqueViolation(error)) throw error;
        throw new ApiError("invalidParameter", `The content already has the tag ${tag.name}.`, {
          status: 409,
          payload: { tag_id: String(id) },
        });
      }
      return toTag(tag);
    },
  );

  app.delete(
    "/v1/content/:guid/tags/:id",
    {
      schema: {
        tags,
        summary: "Take a tag off the content",
        params: Type.Object({ guid: GuidParams.properties.guid, id: RowIdText }),
        response: { 204: Type.Null(), ...errors },
      },
      config: { role: "publisher" },
    },
    async (request, reply) => {
      await content.getEditable(request.user!, request.params.guid);
      if (!(await untagContent(store.db, request.params.guid, Number(request.params.id)))) {
        throw new ApiError("notFound", `The content has no tag ${request.params.id}.`, {
          payload: { tag_id: request.params.id },
        });
      }
      return reply.status(204).send(null);
    },
  );
};
