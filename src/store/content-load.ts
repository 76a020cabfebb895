/**
 * Each replica's share of the load on each content item (see migration 0011): written by the
 * replica that proxies it, read by whichever replica reconciles the content. Rows of a server
 * whose liveness lease has run out are not load any more: it is gone, and so are its requests.
 */
import { type Kysely, sql } from "kysely";
import type { ContentLoad, RunLoad } from "../content/load-tracker.js";
import { serverAlive } from "./leases.js";
import type { Tables } from "./schema.js";

type PublishedRun = [runId: number, connections: number, idleSince: number | null];

/** Records the server's load on the key, replacing what it recorded before. */
export async function publishLoad(
  db: Kysely<Tables>,
  key: string,
  serverId: string,
  load: ContentLoad,
  now = Date.now(),
): Promise<void> {
  const runs: PublishedRun[] = [...load.runs].map(([id, run]) => [
    id,
    run.connections,
    run.idleSince,
  ]);
  const row = {
    connections: load.connections,
    waiting: load.waiting,
    last_active_ms: load.lastActive,
    runs: JSON.stringify(runs),
    updated_ms: now,
  };
  await db
    .insertInto("content_load")
    .values({ content_key: key, server_id: serverId, ...row })
    .onConflict((oc) => oc.columns(["content_key", "server_id"]).doUpdateSet(row))
    .execute();
}

/** The load other live servers record on the key. */
export async function peerLoads(
  db: Kysely<Tables>,
  key: string,
  serverId: string,
  now = Date.now(),
): Promise<ContentLoad[]> {
  const rows = await db
    .selectFrom("content_load")
    .select(["connections", "waiting", "last_active_ms", "runs"])
    .where("content_key", "=", key)
    .where("server_id", "!=", serverId)
    .where(serverAlive(sql.ref("content_load.server_id"), now))
    .execute();
  return rows.map((row) => ({
    connections: row.connections,
    waiting: row.waiting,
    // PostgreSQL hands bigints back as strings.
    lastActive: row.last_active_ms === null ? null : Number(row.last_active_ms),
    runs: new Map(
      (JSON.parse(row.runs) as PublishedRun[]).map(
        ([id, connections, idleSince]): [number, RunLoad] => [id, { connections, idleSince }],
      ),
    ),
  }));
}

/** Forgets the load on a content item that is gone, and on its drafts' previews. */
export async function deleteContentLoad(db: Kysely<Tables>, guid: string): Promise<void> {
  await db
    .deleteFrom("content_load")
    .where((eb) => eb.or([eb("content_key", "=", guid), eb("content_key", "like", `${guid}/%`)]))
    .execute();
}

/** Forgets what a server recorded, as it goes. */
export async function deleteServerLoad(db: Kysely<Tables>, serverId: string): Promise<void> {
  await db.deleteFrom("content_load").where("server_id", "=", serverId).execute();
}

/** Forgets what servers that are gone recorded; returns how many rows went. */
export async function deleteGoneServersLoad(db: Kysely<Tables>, now = Date.now()): Promise<number> {
  const result = await db
    .deleteFrom("content_load")
    .where((eb) => eb.not(serverAlive(sql.ref("content_load.server_id"), now)))
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
