/** Creating users and keys, shared by the CLI and the server's first start. */
import { ApiError } from "../errors.js";
import { insertApiKey } from "../store/api-keys.js";
import type { Store } from "../store/database.js";
import { findUserByName, insertUser, type UserRow } from "../store/users.js";
import { generateApiKey, hashApiKey } from "./api-key.js";
import { isRole, ROLES } from "./roles.js";

const USERNAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export async function createUser(
  store: Store,
  username: string,
  role: string,
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
      const user = await insertUser(trx, { username, role });
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
