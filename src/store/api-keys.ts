import { randomUUID } from "node:crypto";
import type { Kysely, Selectable } from "kysely";
import type { ApiKeysTable, Tables } from "./schema.js";
import type { UserRow } from "./users.js";

export type ApiKeyRow = Readonly<Selectable<ApiKeysTable>>;

export async function insertApiKey(
  db: Kysely<Tables>,
  userGuid: string,
  name: string,
  keyHash: string,
): Promise<ApiKeyRow> {
  const row = {
    guid: randomUUID(),
    user_guid: userGuid,
    name,
    key_hash: keyHash,
    created_time: new Date().toISOString(),
    last_used_time: null,
    revoked_time: null,
  };
  await db.insertInto("api_keys").values(row).execute();
  return row;
}

/** The key with this hash and its owner, revoked or not: the caller decides what revoked means. */
export async function findApiKeyByHash(
  db: Kysely<Tables>,
  keyHash: string,
): Promise<{ key: ApiKeyRow; user: UserRow } | undefined> {
  const row = await db
    .selectFrom("api_keys")
    .innerJoin("users", "users.guid", "api_keys.user_guid")
    .selectAll("users")
    .select([
      "api_keys.guid as key_guid",
      "api_keys.name as key_name",
      "api_keys.key_hash",
      "api_keys.created_time as key_created_time",
      "api_keys.last_used_time as key_last_used_time",
      "api_keys.revoked_time as key_revoked_time",
    ])
    .where("api_keys.key_hash", "=", keyHash)
    .executeTakeFirst();
  if (!row) return undefined;
  const {
    key_guid,
    key_name,
    key_hash,
    key_created_time,
    key_last_used_time,
    key_revoked_time,
    ...user
  } = row;
  return {
    key: {
      guid: key_guid,
      user_guid: user.guid,
      name: key_name,
      key_hash,
      created_time: key_created_time,
      last_used_time: key_last_used_time,
      revoked_time: key_revoked_time,
    },
    user,
  };
}

export function listApiKeys(db: Kysely<Tables>, userGuid?: string) {
  let query = db
    .selectFrom("api_keys")
    .innerJoin("users", "users.guid", "api_keys.user_guid")
    .select([
      "api_keys.guid",
      "api_keys.name",
      "api_keys.created_time",
      "api_keys.last_used_time",
      "api_keys.revoked_time",
      "users.username",
    ])
    .orderBy("api_keys.created_time");
  if (userGuid) query = query.where("api_keys.user_guid", "=", userGuid);
  return query.execute();
}

/** Marks the key revoked; true when a key with that guid exists. Revoking twice is harmless. */
export async function revokeApiKey(db: Kysely<Tables>, guid: string): Promise<boolean> {
  const result = await db
    .updateTable("api_keys")
    .set({ revoked_time: new Date().toISOString() })
    .where("guid", "=", guid)
    .where("revoked_time", "is", null)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) > 0) return true;
  const existing = await db
    .selectFrom("api_keys")
    .select("guid")
    .where("guid", "=", guid)
    .executeTakeFirst();
  return existing !== undefined;
}

export async function touchApiKey(db: Kysely<Tables>, guid: string): Promise<void> {
  await db
    .updateTable("api_keys")
    .set({ last_used_time: new Date().toISOString() })
    .where("guid", "=", guid)
    .execute();
}
