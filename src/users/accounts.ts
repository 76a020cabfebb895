/** Creating users and keys, shared by the CLI and the server's first start. */
import { ApiError } from "../errors.js";
import { insertApiKey } from "../store/api-keys.js";
import type { Store } from "../store/database.js";
import { deleteUserSessions, setPasswordHash } from "../store/sessions.js";
import {
  findUser,
  findUserByName,
  insertUser,
  type NewUser,
  setUserRole,
  type UserRow,
} from "../store/users.js";
import { generateApiKey, hashApiKey } from "./api-key.js";
import { type AuditSink, recordSecurityEvent } from "./audit.js";
import { hashPassword } from "./passwords.js";
import { isRole, ROLES } from "./roles.js";

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export async function createUser(
  store: Store,
  username: string,
  role: string,
  details: Omit<NewUser, "username" | "role"> & { withKey?: boolean } = {},
): Promise<{ user: UserRow; apiKey: string }> {
  if (!USERNAME.test(username)) {
    throw new ApiError(
      "invalidParameter",
      `Invalid username "${username}": use 1-64 letters, digits, '.', '_', '@' or '-'.`,
    );
  }
  if (!isRole(role)) {
    throw new ApiError(
      "invalidParameter",
      `Unknown role "${role}": use one of ${ROLES.join(", ")}.`,
    );
  }
  try {
    return await store.db.transaction().execute(async (trx) => {
      const { withKey = true, ...rest } = details;
      const user = await insertUser(trx, { ...rest, username, role });
      if (!withKey) return { user, apiKey: "" };
      const apiKey = generateApiKey();
      await insertApiKey(trx, user.guid, "initial", hashApiKey(apiKey));
      return { user, apiKey };
    });
  } catch (error) {
    if (store.dialect.isUniqueViolation(error)) {
      throw new ApiError("invalidParameter", `A user named "${username}" already exists.`, {
        status: 409,
      });
    }
    throw error;
  }
}

export async function createApiKey(
  store: Store,
  username: string,
  name: string,
): Promise<{ guid: string; apiKey: string }> {
  const user = await findUserByName(store.db, username);
  if (!user) throw new ApiError("notFound", `No user named "${username}".`);
  const apiKey = generateApiKey();
  const row = await insertApiKey(store.db, user.guid, name, hashApiKey(apiKey));
  return { guid: row.guid, apiKey };
}

export interface ChangeContext {
  /** Who makes the change: a username, or "cli" for the command line. */
  by: string;
  /** The id hash of the session making the change, which stays signed in. */
  keepSession?: string;
  audit: AuditSink;
}

export const MIN_PASSWORD_LENGTH = 8;

/**
 * Sets a user's password and ends their other sessions in the same transaction: whoever
 * signed in with the old password (perhaps not the user) is signed out with it.
 */
export async function changePassword(
  store: Store,
  username: string,
  password: string,
  context: ChangeContext,
): Promise<{ user: UserRow; sessionsEnded: number }> {
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new ApiError(
      "invalidParameter",
      `The password must have at least ${MIN_PASSWORD_LENGTH} characters.`,
    );
  }
  const hash = await hashPassword(password);
  const result = await store.db.transaction().execute(async (trx) => {
    const user = await findUserByName(trx, username);
    if (!user) throw new ApiError("notFound", `No user named "${username}".`);
    await setPasswordHash(trx, username, hash);
    return { user, sessionsEnded: await deleteUserSessions(trx, user.guid, context.keepSession) };
  });
  await recordSecurityEvent(
    context.audit,
    {
      event: "password.changed",
      user_guid: result.user.guid,
      username,
      by: context.by,
      sessions_ended: result.sessionsEnded,
    },
    store.db,
  );
  return result;
}

/** Gives a user another role and ends their other sessions, which were made for the old one. */
export async function changeRole(
  store: Store,
  guid: string,
  role: string,
  context: ChangeContext,
): Promise<{ user: UserRow; sessionsEnded: number }> {
  if (!isRole(role)) {
    throw new ApiError(
      "invalidParameter",
      `Unknown role "${role}": use one of ${ROLES.join(", ")}.`,
    );
  }
  const result = await store.db.transaction().execute(async (trx) => {
    const before = await findUser(trx, guid);
    if (!before) throw new ApiError("notFound", `No user ${guid}.`);
    if (before.user_role === role) return { user: before, sessionsEnded: 0, changed: false };
    await setUserRole(trx, guid, role);
    const sessionsEnded = await deleteUserSessions(trx, guid, context.keepSession);
    return { user: (await findUser(trx, guid))!, sessionsEnded, changed: true };
  });
  if (!result.changed) return result;
  await recordSecurityEvent(
    context.audit,
    {
      event: "role.changed",
      user_guid: guid,
      username: result.user.username,
      role,
      by: context.by,
      sessions_ended: result.sessionsEnded,
    },
    store.db,
  );
  return result;
}
