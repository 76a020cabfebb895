/**
 * Who may see and change a content item. Its owner and administrators may do anything;
 * permissions add collaborators (role owner, shown as editor) and viewers, directly or through
 * a group; the access type opens viewing to every signed-in user (logged_in) or to anyone at
 * all (all).
 */
import type { Kysely } from "kysely";
import type { ContentRow } from "../store/content.js";
import { grantedTo, permittedRole } from "../store/permissions.js";
import type { Tables } from "../store/schema.js";
import type { UserRow } from "../store/users.js";
import { roleAtLeast } from "./roles.js";

export const ACCESS_TYPES = ["all", "logged_in", "acl"] as const;
export type AccessType = (typeof ACCESS_TYPES)[number];

/** Connect's app_role: what the caller may do with the content. */
export type AppRole = "owner" | "editor" | "viewer" | "none";

type Guarded = Pick<ContentRow, "guid" | "owner_guid" | "access_type">;

/** The caller's role from ownership, administration, a permission and the access type. */
export function roleFrom(
  caller: UserRow | null,
  row: Guarded,
  permitted: "owner" | "viewer" | null,
): AppRole {
  if (caller && (row.owner_guid === caller.guid || roleAtLeast(caller.user_role, "administrator")))
    return "owner";
  if (permitted === "owner") return "editor";
  if (permitted === "viewer") return "viewer";
  if (row.access_type === "all" || (caller && row.access_type === "logged_in")) return "viewer";
  return "none";
}

export async function appRoleOf(
  db: Kysely<Tables>,
  caller: UserRow | null,
  row: Guarded,
  granted: typeof permittedRole = permittedRole,
): Promise<AppRole> {
  const without = roleFrom(caller, row, null);
  // Owners and administrators are owners whatever they were granted: no read needed.
  if (!caller || without === "owner") return without;
  return roleFrom(caller, row, await granted(db, row.guid, caller.guid));
}

/** The caller's role on each of many items, in one read of the permissions. */
export async function appRolesOf(
  db: Kysely<Tables>,
  caller: UserRow,
  rows: readonly Guarded[],
): Promise<Map<string, AppRole>> {
  const granted = new Map<string, "owner" | "viewer">();
  if (rows.length > 0) {
    const permissions = await db
      .selectFrom("content_permissions")
      .select(["content_guid", "role"])
      .where(grantedTo(caller.guid))
      .execute();
    for (const p of permissions) {
      if (granted.get(p.content_guid) !== "owner") {
        granted.set(p.content_guid, p.role === "owner" ? "owner" : "viewer");
      }
    }
  }
  return new Map(
    rows.map((row) => [row.guid, roleFrom(caller, row, granted.get(row.guid) ?? null)]),
  );
}

export const mayView = (role: AppRole) => role !== "none";
export const mayChange = (role: AppRole) => role === "owner" || role === "editor";
