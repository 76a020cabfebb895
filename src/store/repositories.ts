/** The git repository each git-backed content item deploys from. */
import type { Insertable, Kysely, Selectable, Updateable } from "kysely";
import type { ContentRepositoriesTable, Tables } from "./schema.js";

export type RepositoryRow = Readonly<Selectable<ContentRepositoriesTable>>;

export function findRepository(db: Kysely<Tables>, contentGuid: string) {
  return db
    .selectFrom("content_repositories")
    .selectAll()
    .where("content_guid", "=", contentGuid)
    .executeTakeFirst();
}

/** Creates or replaces the content's repository, forgetting what was deployed from the old one. */
export async function putRepository(
  db: Kysely<Tables>,
  row: Insertable<ContentRepositoriesTable>,
): Promise<void> {
  await db
    .insertInto("content_repositories")
    .values(row)
    .onConflict((oc) =>
      oc.column("content_guid").doUpdateSet({
        repository: row.repository,
        branch: row.branch,
        directory: row.directory,
        polling: row.polling,
        last_commit: null,
        last_checked_time: null,
        last_error: null,
        updated_time: row.updated_time,
      }),
    )
    .execute();
}

export async function updateRepository(
  db: Kysely<Tables>,
  contentGuid: string,
  fields: Updateable<ContentRepositoriesTable>,
): Promise<void> {
  await db
    .updateTable("content_repositories")
    .set(fields)
    .where("content_guid", "=", contentGuid)
    .execute();
}

/**
 * Records `commit` as deployed only if the last one is still `previous`: of several servers
 * polling the same branch, exactly one wins each new commit and deploys it.
 */
export async function claimCommit(
  db: Kysely<Tables>,
  contentGuid: string,
  previous: string | null,
  commit: string,
  now: string,
): Promise<boolean> {
  const result = await db
    .updateTable("content_repositories")
    .set({ last_commit: commit, last_checked_time: now, last_error: null })
    .where("content_guid", "=", contentGuid)
    .where((eb) =>
      previous === null ? eb("last_commit", "is", null) : eb("last_commit", "=", previous),
    )
    .executeTakeFirst();
  return Number(result.numUpdatedRows) === 1;
}

export async function deleteRepository(db: Kysely<Tables>, contentGuid: string): Promise<void> {
  await db.deleteFrom("content_repositories").where("content_guid", "=", contentGuid).execute();
}

export function pollingRepositories(db: Kysely<Tables>) {
  return db.selectFrom("content_repositories").selectAll().where("polling", "=", 1).execute();
}
