import { randomUUID } from "node:crypto";
import type { Kysely, Selectable } from "kysely";
import type { GroupsTable, Tables } from "./schema.js";

export type GroupRow = Readonly<Selectable<GroupsTable>>;

export async function insertGroup(
  db: Kysely<Tables>,
  name: string,
  ownerGuid: string,
): Promise<GroupRow> {
  const row = {
    guid: randomUUID(),
    name,
    owner_guid: ownerGuid,
    created_time: new Date().toISOString(),
  };
  await db.insertInto("groups").values(row).execute();
  return row;
}

export function findGroup(db: Kysely<Tables>, guid: string) {
  return db.selectFrom("groups").selectAll().where("guid", "=", guid).executeTakeFirst();
}

export async function searchGroups(
  db: Kysely<Tables>,
  query: { prefix?: string; offset: number; limit: number },
): Promise<{ rows: GroupRow[]; total: number }> {
  let base = db.selectFrom("groups");
  if (query.prefix) {
    const prefix = query.prefix.toLowerCase();
    // Group names are short: comparing the leading characters avoids LIKE's wildcards.
    base = base.where((eb) =>
      eb(
        eb.fn("substr", [eb.fn("lower", ["name"]), eb.val(1), eb.val(prefix.length)]),
        "=",
        prefix,
      ),
    );
  }
  const { count } = await base
    .select((eb) => eb.fn.countAll<string | number>().as("count"))
    .executeTakeFirstOrThrow();
  const rows = await base
    .selectAll()
    .orderBy("name")
    .limit(query.limit)
    .offset(query.offset)
    .execute();
  return { rows, total: Number(count) };
}

/** Deletes the group with its memberships and every permission granted to it. */
export async function deleteGroup(db: Kysely<Tables>, guid: string): Promise<void> {
  await db
    .deleteFrom("content_permissions")
    .where("principal_type", "=", "group")
    .where("principal_guid", "=", guid)
    .execute();
  await db
    .deleteFrom("environment_permissions")
    .where("principal_type", "=", "group")
    .where("principal_guid", "=", guid)
    .execute();
  await db.deleteFrom("groups").where("guid", "=", guid).execute();
}

export async function groupMembers(db: Kysely<Tables>, groupGuid: string) {
  return db
    .selectFrom("group_members")
    .innerJoin("users", "users.guid", "group_members.user_guid")
    .selectAll("users")
    .where("group_members.group_guid", "=", groupGuid)
    .orderBy("users.username")
    .execute();
}

export async function insertMember(
  db: Kysely<Tables>,
  groupGuid: string,
  userGuid: string,
): Promise<void> {
  await db
    .insertInto("group_members")
    .values({ group_guid: groupGuid, user_guid: userGuid })
    .execute();
}

/** True when the user was a member. */
export async function deleteMember(
  db: Kysely<Tables>,
  groupGuid: string,
  userGuid: string,
): Promise<boolean> {
  const result = await db
    .deleteFrom("group_members")
    .where("group_guid", "=", groupGuid)
    .where("user_guid", "=", userGuid)
    .executeTakeFirst();
  return Number(result.numDeletedRows) > 0;
}

/** The guids of the groups a user belongs to. */
export async function groupsOf(db: Kysely<Tables>, userGuid: string): Promise<string[]> {
  const rows = await db
    .selectFrom("group_members")
    .select("group_guid")
    .where("user_guid", "=", userGuid)
    .execute();
  return rows.map((r) => r.group_guid);
}
