/**
 * Retired environments: rows moved out of the catalog whole, so content running in them keeps
 * its image settings, their image name is free for a new environment, and a restore moves
 * them back unchanged (same id, same guid).
 */
import type { Kysely, Selectable } from "kysely";
import type { Environment, RetiredEnvironment } from "../environments/model.js";
import { changeCatalog, toEnvironment } from "./environments.js";
import type { RetiredEnvironmentsTable, Tables } from "./schema.js";

function toRetired(row: Selectable<RetiredEnvironmentsTable>): RetiredEnvironment {
  const { retired_time, matching_before, ...fields } = row;
  return {
    ...toEnvironment(fields),
    retired_time,
    matching_before: matching_before as Environment["matching"],
  };
}

/** Moves an environment out of the catalog, with matching forced to none. */
export async function retireEnvironment(
  db: Kysely<Tables>,
  guid: string,
  now: string,
): Promise<void> {
  await changeCatalog(db, async (trx) => {
    const row = await trx
      .selectFrom("environments")
      .selectAll()
      .where("guid", "=", guid)
      .executeTakeFirst();
    if (!row) return;
    await trx
      .insertInto("retired_environments")
      .values({
        ...row,
        matching: "none",
        matching_before: row.matching,
        updated_time: now,
        retired_time: now,
      })
      .execute();
    await trx.deleteFrom("environments").where("guid", "=", guid).execute();
  });
}

/**
 * Moves a retired environment back into the catalog with its old matching; false when it was
 * not retired. A live environment that took its image name meanwhile makes this a unique
 * violation, and nothing moves.
 */
export async function restoreEnvironment(
  db: Kysely<Tables>,
  guid: string,
  now: string,
): Promise<boolean> {
  let restored = false;
  await changeCatalog(db, async (trx) => {
    const row = await trx
      .selectFrom("retired_environments")
      .selectAll()
      .where("guid", "=", guid)
      .executeTakeFirst();
    if (!row) return;
    restored = true;
    const { retired_time: _, matching_before, ...fields } = row;
    await trx
      .insertInto("environments")
      .values({ ...fields, matching: matching_before, updated_time: now })
      .execute();
    await trx.deleteFrom("retired_environments").where("guid", "=", guid).execute();
  });
  return restored;
}

export async function eraseRetiredEnvironment(db: Kysely<Tables>, guid: string): Promise<void> {
  await db.deleteFrom("retired_environments").where("guid", "=", guid).execute();
}

export async function findRetiredEnvironment(
  db: Kysely<Tables>,
  guid: string,
): Promise<RetiredEnvironment | undefined> {
  const row = await db
    .selectFrom("retired_environments")
    .selectAll()
    .where("guid", "=", guid)
    .executeTakeFirst();
  return row && toRetired(row);
}

/** The most recently retired environment with this image name. */
export async function findRetiredByName(
  db: Kysely<Tables>,
  name: string,
): Promise<RetiredEnvironment | undefined> {
  const row = await db
    .selectFrom("retired_environments")
    .selectAll()
    .where("name", "=", name)
    .orderBy("retired_time", "desc")
    .executeTakeFirst();
  return row && toRetired(row);
}

export async function listRetiredEnvironments(db: Kysely<Tables>): Promise<RetiredEnvironment[]> {
  const rows = await db.selectFrom("retired_environments").selectAll().orderBy("id").execute();
  return rows.map(toRetired);
}
