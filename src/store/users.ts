import { randomUUID } from "node:crypto";
import { type Kysely, type Selectable, sql } from "kysely";
import type { Tables, UsersTable } from "./schema.js";

export type UserRow = Readonly<Selectable<UsersTable>>;

export interface NewUser {
  username: string;
  role: string;
  email?: string;
  firstName?: string;
  lastName?: string;
  passwordHash?: string | null;
}

export async function insertUser(db: Kysely<Tables>, user: NewUser): Promise<UserRow> {
  const now = new Date().toISOString();
  const row = {
    guid: randomUUID(),
    username: user.username,
    email: user.email ?? "",
    first_name: user.firstName ?? "",
    last_name: user.lastName ?? "",
    user_role: user.role,
    password_hash: user.passwordHash ?? null,
    locked: 0,
    created_time: now,
    updated_time: now,
    active_time: null,
  };
  await db.insertInto("users").values(row).execute();
  return row;
}

export function findUserByName(db: Kysely<Tables>, username: string) {
  return db.selectFrom("users").selectAll().where("username", "=", username).executeTakeFirst();
}

export function findUser(db: Kysely<Tables>, guid: string) {
  return db.selectFrom("users").selectAll().where("guid", "=", guid).executeTakeFirst();
}

export async function countUsers(db: Kysely<Tables>): Promise<number> {
  const { count } = await db
    .selectFrom("users")
    .select((eb) => eb.fn.countAll<string | number>().as("count"))
    .executeTakeFirstOrThrow();
  return Number(count);
}

export function listUsers(db: Kysely<Tables>) {
  return db.selectFrom("users").selectAll().orderBy("username").execute();
}

export async function setUserRole(db: Kysely<Tables>, guid: string, role: string): Promise<void> {
  await db
    .updateTable("users")
    .set({ user_role: role, updated_time: new Date().toISOString() })
    .where("guid", "=", guid)
    .execute();
}

export interface UserQuery {
  /** Matches the start of the user name, first name, last name or email, ignoring case. */
  prefix?: string;
  roles?: readonly string[];
  /** locked, licensed (not locked) or inactive (never active). */
  statuses?: readonly string[];
  offset: number;
  limit: number;
}

/** One page of users and how many match in all. */
export async function searchUsers(
  db: Kysely<Tables>,
  query: UserQuery,
): Promise<{ rows: UserRow[]; total: number }> {
  let base = db.selectFrom("users");
  if (query.prefix) {
    const like = `${query.prefix.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    base = base.where((eb) =>
      eb.or(
        (["username", "first_name", "last_name", "email"] as const).map((column) =>
          eb(eb.fn("lower", [column]), "like", sql<string>`${like} escape '\\'`),
        ),
      ),
    );
  }
  if (query.roles?.length) base = base.where("user_role", "in", query.roles);
  if (query.statuses?.length) {
    const statuses = query.statuses;
    base = base.where((eb) =>
      eb.or([
        ...(statuses.includes("locked") ? [eb("locked", "=", 1)] : []),
        ...(statuses.includes("licensed") ? [eb("locked", "=", 0)] : []),
        ...(statuses.includes("inactive") ? [eb("active_time", "is", null)] : []),
      ]),
    );
  }
  const { count } = await base
    .select((eb) => eb.fn.countAll<string | number>().as("count"))
    .executeTakeFirstOrThrow();
  const rows = await base
    .selectAll()
    .orderBy("username")
    .limit(query.limit)
    .offset(query.offset)
    .execute();
  return { rows, total: Number(count) };
}

export type UserChanges = Partial<
  Pick<UsersTable, "username" | "email" | "first_name" | "last_name" | "user_role" | "locked">
>;

export async function updateUser(
  db: Kysely<Tables>,
  guid: string,
  changes: UserChanges,
): Promise<void> {
  if (Object.keys(changes).length === 0) return;
  await db
    .updateTable("users")
    .set({ ...changes, updated_time: new Date().toISOString() })
    .where("guid", "=", guid)
    .execute();
}
