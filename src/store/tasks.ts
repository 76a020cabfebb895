import type { Insertable, Kysely, Selectable } from "kysely";
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
