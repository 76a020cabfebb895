import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { EnvironmentService } from "../../environments/service.js";
import { ApiError } from "../../errors.js";
import type { Store } from "../../store/database.js";
import { findGroup } from "../../store/groups.js";
import {
  deleteEnvironmentPermission,
  type EnvironmentPermissionRow,
  environmentPermissions,
  insertEnvironmentPermission,
} from "../../store/permissions.js";
import { findUser } from "../../store/users.js";
import { EnvironmentPermission as Permission } from "../../users/permission-model.js";
import { errors, GuidParams } from "./schemas.js";

const toPermission = (row: EnvironmentPermissionRow) => ({
  guid: row.guid,
  environment_guid: row.environment_guid,
  user_guid: row.principal_type === "user" ? row.principal_guid : null,
  group_guid: row.principal_type === "group" ? row.principal_guid : null,
  created_time: row.created_time,
});

const PrincipalGuid = Type.String({ minLength: 1, maxLength: 64 });

const OneParams = Type.Object({
  guid: GuidParams.properties.guid,
  permission_guid: Type.String({ minLength: 1, maxLength: 64 }),
});

/**
 * Who may use an environment (rsconnect's `environment add/edit --allow-user/--allow-group`).
 * With none, every publisher may; otherwise only the users named and the groups' members.
 */
export const environmentPermissionRoutes: FastifyPluginAsyncTypebox<{
  environments: EnvironmentService;
  store: Store;
}> = async (app, { environments, store }) => {
  const tags = ["environments"];

  app.get(
    "/v1/environments/:guid/permissions",
    {
      schema: {
        tags,
        summary: "Who may use the environment; none means every publisher",
        params: GuidParams,
        response: { 200: Type.Array(Permission), ...errors },
      },
      config: { role: "administrator" },
    },
    async (request) => {
      await environments.get(request.params.guid);
      return (await environmentPermissions(store.db, request.params.guid)).map(toPermission);
    },
  );

  app.post(
    "/v1/environments/:guid/permissions",
    {
      schema: {
        tags,
        summary: "Let a user or a group's members use the environment (and restrict it to them)",
        params: GuidParams,
        body: Type.Object(
          { user_guid: Type.Optional(PrincipalGuid), group_guid: Type.Optional(PrincipalGuid) },
          { additionalProperties: false },
        ),
        response: { 200: Permission, ...errors },
      },
      config: { role: "administrator" },
    },
    async (request) => {
      await environments.get(request.params.guid);
      const { user_guid, group_guid } = request.body;
      if ((user_guid === undefined) === (group_guid === undefined)) {
        throw new ApiError("invalidParameter", "Give exactly one of user_guid and group_guid.", {
          payload: { field: user_guid === undefined ? "user_guid" : "group_guid" },
        });
      }
      const principal_type = user_guid === undefined ? "group" : "user";
      const principal_guid = (user_guid ?? group_guid)!;
      const exists =
        principal_type === "user"
          ? await findUser(store.db, principal_guid)
          : await findGroup(store.db, principal_guid);
      if (!exists) {
        throw new ApiError(
          "invalidParameter",
          `${principal_type === "user" ? "User" : "Group"} ${principal_guid} does not exist.`,
          { status: 404, payload: { principal_guid } },
        );
      }
      try {
        return toPermission(
          await insertEnvironmentPermission(store.db, request.params.guid, {
            principal_guid,
            principal_type,
          }),
        );
      } catch (error) {
        if (store.dialect.isUniqueViolation(error)) {
          throw new ApiError(
            "invalidParameter",
            `That ${principal_type} may already use this environment.`,
            { status: 409, payload: { principal_guid } },
          );
        }
        throw error;
      }
    },
  );

  app.get(
    "/v1/environments/:guid/permissions/:permission_guid",
    {
      schema: {
        tags,
        summary: "One permission of the environment",
        params: OneParams,
        response: { 200: Permission, ...errors },
      },
      config: { role: "administrator" },
    },
    async (request) => {
      await environments.get(request.params.guid);
      const found = (await environmentPermissions(store.db, request.params.guid)).find(
        (p) => p.guid === request.params.permission_guid,
      );
      if (!found) throw noPermission(request.params.permission_guid);
      return toPermission(found);
    },
  );

  app.delete(
    "/v1/environments/:guid/permissions/:permission_guid",
    {
      schema: {
        tags,
        summary: "Remove a permission; with none left, every publisher may use the environment",
        params: OneParams,
        response: { 204: Type.Null(), ...errors },
      },
      config: { role: "administrator" },
    },
    async (request, reply) => {
      await environments.get(request.params.guid);
      const { guid, permission_guid } = request.params;
      if (!(await deleteEnvironmentPermission(store.db, guid, permission_guid))) {
        throw noPermission(permission_guid);
      }
      return reply.status(204).send(null);
    },
  );
};

function noPermission(guid: string): ApiError {
  return new ApiError("notFound", `The environment has no permission ${guid}.`, {
    payload: { permission_guid: guid },
  });
}
