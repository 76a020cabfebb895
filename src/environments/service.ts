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
  clusterNameProblem,
  DEFAULT_CLUSTER_NAME,
  type Environment,
  type EnvironmentCreate,
  type EnvironmentFields,
  type EnvironmentUpdate,
  fieldsWithDefaults,
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

  async get(guid: string): Promise<Environment> {
    const environment = await findEnvironment(this.store.db, guid);
    if (!environment) {
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
      if (value !== undefined && key in EDITABLE) (fields as Record<string, unknown>)[key] = value;
    }
    await updateEnvironment(this.store.db, guid, fields, now());
    return this.get(guid);
  }

  /**
   * Deletes an environment. One that content still uses is refused unless forced, because
   * its next redeploy would fail; `matching: none` retires it without breaking anything.
   */
  async remove(guid: string, options: { force?: boolean } = {}): Promise<void> {
    const environment = await this.get(guid);
    refuseManaged(environment, "deleted");
    if (!options.force) {
      const users = await contentUsingEnvironment(this.store.db, guid, environment.name);
      if (users.length > 0) {
        throw new ApiError(
          "badRequest",
          `Environment "${environment.name}" is used by ${users.length} content item(s) (${users
            .slice(0, 5)
            .map((c) => c.name)
            .join(", ")}); set its matching to "none" to retire it, or delete with force=true.`,
          { status: 409, payload: { content: users } },
        );
      }
    }
    await deleteEnvironment(this.store.db, guid);
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
