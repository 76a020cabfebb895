/**
 * The runs table: every build, render and application process Slipway started, with the
 * backend's handle, so a restarted server finds its work again. Spec (what was started) is
 * written once at insert; status is written only by `updateRunStatus`, which cannot touch it.
 */
import type { Insertable, Kysely, Selectable } from "kysely";
import type { RunsTable, Tables } from "./schema.js";

export type RunRow = Readonly<Selectable<RunsTable>>;

export type RunSpec = Omit<
  Insertable<RunsTable>,
  "id" | "status" | "handle" | "endpoint" | "exit_code" | "reason" | "ready_time" | "ended_time"
>;

export type RunStatus = Partial<
  Pick<
    RunsTable,
    "status" | "handle" | "endpoint" | "exit_code" | "reason" | "ready_time" | "ended_time"
  >
>;

export const ACTIVE_STATUSES = ["starting", "ready", "stopping"] as const;

export async function insertRun(db: Kysely<Tables>, spec: RunSpec): Promise<RunRow> {
  const { id } = await db
    .insertInto("runs")
    .values({ ...spec, status: "starting" })
    .returning("id")
    .executeTakeFirstOrThrow();
  return (await findRun(db, Number(id)))!;
}

export function findRun(db: Kysely<Tables>, id: number) {
  return db.selectFrom("runs").selectAll().where("id", "=", id).executeTakeFirst();
}

export function findRunByKey(db: Kysely<Tables>, key: string) {
  return db.selectFrom("runs").selectAll().where("key", "=", key).executeTakeFirst();
}

export async function updateRunStatus(
  db: Kysely<Tables>,
  id: number,
  status: RunStatus,
): Promise<void> {
  if (Object.keys(status).length === 0) return;
  await db.updateTable("runs").set(status).where("id", "=", id).execute();
}

/** Hands a run to another server: the one that adopted it after a restart. */
export async function updateRunOwner(
  db: Kysely<Tables>,
  id: number,
  serverId: string,
): Promise<void> {
  await db.updateTable("runs").set({ server_id: serverId }).where("id", "=", id).execute();
}

/** Runs not yet ended: of one content item, or all of them. */
export function activeRuns(db: Kysely<Tables>, contentGuid?: string) {
  let query = db
    .selectFrom("runs")
    .selectAll()
    .where("status", "in", [...ACTIVE_STATUSES])
    .orderBy("id");
  if (contentGuid !== undefined) query = query.where("content_guid", "=", contentGuid);
  return query.execute();
}

/** The jobs of a task not yet ended. */
export function activeTaskRuns(db: Kysely<Tables>, taskId: string) {
  return db
    .selectFrom("runs")
    .selectAll()
    .where("task_id", "=", taskId)
    .where("status", "in", [...ACTIVE_STATUSES])
    .orderBy("id")
    .execute();
}

/** Every run of a content item, newest first. */
export function contentRuns(db: Kysely<Tables>, contentGuid: string) {
  return db
    .selectFrom("runs")
    .selectAll()
    .where("content_guid", "=", contentGuid)
    .orderBy("id", "desc")
    .execute();
}

export async function deleteContentRuns(db: Kysely<Tables>, contentGuid: string): Promise<void> {
  await db.deleteFrom("runs").where("content_guid", "=", contentGuid).execute();
}

/**
 * Application processes a server runs and has not seen end, per content item and the image
 * of the bundle they run (null for none), for the metrics.
 */
export function runningProcessCounts(db: Kysely<Tables>, serverId: string) {
  return db
    .selectFrom("runs")
    .innerJoin("bundles", "bundles.id", "runs.bundle_id")
    .select(["runs.content_guid", "bundles.image_name", db.fn.countAll<number>().as("count")])
    .where("runs.kind", "=", "run")
    .where("runs.server_id", "=", serverId)
    .where("runs.status", "in", [...ACTIVE_STATUSES])
    .groupBy(["runs.content_guid", "bundles.image_name"])
    .execute();
}
