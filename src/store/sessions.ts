import type { Kysely } from "kysely";
import type { Tables } from "./schema.js";
import type { UserRow } from "./users.js";

export async function insertSession(
  db: Kysely<Tables>,
  row: { id_hash: string; user_guid: string; csrf_token: string; expires_time: string },
): Promise<void> {
  await db
    .insertInto("sessions")
    .values({ ...row, created_time: new Date().toISOString() })
    .execute();
}

/** The live session with this id hash and its user. */
export async function findSession(
  db: Kysely<Tables>,
  idHash: string,
): Promise<{ csrf_token: string; user: UserRow } | undefined> {
  const session = await db
    .selectFrom("sessions")
    .selectAll()
    .where("id_hash", "=", idHash)
    .where("expires_time", ">", new Date().toISOString())
    .executeTakeFirst();
  if (!session) return undefined;
  const user = await db
    .selectFrom("users")
    .selectAll()
    .where("guid", "=", session.user_guid)
    .executeTakeFirst();
  return user && { csrf_token: session.csrf_token, user };
}

export async function deleteSession(db: Kysely<Tables>, idHash: string): Promise<void> {
  await db.deleteFrom("sessions").where("id_hash", "=", idHash).execute();
}

/** Ends every session of a user except `keep` (the one making the change); returns how many. */
export async function deleteUserSessions(
  db: Kysely<Tables>,
  userGuid: string,
  keep?: string,
): Promise<number> {
  let query = db.deleteFrom("sessions").where("user_guid", "=", userGuid);
  if (keep) query = query.where("id_hash", "!=", keep);
  const result = await query.executeTakeFirst();
  return Number(result.numDeletedRows);
}

export async function setPasswordHash(
  db: Kysely<Tables>,
  username: string,
  hash: string,
): Promise<boolean> {
  const result = await db
    .updateTable("users")
    .set({ password_hash: hash, updated_time: new Date().toISOString() })
    .where("username", "=", username)
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}
