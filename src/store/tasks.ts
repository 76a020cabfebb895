import { type Insertable, type Kysely, type Selectable, sql } from "kysely";
import { serverAlive } from "./leases.js";
import type { Tables, TasksTable } from "./schema.js";

export type TaskRow = Readonly<Selectable<TasksTable>>;

export async function insertTask(db: Kysely<Tables>, row: Insertable<TasksTable>): Promise<void> {
  await db.insertInto("tasks").values(row).execute();
}

export function findTask(db: Kysely<Tables>, id: string) {
  return db.selectFrom("tasks").selectAll().where("id", "=", id).executeTakeFirst();
}

export async function appendTaskOutput(
  db: Kysely<Tables>,
  taskId: string,
  seq: number,
  lines: string[],
): Promise<void> {
  if (lines.length === 0) return;
  await db
    .insertInto("task_output")
    .values(lines.map((line, i) => ({ task_id: taskId, seq: seq + i, line })))
    .execute();
}

export async function taskOutput(
  db: Kysely<Tables>,
  taskId: string,
  first: number,
): Promise<string[]> {
  const rows = await db
    .selectFrom("task_output")
    .select("line")
    .where("task_id", "=", taskId)
    .where("seq", ">=", first)
    .orderBy("seq")
    .execute();
  return rows.map((r) => r.line);
}

export async function finishTask(
  db: Kysely<Tables>,
  id: string,
  outcome: { code: number; error: string; result: unknown },
): Promise<void> {
  await db
    .updateTable("tasks")
    .set({
      finished_time: new Date().toISOString(),
      code: outcome.code,
      error: outcome.error,
      result: outcome.result === null ? null : JSON.stringify(outcome.result),
    })
    .where("id", "=", id)
    .execute();
}

/** Tasks the server with this id started and never finished. */
export function unfinishedTasks(db: Kysely<Tables>, serverId: string) {
  return db
    .selectFrom("tasks")
    .selectAll()
    .where("finished_time", "is", null)
    .where("server_id", "=", serverId)
    .execute();
}

/** Unfinished tasks of other servers whose liveness lease has run out: nobody runs them now. */
export function tasksOfGoneServers(db: Kysely<Tables>, serverId: string, now = Date.now()) {
  return db
    .selectFrom("tasks")
    .selectAll()
    .where("finished_time", "is", null)
    .where("server_id", "!=", serverId)
    .where((eb) => eb.not(serverAlive(sql.ref("tasks.server_id"), now)))
    .execute();
}

/**
 * Makes `to` the server of an unfinished task of `from`, a server that is gone, in the one
 * statement that checks it is still gone: of several servers that try at once, one does.
 * True for that one.
 */
export async function claimTask(
  db: Kysely<Tables>,
  id: string,
  from: string,
  to: string,
  now = Date.now(),
): Promise<boolean> {
  const result = await db
    .updateTable("tasks")
    .set({ server_id: to })
    .where("id", "=", id)
    .where("server_id", "=", from)
    .where("finished_time", "is", null)
    .where((eb) => eb.not(serverAlive(sql.ref("tasks.server_id"), now)))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function latestTask(
  db: Kysely<Tables>,
  contentGuid: string,
): Promise<string | undefined> {
  const row = await db
    .selectFrom("tasks")
    .select("id")
    .where("content_guid", "=", contentGuid)
    .orderBy("created_time", "desc")
    .executeTakeFirst();
  return row?.id;
}
