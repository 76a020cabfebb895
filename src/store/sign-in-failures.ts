import type { Kysely, Selectable } from "kysely";
import type { SignInFailuresTable, Tables } from "./schema.js";

export type SignInFailureRow = Readonly<Selectable<SignInFailuresTable>>;

export function findSignInFailures(db: Kysely<Tables>, key: string) {
  return db.selectFrom("sign_in_failures").selectAll().where("key", "=", key).executeTakeFirst();
}

/**
 * Records one more failure only if the row still holds what the caller read, so two servers
 * counting the same key at once cannot both pass: the loser reads again.
 */
export async function countSignInFailure(
  db: Kysely<Tables>,
  key: string,
  seen: SignInFailureRow | undefined,
  next: { failures: number; last_failure_time: string },
): Promise<boolean> {
  if (!seen) {
    const inserted = await db
      .insertInto("sign_in_failures")
      .values({ key, ...next })
      .onConflict((c) => c.column("key").doNothing())
      .executeTakeFirst();
    return Number(inserted.numInsertedOrUpdatedRows ?? 0) > 0;
  }
  const updated = await db
    .updateTable("sign_in_failures")
    .set(next)
    .where("key", "=", key)
    .where("failures", "=", seen.failures)
    .where("last_failure_time", "=", seen.last_failure_time)
    .executeTakeFirst();
  return Number(updated.numUpdatedRows) > 0;
}

/** Takes back one counted failure (a sign-in that turned out right). */
export async function uncountSignInFailure(db: Kysely<Tables>, key: string): Promise<void> {
  await db
    .updateTable("sign_in_failures")
    .set((eb) => ({ failures: eb("failures", "-", 1) }))
    .where("key", "=", key)
    .where("failures", ">", 0)
    .execute();
}

export async function forgetSignInFailures(db: Kysely<Tables>, key: string): Promise<void> {
  await db.deleteFrom("sign_in_failures").where("key", "=", key).execute();
}

/** Drops runs of failures too old to count any more. */
export async function purgeSignInFailures(db: Kysely<Tables>, before: string): Promise<void> {
  await db.deleteFrom("sign_in_failures").where("last_failure_time", "<", before).execute();
}
