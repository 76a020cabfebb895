import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { Store } from "../../store/database.js";
import { type GroupRow, groupMembers, searchGroups } from "../../store/groups.js";
import { Group, Page, User } from "../../users/directory-model.js";
import { addGroup, addMember, getGroup, removeGroup, removeMember } from "../../users/groups.js";
import { errors, GuidParams } from "./schemas.js";
import { PageQuery, toUser } from "./users.js";

const toGroup = (group: GroupRow) => ({
  guid: group.guid,
  name: group.name,
  owner_guid: group.owner_guid,
});

export const groupRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, { store }) => {
  const tags = ["groups"];

  app.get(
    "/v1/groups",
    {
      schema: {
        tags,
        summary: "Search groups by name prefix",
        querystring: Type.Object(PageQuery),
        response: { 200: Page(Group), ...errors },
      },
      config: { role: "viewer" },
    },
    async (request) => {
      const { page_number = 1, page_size = 20, prefix } = request.query;
      const { rows, total } = await searchGroups(store.db, {
        prefix,
        offset: (page_number - 1) * page_size,
        limit: page_size,
      });
      return { results: rows.map(toGroup), current_page: page_number, total };
    },
  );

  app.post(
    "/v1/groups",
    {
      schema: {
        tags,
        summary: "Create a group; its creator owns it",
        body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) }),
        response: { 200: Group, ...errors },
      },
      config: { role: "publisher" },
    },
    async (request) => toGroup(await addGroup(store, request.user!, request.body.name)),
  );

  app.get(
    "/v1/groups/:guid",
    {
      schema: {
        tags,
        summary: "One group",
        params: GuidParams,
        response: { 200: Group, ...errors },
      },
      config: { role: "viewer" },
    },
    async (request) => toGroup(await getGroup(store, request.params.guid)),
  );

  app.delete(
    "/v1/groups/:guid",
    {
      schema: {
        tags,
        summary: "Delete a group with its memberships and the permissions granted to it",
        params: GuidParams,
        response: { 204: Type.Null(), ...errors },
      },
      config: { role: "publisher" },
    },
    async (request, reply) => {
      await removeGroup(store, request.user!, request.params.guid);
      return reply.status(204).send(null);
    },
  );

  app.get(
    "/v1/groups/:guid/members",
    {
      schema: {
        tags,
        summary: "The group's members",
        params: GuidParams,
        response: { 200: Page(User), ...errors },
      },
      config: { role: "viewer" },
    },
    async (request) => {
      await getGroup(store, request.params.guid);
      const members = await groupMembers(store.db, request.params.guid);
      return { results: members.map(toUser), current_page: 1, total: members.length };
    },
  );

  app.post(
    "/v1/groups/:guid/members",
    {
      schema: {
        tags,
        summary: "Add a user to the group",
        params: GuidParams,
        body: Type.Object({ user_guid: Type.String({ minLength: 1, maxLength: 64 }) }),
        response: { 200: Type.Object({}), ...errors },
      },
      config: { role: "publisher" },
    },
    async (request) => {
      await addMember(store, request.user!, request.params.guid, request.body.user_guid);
      return {};
    },
  );

  app.delete(
    "/v1/groups/:guid/members/:user_guid",
    {
      schema: {
        tags,
        summary: "Remove a user from the group",
        params: Type.Object({
          guid: Type.String({ minLength: 1, maxLength: 64 }),
          user_guid: Type.String({ minLength: 1, maxLength: 64 }),
        }),
        response: { 204: Type.Null(), ...errors },
      },
      config: { role: "publisher" },
    },
    async (request, reply) => {
      await removeMember(store, request.user!, request.params.guid, request.params.user_guid);
      return reply.status(204).send(null);
    },
  );
};
