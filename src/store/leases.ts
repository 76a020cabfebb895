/**
 * Leases: a name held by one holder (a server) until it expires, so server replicas sharing
 * one database never do the same work at once, and work a dead replica held is taken over
 * once its lease runs out. Taking and renewing are one statement each, atomic on both
 * databases (an upsert whose update applies only to the holder or to an expired lease).
 */
import { type Expression, type Kysely, type SqlBool, sql } from "kysely";
import type { Tables } from "./schema.js";

/** The prefix of each server's liveness lease: `server:<server id>`. */
export const SERVER_LEASE = "server:";

/**
 * Whether the server named by `serverId` (a column) holds its liveness lease at `now`, as a
 * condition inside a query: what a server that is gone left is read or taken over in the one
 * statement that checks it is gone.
 */
export function serverAlive(serverId: Expression<string>, now: number): Expression<SqlBool> {
  return sql<SqlBool>`exists (select 1 from leases where leases.name = ${SERVER_LEASE} || ${serverId} and leases.expires_ms >= ${now})`;
}

/** Takes or renews the lease for `ttlMs`; true when `holder` holds it now. */
export async function takeLease(
  db: Kysely<Tables>,
  name: string,
  holder: string,
  ttlMs: number,
  now = Date.now(),
): Promise<boolean> {
  const expires = now + ttlMs;
  const row = await db
    .insertInto("leases")
    .values({ name, holder, expires_ms: expires })
    .onConflict((oc) =>
      oc
        .column("name")
        .doUpdateSet({ holder, expires_ms: expires })
        .where((eb) =>
          eb.or([
            eb("leases.holder", "=", holder),
            eb("leases.expires_ms", "<", sql<number>`${now}`),
          ]),
        ),
    )
    .returning("holder")
    .executeTakeFirst();
  return row?.holder === holder;
}

/** Gives the lease up, if `holder` still holds it. */
export async function releaseLease(
  db: Kysely<Tables>,
  name: string,
  holder: string,
): Promise<void> {
  await db.deleteFrom("leases").where("name", "=", name).where("holder", "=", holder).execute();
}

/** Holders of unexpired leases whose names start with `prefix`, by name. */
export async function liveLeases(
  db: Kysely<Tables>,
  prefix: string,
  now = Date.now(),
): Promise<Map<string, string>> {
  const rows = await db
    .selectFrom("leases")
    .select(["name", "holder"])
    .where("name", "like", `${prefix}%`)
    .where("expires_ms", ">=", now)
    .execute();
  return new Map(rows.map((r) => [r.name, r.holder]));
}

/**
 * Runs `work` while holding the lease, renewing it every third of `ttlMs` so work that takes
 * longer (an image pull) keeps it, and gives it up after. Resolves with `{ held: false }`
 * without running anything when another holder has it.
 */
export async function withLease<T>(
  db: Kysely<Tables>,
  name: string,
  holder: string,
  ttlMs: number,
  work: () => Promise<T>,
): Promise<{ held: true; value: T } | { held: false }> {
  if (!(await takeLease(db, name, holder, ttlMs))) return { held: false };
  const renew = setInterval(() => {
    takeLease(db, name, holder, ttlMs).catch(() => undefined);
  }, ttlMs / 3);
  try {
    return { held: true, value: await work() };
  } finally {
    clearInterval(renew);
    await releaseLease(db, name, holder).catch(() => undefined);
  }
}
