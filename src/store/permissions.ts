/** Who may see or change content, and who may use a restricted environment. */
import { randomUUID } from "node:crypto";
import { type Kysely, type Selectable, type SqlBool, sql } from "kysely";
import { notPermittedFor } from "../environments/selection-permits.js";
import type { ContentPermissionsTable, EnvironmentPermissionsTable, Tables } from "./schema.js";
import type { UserRow } from "./users.js";

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

/** The guids of the environments this user may not use (selection-permits.ts has the rule). */
export async function environmentsNotPermitted(
  db: Kysely<Tables>,
  user: Pick<UserRow, "guid" | "user_role">,
): Promise<Set<string>> {
  const permits = await db
    .selectFrom("environment_permissions")
    .select(["environment_guid", "principal_type", "principal_guid"])
    .execute();
  if (permits.length === 0) return new Set();
  const groups = await db
    .selectFrom("group_members")
    .select("group_guid")
    .where("user_guid", "=", user.guid)
    .execute();
  return notPermittedFor(
    {
      guid: user.guid,
      groups: groups.map((g) => g.group_guid),
      administrator: user.user_role === "administrator",
    },
    permits,
  );
}
