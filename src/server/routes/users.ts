import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyRequest } from "fastify";
import type { Store } from "../../store/database.js";
import { searchUsers, type UserRow } from "../../store/users.js";
import type { ChangeContext } from "../../users/accounts.js";
import { hashApiKey } from "../../users/api-key.js";
import { addUser, editUser, getUser, setLocked } from "../../users/directory.js";
import { Page, User } from "../../users/directory-model.js";
import { ROLES } from "../../users/roles.js";
import { sessionId } from "../auth.js";
import { errors, GuidParams } from "./schemas.js";

export const toUser = (user: UserRow) => {
  const { password_hash: _, ...shown } = user;
  return {
    ...shown,
    active_time: user.active_time ?? user.updated_time,
    confirmed: true,
    locked: user.locked !== 0,
    external_id: null,
  };
};

export const PageQuery = {
  page_number: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 1 })),
  page_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 20 })),
  prefix: Type.Optional(Type.String({ maxLength: 256 })),
};

const Role = Type.Unsafe<string>(Type.String({ enum: [...ROLES] }));
const Name = Type.String({ pattern: "^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$" });
const Role1 = Type.Union([Role, Type.Null()]);
const Text = (max: number) => Type.Union([Type.String({ maxLength: max }), Type.Null()]);

/** Who makes a change and which of their sessions stays signed in. */
export function changeContext(request: FastifyRequest): ChangeContext {
  const cookie = request.headers.authorization ? undefined : sessionId(request.headers);
  return {
    by: request.user!.username,
    keepSession: cookie ? hashApiKey(cookie) : undefined,
    audit: request.log,
  };
}

/** A list of `a|b|c` values, as clients send several in one query parameter. */
const choices = (text: string | undefined) =>
  text
    ?.split("|")
    .map((s) => s.trim())
    .filter(Boolean);

export const userRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (app, { store }) => {
  const tags = ["users"];
  app.get(
    "/v1/user",
    {
      schema: { tags, summary: "The calling user", response: { 200: User, ...errors } },
      config: { role: "viewer" },
    },
    async (request) => toUser(request.user!),
  );

  app.get(
    "/me",
    {
      schema: {
        tags,
        summary: "The calling user (Connect's unversioned form)",
        response: { 200: User, ...errors },
      },
      config: { role: "viewer" },
    },
    async (request) => toUser(request.user!),
  );

  app.get(
    "/v1/users",
    {
      schema: {
        tags,
        summary: "Search users by name prefix, role and account status",
        querystring: Type.Object({
          ...PageQuery,
          user_role: Type.Optional(
            Type.String({ pattern: `^(${ROLES.join("|")})(\\|(${ROLES.join("|")}))*$` }),
          ),
          account_status: Type.Optional(
            Type.String({
              pattern: "^(locked|licensed|inactive)(\\|(locked|licensed|inactive))*$",
            }),
          ),
        }),
        response: { 200: Page(User), ...errors },
      },
      config: { role: "viewer" },
    },
    async (request) => {
      const { page_number = 1, page_size = 20 } = request.query;
      const { rows, total } = await searchUsers(store.db, {
        prefix: request.query.prefix,
        roles: choices(request.query.user_role),
        statuses: choices(request.query.account_status),
        offset: (page_number - 1) * page_size,
        limit: page_size,
      });
      return { results: rows.map(toUser), current_page: page_number, total };
    },
  );

  app.get(
    "/v1/users/:guid",
    {
      schema: { tags, summary: "One user", params: GuidParams, response: { 200: User, ...errors } },
      config: { role: "viewer" },
    },
    async (request) => toUser(await getUser(store, request.params.guid)),
  );

  app.post(
    "/v1/users",
    {
      schema: {
        tags,
        summary: "Create a user who signs in with a password",
        body: Type.Object({
          username: Name,
          email: Type.Optional(Text(256)),
          first_name: Type.Optional(Text(256)),
          last_name: Type.Optional(Text(256)),
          password: Type.Optional(Text(1024)),
          user_must_set_password: Type.Optional(Type.Union([Type.Boolean(), Type.Null()])),
          user_role: Type.Optional(Role1),
          unique_id: Type.Optional(Text(256)),
        }),
        response: { 200: User, ...errors },
      },
      config: { role: "administrator" },
    },
    async (request) => toUser(await addUser(store, request.body)),
  );

  app.put(
    "/v1/users/:guid",
    {
      schema: {
        tags,
        summary: "Change a user's names, email or role; a role change ends their other sessions",
        params: GuidParams,
        body: Type.Object(
          {
            username: Type.Optional(Name),
            email: Type.Optional(Type.String({ maxLength: 256 })),
            first_name: Type.Optional(Type.String({ maxLength: 256 })),
            last_name: Type.Optional(Type.String({ maxLength: 256 })),
            user_role: Type.Optional(Role),
          },
          { additionalProperties: false },
        ),
        response: { 200: User, ...errors },
      },
      config: { role: "viewer" },
    },
    async (request) =>
      toUser(
        await editUser(
          store,
          request.user!,
          request.params.guid,
          request.body,
          changeContext(request),
        ),
      ),
  );

  app.post(
    "/v1/users/:guid/lock",
    {
      schema: {
        tags,
        summary: "Lock or unlock a user; a locked user's keys and sessions stop working",
        params: GuidParams,
        body: Type.Object({ locked: Type.Boolean() }),
        response: { 200: User, ...errors },
      },
      config: { role: "administrator" },
    },
    async (request) =>
      toUser(
        await setLocked(
          store,
          request.user!,
          request.params.guid,
          request.body.locked,
          changeContext(request),
        ),
      ),
  );
};
