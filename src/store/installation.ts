import { randomBytes } from "node:crypto";
import type { Kysely } from "kysely";
import type { Tables } from "./schema.js";

/**
 * The id of this installation of Slipway, made on first use: every server sharing the store
 * labels its work on the backends with it, and removes only work that carries it.
 */
export async function installationInstance(db: Kysely<Tables>): Promise<string> {
  const found = await db.selectFrom("installation").select("instance").executeTakeFirst();
  if (found) return found.instance;
  await db
    .insertInto("installation")
    .values({ id: 1, instance: randomBytes(6).toString("hex") })
    .onConflict((c) => c.column("id").doNothing())
    .execute();
  return (await db.selectFrom("installation").select("instance").executeTakeFirstOrThrow())
    .instance;
}
