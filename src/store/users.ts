import { randomUUID } from "node:crypto";
import type { Kysely, Selectable } from "kysely";
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
