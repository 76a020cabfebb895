/** Environment rows and their translation to and from the API's Environment object. */
import type { Insertable, Kysely, Selectable } from "kysely";
import {
  DEFAULT_CLUSTER_NAME,
  type Environment,
  type EnvironmentFields,
  INSTALLATION_FIELDS,
  type Installations,
  type Matching,
  type PullPolicy,
} from "../environments/model.js";
import type { EnvironmentsTable, Tables } from "./schema.js";

type Row = Selectable<EnvironmentsTable>;

export function toEnvironment(row: Row): Environment {
  const installations = (text: string | null): Installations => {
    const value = text ? (JSON.parse(text) as Installations) : null;
    return value && value.installations.length > 0 ? value : null;
  };
  return {
    id: String(row.id),
    guid: row.guid,
    created_time: row.created_time,
    updated_time: row.updated_time,
    title: row.title,
    description: row.description,
    cluster_name: row.cluster_name,
    name: row.name,
    environment_type: DEFAULT_CLUSTER_NAME,
    matching: row.matching as Matching,
    supervisor: row.supervisor,
    managed_by: row.managed_by,
    python: installations(row.python),
    quarto: installations(row.quarto),
    r: installations(row.r),
    tensorflow: installations(row.tensorflow),
    nodejs: installations(row.nodejs),
    volume_mounts: JSON.parse(row.volume_mounts),
    image_pull_policy: row.image_pull_policy as PullPolicy | null,
    node_selector: json(row.node_selector),
    tolerations: json(row.tolerations),
    service_account: row.service_account,
    image_pull_secrets: json(row.image_pull_secrets),
  };
}

function json<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

/** The columns a change may set, apart from those the store assigns (ids and times). */
const FIELD_COLUMNS = [
  "name",
  "cluster_name",
  "title",
  "description",
  "matching",
  "supervisor",
  "managed_by",
  ...INSTALLATION_FIELDS,
  "volume_mounts",
  "image_pull_policy",
  "node_selector",
  "tolerations",
  "service_account",
  "image_pull_secrets",
] as const satisfies readonly (keyof EnvironmentFields & keyof EnvironmentsTable)[];

const JSON_COLUMNS = new Set<string>(["node_selector", "tolerations", "image_pull_secrets"]);

/**
 * Only known columns, and only from the fields' own properties: a request body's
 * `constructor` or `toString` is never a column name.
 */
function toColumns(fields: Partial<EnvironmentFields>): Partial<Insertable<EnvironmentsTable>> {
  const columns: Record<string, unknown> = {};
  for (const key of FIELD_COLUMNS) {
    if (!Object.hasOwn(fields, key)) continue;
    const value = fields[key];
    if (value === undefined) continue;
    if ((INSTALLATION_FIELDS as readonly string[]).includes(key)) {
      const list = value as Installations;
      columns[key] = list && list.installations.length > 0 ? JSON.stringify(list) : null;
    } else if (key === "volume_mounts") {
      columns.volume_mounts = JSON.stringify(value ?? []);
    } else if (JSON_COLUMNS.has(key)) {
      columns[key] = value === null ? null : JSON.stringify(value);
    } else {
      columns[key] = value;
    }
  }
  return columns as Partial<Insertable<EnvironmentsTable>>;
}

/**
 * Runs a catalog change and advances the catalog revision in the same transaction, so no
 * change can be seen without its revision or the other way round.
 */
export function changeCatalog(
  db: Kysely<Tables>,
  change: (trx: Kysely<Tables>) => Promise<unknown>,
) {
  const run = async (trx: Kysely<Tables>) => {
    await change(trx);
    await trx
      .updateTable("catalog_revision")
      .set((eb) => ({ revision: eb("revision", "+", 1) }))
      .where("id", "=", 1)
      .execute();
  };
  return db.isTransaction ? run(db) : db.transaction().execute(run);
}

export async function catalogRevision(db: Kysely<Tables>): Promise<number> {
  const row = await db
    .selectFrom("catalog_revision")
    .select("revision")
    .where("id", "=", 1)
    .executeTakeFirstOrThrow();
  return Number(row.revision);
}

export async function insertEnvironment(
  db: Kysely<Tables>,
  guid: string,
  fields: EnvironmentFields,
  now: string,
): Promise<void> {
  await changeCatalog(db, (trx) =>
    trx
      .insertInto("environments")
      .values({
        ...(toColumns(fields) as Insertable<EnvironmentsTable>),
        guid,
        volume_mounts: JSON.stringify(fields.volume_mounts ?? []),
        created_time: now,
        updated_time: now,
      })
      .execute(),
  );
}

export async function updateEnvironment(
  db: Kysely<Tables>,
  guid: string,
  fields: Partial<EnvironmentFields>,
  now: string,
): Promise<void> {
  await changeCatalog(db, (trx) =>
    trx
      .updateTable("environments")
      .set({ ...toColumns(fields), updated_time: now })
      .where("guid", "=", guid)
      .execute(),
  );
}

export async function deleteEnvironment(db: Kysely<Tables>, guid: string): Promise<void> {
  await changeCatalog(db, (trx) =>
    trx.deleteFrom("environments").where("guid", "=", guid).execute(),
  );
}

export async function findEnvironment(
  db: Kysely<Tables>,
  guid: string,
): Promise<Environment | undefined> {
  const row = await db
    .selectFrom("environments")
    .selectAll()
    .where("guid", "=", guid)
    .executeTakeFirst();
  return row && toEnvironment(row);
}

export async function findEnvironmentByName(
  db: Kysely<Tables>,
  name: string,
): Promise<Environment | undefined> {
  const row = await db
    .selectFrom("environments")
    .selectAll()
    .where("name", "=", name)
    .executeTakeFirst();
  return row && toEnvironment(row);
}

export async function listEnvironments(db: Kysely<Tables>): Promise<Environment[]> {
  const rows = await db.selectFrom("environments").selectAll().orderBy("id").execute();
  return rows.map(toEnvironment);
}
