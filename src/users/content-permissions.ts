/** Connect's content permissions: users and groups added as viewers or collaborators (owner). */
import { ApiError } from "../errors.js";
import type { Store } from "../store/database.js";
import { findGroup } from "../store/groups.js";
import {
  type ContentPermissionRow,
  contentPermissions,
  deleteContentPermission,
  findContentPermission,
  insertContentPermission,
  type Principal,
  updateContentPermission,
} from "../store/permissions.js";
import { findUser } from "../store/users.js";
import { roleAtLeast } from "./roles.js";

export const PERMISSION_ROLES = ["viewer", "owner"] as const;

export interface PermissionBody extends Principal {
  role: (typeof PERMISSION_ROLES)[number];
}

export function listPermissions(store: Store, contentGuid: string) {
  return contentPermissions(store.db, contentGuid);
}

export async function getPermission(
  store: Store,
  contentGuid: string,
  id: number,
): Promise<ContentPermissionRow> {
  const row = await findContentPermission(store.db, contentGuid, id);
  if (!row) {
    throw new ApiError("notFound", `Content ${contentGuid} has no permission ${id}.`, {
      payload: { id: String(id) },
    });
  }
  return row;
}

/** Refuses principals that do not exist, and viewers as collaborators. */
async function checkPrincipal(store: Store, body: PermissionBody): Promise<void> {
  if (body.principal_type === "group") {
    if (!(await findGroup(store.db, body.principal_guid))) {
      throw new ApiError("invalidParameter", `Group ${body.principal_guid} does not exist.`, {
        status: 404,
        payload: { principal_guid: body.principal_guid },
      });
    }
    return;
  }
  const user = await findUser(store.db, body.principal_guid);
  if (!user) {
    throw new ApiError("invalidParameter", `User ${body.principal_guid} does not exist.`, {
      status: 404,
      payload: { principal_guid: body.principal_guid },
    });
  }
  if (body.role === "owner" && !roleAtLeast(user.user_role, "publisher")) {
    throw new ApiError(
      "invalidParameter",
      `${user.username} is a viewer: only publishers and administrators may be collaborators.`,
      { payload: { principal_guid: body.principal_guid } },
    );
  }
}

export async function addPermission(
  store: Store,
  contentGuid: string,
  body: PermissionBody,
): Promise<ContentPermissionRow> {
  await checkPrincipal(store, body);
  try {
    return await insertContentPermission(store.db, { content_guid: contentGuid, ...body });
  } catch (error) {
    if (store.dialect.isUniqueViolation(error)) {
      throw new ApiError(
        "invalidParameter",
        `That ${body.principal_type} already has a permission on this content: change it instead.`,
        { status: 409, payload: { principal_guid: body.principal_guid } },
      );
    }
    throw error;
  }
}

export async function changePermission(
  store: Store,
  contentGuid: string,
  id: number,
  body: PermissionBody,
): Promise<ContentPermissionRow> {
  await getPermission(store, contentGuid, id);
  await checkPrincipal(store, body);
  try {
    await updateContentPermission(store.db, id, body);
  } catch (error) {
    if (store.dialect.isUniqueViolation(error)) {
      throw new ApiError(
        "invalidParameter",
        `That ${body.principal_type} already has another permission on this content.`,
        { status: 409, payload: { principal_guid: body.principal_guid } },
      );
    }
    throw error;
  }
  return getPermission(store, contentGuid, id);
}

export async function removePermission(store: Store, contentGuid: string, id: number) {
  await getPermission(store, contentGuid, id);
  await deleteContentPermission(store.db, id);
}
