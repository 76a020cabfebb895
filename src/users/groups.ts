/** Groups of users: made by publishers, run by their owner and administrators. */
import { ApiError } from "../errors.js";
import type { Store } from "../store/database.js";
import {
  deleteGroup,
  deleteMember,
  findGroup,
  type GroupRow,
  insertGroup,
  insertMember,
} from "../store/groups.js";
import { findUser, type UserRow } from "../store/users.js";
import { roleAtLeast } from "./roles.js";

const GROUP_NAME = /^[^\s/\\][^/\\]{0,254}$/u;

export async function getGroup(store: Store, guid: string): Promise<GroupRow> {
  const group = await findGroup(store.db, guid);
  if (!group)
    throw new ApiError("notFound", `Group ${guid} does not exist.`, { payload: { guid } });
  return group;
}

export async function addGroup(store: Store, owner: UserRow, name: string): Promise<GroupRow> {
  if (!GROUP_NAME.test(name) || name.trim() !== name) {
    throw new ApiError(
      "invalidParameter",
      `Invalid group name "${name}": 1-255 characters, no slashes, no leading or trailing spaces.`,
      { payload: { field: "name" } },
    );
  }
  try {
    return await insertGroup(store.db, name, owner.guid);
  } catch (error) {
    if (store.dialect.isUniqueViolation(error)) {
      throw new ApiError("invalidParameter", `A group named "${name}" already exists.`, {
        status: 409,
        payload: { name },
      });
    }
    throw error;
  }
}

/** The group, if the caller may change it: its owner or an administrator. */
export async function getManagedGroup(
  store: Store,
  caller: UserRow,
  guid: string,
): Promise<GroupRow> {
  const group = await getGroup(store, guid);
  if (group.owner_guid !== caller.guid && !roleAtLeast(caller.user_role, "administrator")) {
    throw new ApiError(
      "permissionDenied",
      "Only the group's owner or an administrator may change this group.",
    );
  }
  return group;
}

export async function removeGroup(store: Store, caller: UserRow, guid: string): Promise<GroupRow> {
  const group = await getManagedGroup(store, caller, guid);
  await store.db.transaction().execute((trx) => deleteGroup(trx, guid));
  return group;
}

export async function addMember(
  store: Store,
  caller: UserRow,
  groupGuid: string,
  userGuid: string,
): Promise<{ group: GroupRow; user: UserRow }> {
  const group = await getManagedGroup(store, caller, groupGuid);
  const user = await findUser(store.db, userGuid);
  if (!user) {
    throw new ApiError("invalidParameter", `User ${userGuid} does not exist.`, {
      status: 404,
      payload: { user_guid: userGuid },
    });
  }
  try {
    await insertMember(store.db, groupGuid, userGuid);
  } catch (error) {
    if (store.dialect.isUniqueViolation(error)) {
      throw new ApiError(
        "invalidParameter",
        `${user.username} is already a member of ${group.name}.`,
        { status: 409, payload: { user_guid: userGuid } },
      );
    }
    throw error;
  }
  return { group, user };
}

export async function removeMember(
  store: Store,
  caller: UserRow,
  groupGuid: string,
  userGuid: string,
): Promise<GroupRow> {
  const group = await getManagedGroup(store, caller, groupGuid);
  if (!(await deleteMember(store.db, groupGuid, userGuid))) {
    throw new ApiError("notFound", `User ${userGuid} is not a member of ${group.name}.`, {
      payload: { user_guid: userGuid },
    });
  }
  return group;
}
