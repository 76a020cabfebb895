/**
 * The users API: searching, creating with a password, changing names and roles, locking.
 * Keys and sessions are checked against the user on every request, so a role change or a
 * lock takes effect on them at once; a lock also ends the user's sessions.
 */
import { ApiError } from "../errors.js";
import type { Store } from "../store/database.js";
import { deleteUserSessions } from "../store/sessions.js";
import { findUser, type UserChanges, type UserRow, updateUser } from "../store/users.js";
import { type ChangeContext, changeRole, createUser, MIN_PASSWORD_LENGTH } from "./accounts.js";
import { recordSecurityEvent } from "./audit.js";
import { hashPassword } from "./passwords.js";
import { roleAtLeast } from "./roles.js";

export async function getUser(store: Store, guid: string): Promise<UserRow> {
  const user = await findUser(store.db, guid);
  if (!user) throw new ApiError("notFound", `User ${guid} does not exist.`, { payload: { guid } });
  return user;
}

export interface NewUserBody {
  username: string;
  email?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  password?: string | null;
  user_role?: string | null;
}

/** A user of the password provider; with no password, they sign in with keys only. */
export async function addUser(store: Store, body: NewUserBody): Promise<UserRow> {
  if (body.password && body.password.length < MIN_PASSWORD_LENGTH) {
    throw new ApiError(
      "invalidParameter",
      `The password must have at least ${MIN_PASSWORD_LENGTH} characters.`,
      { payload: { field: "password" } },
    );
  }
  const hash = body.password ? await hashPassword(body.password) : null;
  const { user } = await createUser(store, body.username, body.user_role ?? "viewer", {
    email: body.email ?? "",
    firstName: body.first_name ?? "",
    lastName: body.last_name ?? "",
    passwordHash: hash,
    withKey: false,
  });
  return user;
}

export interface UserUpdate {
  username?: string;
  email?: string;
  first_name?: string;
  last_name?: string;
  user_role?: string;
}

/**
 * Administrators change anyone; other users change their own names and email, never a role.
 */
export async function editUser(
  store: Store,
  caller: UserRow,
  guid: string,
  body: UserUpdate,
  context: ChangeContext,
): Promise<UserRow> {
  const admin = roleAtLeast(caller.user_role, "administrator");
  const user = await getUser(store, guid);
  if (!admin && caller.guid !== guid) {
    throw new ApiError("permissionDenied", "Only administrators may change other users.");
  }
  if (body.user_role !== undefined && body.user_role !== user.user_role && !admin) {
    throw new ApiError("permissionDenied", "Only administrators may change a user's role.", {
      payload: { field: "user_role" },
    });
  }
  const changes: UserChanges = {};
  if (body.username !== undefined && body.username !== user.username) {
    changes.username = body.username;
  }
  if (body.email !== undefined) changes.email = body.email;
  if (body.first_name !== undefined) changes.first_name = body.first_name;
  if (body.last_name !== undefined) changes.last_name = body.last_name;
  try {
    await updateUser(store.db, guid, changes);
  } catch (error) {
    if (store.dialect.isUniqueViolation(error)) {
      throw new ApiError("invalidParameter", `A user named "${body.username}" already exists.`, {
        status: 409,
        payload: { field: "username" },
      });
    }
    throw error;
  }
  if (body.user_role !== undefined) await changeRole(store, guid, body.user_role, context);
  return getUser(store, guid);
}

/** Locks or unlocks a user; a lock ends every session of theirs and stops their keys. */
export async function setLocked(
  store: Store,
  caller: UserRow,
  guid: string,
  locked: boolean,
  context: ChangeContext,
): Promise<UserRow> {
  if (locked && caller.guid === guid) {
    throw new ApiError("invalidParameter", "You cannot lock yourself out.", {
      payload: { guid },
    });
  }
  const sessionsEnded = await store.db.transaction().execute(async (trx) => {
    const user = await findUser(trx, guid);
    if (!user)
      throw new ApiError("notFound", `User ${guid} does not exist.`, { payload: { guid } });
    await updateUser(trx, guid, { locked: locked ? 1 : 0 });
    return locked ? deleteUserSessions(trx, guid) : 0;
  });
  const user = await getUser(store, guid);
  await recordSecurityEvent(
    context.audit,
    {
      event: locked ? "user.locked" : "user.unlocked",
      user_guid: guid,
      username: user.username,
      by: context.by,
      sessions_ended: sessionsEnded,
    },
    store.db,
  );
  return user;
}
