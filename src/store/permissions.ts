/** Who may see or change content, and who may use a restricted environment. */
import { randomUUID } from "node:crypto";
import { type Kysely, type Selectable, type SqlBool, sql } from "kysely";
import type { ContentPermissionsTable, EnvironmentPermissionsTable, Tables } from "./schema.js";

export type ContentPermissionRow = Readonly<Selectable<ContentPermissionsTable>>;
export type EnvironmentPermissionRow = Readonly<Selectable<EnvironmentPermissionsTable>>;

export interface Principal {
  principal_guid: string;
  principal_type: "user" | "group";
}

export function contentPermissions(db: Kysely<Tables>, contentGuid: string) {
  return db
    .selectFrom("content_permissions")
    .selectAll()
    .where("content_guid", "=", contentGuid)
    .orderBy("id")
    .execute();
}

export function findContentPermission(db: Kysely<Tables>, contentGuid: string, id: number) {
  return db
    .selectFrom("content_permissions")
    .selectAll()
    .where("content_guid", "=", contentGuid)
    .where("id", "=", id)
    .executeTakeFirst();
}

export async function insertContentPermission(
  db: Kysely<Tables>,
  row: Principal & { content_guid: string; role: string },
): Promise<ContentPermissionRow> {
  return db.insertInto("content_permissions").values(row).returningAll().executeTakeFirstOrThrow();
}

export async function updateContentPermission(
  db: Kysely<Tables>,
  id: number,
  fields: Partial<Principal & { role: string }>,
): Promise<void> {
  await db.updateTable("content_permissions").set(fields).where("id", "=", id).execute();
}

export async function deleteContentPermission(db: Kysely<Tables>, id: number): Promise<void> {
  await db.deleteFrom("content_permissions").where("id", "=", id).execute();
}

/** The strongest role the user holds on the content through its permissions, if any. */
export async function permittedRole(
  db: Kysely<Tables>,
  contentGuid: string,
  userGuid: string,
): Promise<"owner" | "viewer" | null> {
  const rows = await db
    .selectFrom("content_permissions")
    .select("role")
    .where("content_guid", "=", contentGuid)
    .where(grantedTo(userGuid))
    .execute();
  if (rows.some((r) => r.role === "owner")) return "owner";
  return rows.length > 0 ? "viewer" : null;
}

/**
 * A permission row (of content or of an environment) that names the user or one of the
 * user's groups. Plain SQL, since both tables share these two columns.
 */
export function grantedTo(userGuid: string) {
  return sql<SqlBool>`((principal_type = 'user' and principal_guid = ${userGuid}) or (principal_type = 'group' and principal_guid in (select group_guid from group_members where user_guid = ${userGuid})))`;
}

export function environmentPermissions(db: Kysely<Tables>, environmentGuid?: string) {
  let query = db.selectFrom("environment_permissions").selectAll().orderBy("created_time");
  if (environmentGuid) query = query.where("environment_guid", "=", environmentGuid);
  return query.orderBy("guid").execute();
}

export async function insertEnvironmentPermission(
  db: Kysely<Tables>,
  environmentGuid: string,
  principal: Principal,
): Promise<EnvironmentPermissionRow> {
  const row = {
    guid: randomUUID(),
    environment_guid: environmentGuid,
    ...principal,
    created_time: new Date().toISOString(),
  };
  await db.insertInto("environment_permissions").values(row).execute();
  return row;
}

export async function deleteEnvironmentPermission(
  db: Kysely<Tables>,
  environmentGuid: string,
  guid: string,
): Promise<boolean> {
  const result = await db
    .deleteFrom("environment_permissions")
    .where("environment_guid", "=", environmentGuid)
    .where("guid", "=", guid)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** Deletes every permission of an environment (rsconnect's --clear-permissions). */
export async function clearEnvironmentPermissions(
  db: Kysely<Tables>,
  environmentGuid: string,
): Promise<number> {
  const result = await db
    .deleteFrom("environment_permissions")
    .where("environment_guid", "=", environmentGuid)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/**
 * The guids of restricted environments this user may not use: those with permissions, none
 * of which names the user or one of the user's groups.
 */
export async function environmentsNotPermitted(
  db: Kysely<Tables>,
  userGuid: string,
): Promise<Set<string>> {
  const restricted = await db
    .selectFrom("environment_permissions")
    .select("environment_guid")
    .distinct()
    .execute();
  if (restricted.length === 0) return new Set();
  const allowed = await db
    .selectFrom("environment_permissions")
    .select("environment_guid")
    .where(grantedTo(userGuid))
    .execute();
  const ok = new Set(allowed.map((r) => r.environment_guid));
  return new Set(restricted.map((r) => r.environment_guid).filter((g) => !ok.has(g)));
}
