/**
 * The catalog: create, read, update and delete environments with the rules the API promises
 * (unique image names, defaults, file-managed entries read-only). Routes and the CLI call this.
 */
import { randomUUID } from "node:crypto";
import { ApiError } from "../errors.js";
import { contentUsingEnvironment } from "../store/content.js";
import type { Store } from "../store/database.js";
import {
  catalogRevision,
  deleteEnvironment,
  findEnvironment,
  insertEnvironment,
  listEnvironments,
  updateEnvironment,
} from "../store/environments.js";
import {
  eraseRetiredEnvironment,
  findRetiredEnvironment,
  listRetiredEnvironments,
  restoreEnvironment,
  retireEnvironment,
} from "../store/retired-environments.js";
import {
  clusterNameProblem,
  DEFAULT_CLUSTER_NAME,
  type Environment,
  type EnvironmentCreate,
  type EnvironmentFields,
  type EnvironmentUpdate,
  fieldsWithDefaults,
  type RetiredEnvironment,
} from "./model.js";

export class EnvironmentService {
  #listJson: { revision: number; json: Buffer } | undefined;

  constructor(private readonly store: Store) {}

  list(): Promise<Environment[]> {
    return listEnvironments(this.store.db);
  }

  /**
   * The whole catalog as UTF-8 JSON, rebuilt only when the catalog revision has moved. Clients
   * and dashboards poll this list far more often than anyone changes it.
   */
  async listJson(): Promise<Buffer> {
    // The revision is read before the rows: a change landing in between makes the copy newer
    // than its revision, never older, so the next call rebuilds it rather than serving it stale.
    const revision = await catalogRevision(this.store.db);
    if (this.#listJson?.revision !== revision) {
      this.#listJson = { revision, json: Buffer.from(JSON.stringify(await this.list())) };
    }
    return this.#listJson.json;
  }

  /** The environment; one in `hidden` (the caller may not use it) answers as if it were not. */
  async get(guid: string, hidden?: ReadonlySet<string>): Promise<Environment> {
    const environment = await findEnvironment(this.store.db, guid);
    if (!environment || hidden?.has(guid)) {
      throw new ApiError("notFound", `Environment ${guid} does not exist.`, { payload: { guid } });
    }
    return environment;
  }

  async create(body: EnvironmentCreate): Promise<Environment> {
    const clusterName = body.cluster_name ?? DEFAULT_CLUSTER_NAME;
    const problem = clusterNameProblem(clusterName);
    if (problem) throw new ApiError("invalidClusterName", `${problem}, not "${clusterName}".`);
    const guid = randomUUID();
    try {
      await insertEnvironment(this.store.db, guid, fieldsWithDefaults(body, null), now());
    } catch (error) {
      if (this.store.dialect.isUniqueViolation(error)) {
        throw new ApiError(
          "duplicateEnvironmentName",
          `An environment for the image "${body.name}" already exists: name must be unique.`,
          { payload: { name: body.name } },
        );
      }
      throw error;
    }
    return this.get(guid);
  }

  async update(guid: string, body: EnvironmentUpdate): Promise<Environment> {
    const existing = await this.get(guid);
    refuseManaged(existing, "changed");
    if (body.name !== undefined && body.name !== existing.name) {
      throw new ApiError(
        "invalidEnvironmentName",
        "name cannot be changed: create a new environment for another image.",
      );
    }
    if (body.cluster_name !== undefined && body.cluster_name !== existing.cluster_name) {
      throw new ApiError("invalidClusterName", "cluster_name cannot be changed.");
    }
    const fields: Partial<EnvironmentFields> = {};
    for (const [key, value] of Object.entries(body)) {
      if (value !== undefined && Object.hasOwn(EDITABLE, key)) {
        (fields as Record<string, unknown>)[key] = value;
      }
    }
    await updateEnvironment(this.store.db, guid, fields, now());
    return this.get(guid);
  }

  /**
   * Deletes an environment, or retires it when content still uses it: it leaves the catalog
   * (lists, lookups, selection) but keeps every field, so running content keeps its image and
   * the next deploy selects again. `force` erases it whatever uses it, retired or not.
   */
  async remove(guid: string, options: { force?: boolean } = {}): Promise<"deleted" | "retired"> {
    const retired = await findRetiredEnvironment(this.store.db, guid);
    if (retired && options.force) {
      await eraseRetiredEnvironment(this.store.db, guid);
      return "deleted";
    }
    const environment = await this.get(guid);
    refuseManaged(environment, "deleted");
    return this.store.db.transaction().execute(async (trx) => {
      if (!options.force) {
        const users = await contentUsingEnvironment(trx, guid, environment.name);
        if (users.length > 0) {
          await retireEnvironment(trx, guid, now());
          return "retired";
        }
      }
      await deleteEnvironment(trx, guid);
      return "deleted";
    });
  }

  async eraseRetired(guid: string): Promise<void> {
    if (!(await findRetiredEnvironment(this.store.db, guid))) {
      throw new ApiError("notFound", `No retired environment ${guid} exists.`, {
        payload: { guid },
      });
    }
    await eraseRetiredEnvironment(this.store.db, guid);
  }

  listRetired(): Promise<RetiredEnvironment[]> {
    return listRetiredEnvironments(this.store.db);
  }

  /** Puts a retired environment back in the catalog, refused while its image name is taken. */
  async restore(guid: string): Promise<Environment> {
    const retired = await findRetiredEnvironment(this.store.db, guid);
    const missing = new ApiError("notFound", `No retired environment ${guid} exists.`, {
      payload: { guid },
    });
    if (!retired) throw missing;
    try {
      if (!(await restoreEnvironment(this.store.db, guid, now()))) throw missing;
    } catch (error) {
      if (this.store.dialect.isUniqueViolation(error)) {
        throw new ApiError(
          "duplicateEnvironmentName",
          `Environment ${guid} cannot be restored: another environment now uses the image "${retired.name}".`,
          { payload: { guid, name: retired.name } },
        );
      }
      throw error;
    }
    return this.get(guid);
  }
}

const EDITABLE = {
  title: true,
  description: true,
  matching: true,
  supervisor: true,
  python: true,
  quarto: true,
  r: true,
  tensorflow: true,
  nodejs: true,
  volume_mounts: true,
  image_pull_policy: true,
  node_selector: true,
  tolerations: true,
  service_account: true,
  image_pull_secrets: true,
} as const;

function refuseManaged(environment: Environment, verb: string): void {
  if (environment.managed_by) {
    throw new ApiError(
      "managedByFile",
      `Environment "${environment.name}" is managed by ${environment.managed_by} and cannot be ${verb} through the API; edit that file instead.`,
      { payload: { guid: environment.guid, managed_by: environment.managed_by } },
    );
  }
}

function now(): string {
  return new Date().toISOString();
}
