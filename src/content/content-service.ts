/**
 * Content items: who may see and change them, the publisher's environment choice, and how
 * they look through the Connect API.
 */
import { randomUUID } from "node:crypto";
import type { Updateable } from "kysely";
import type { Settings } from "../config/settings.js";
import { NOT_PERMITTED } from "../environments/selection.js";
import { ApiError } from "../errors.js";
import type { ResourceName } from "../runners/runner.js";
import {
  type ContentRow,
  deleteContent,
  findContent,
  insertContent,
  listContent,
  updateContent,
} from "../store/content.js";
import type { Store } from "../store/database.js";
import { findEnvironment, findEnvironmentByName } from "../store/environments.js";
import { environmentsNotPermitted } from "../store/permissions.js";
import type { ContentTable } from "../store/schema.js";
import { findUser, type UserRow } from "../store/users.js";
import {
  type AppRole,
  appRoleOf,
  appRolesOf,
  mayChange,
  mayView,
} from "../users/content-access.js";
import { roleAtLeast } from "../users/roles.js";
import {
  type Content,
  type ContentCreate,
  type ContentPatch,
  PROCESS_FIELDS,
  RESOURCE_FIELDS,
} from "./model.js";
import {
  type ContentSettings,
  checkContentSettings,
  DEFAULT_CONTENT_SETTINGS,
} from "./process-settings.js";

/** What a runner can enforce, for checking resource settings before they are stored. */
export interface RunnerCapabilities {
  readonly backend: string;
  readonly enforces: ReadonlySet<ResourceName>;
}

export class ContentService {
  constructor(
    private readonly store: Store,
    private readonly scheduler: Settings["Scheduler"],
    private readonly runner: RunnerCapabilities,
  ) {}

  async create(owner: UserRow, body: ContentCreate): Promise<ContentRow> {
    const guid = randomUUID();
    const defaults = await this.#defaults(body, owner);
    const settings = this.#settings(DEFAULT_CONTENT_SETTINGS, body);
    try {
      await insertContent(this.store.db, {
        guid,
        name: body.name,
        title: body.title ?? null,
        description: body.description ?? "",
        owner_guid: owner.guid,
        app_mode: null,
        content_category: "",
        created_time: new Date().toISOString(),
        last_deployed_time: null,
        bundle_id: null,
        image_name: null,
        environment_guid: null,
        cluster_name: null,
        r_version: null,
        py_version: null,
        quarto_version: null,
        needs_rebuild: 0,
        default_image_name: defaults.default_image_name ?? null,
        default_environment_guid: defaults.default_environment_guid ?? null,
        default_r_environment_management: bit(body.default_r_environment_management),
        default_py_environment_management: bit(body.default_py_environment_management),
        access_type: body.access_type ?? "acl",
        ...DEFAULT_CONTENT_SETTINGS,
        ...settings,
      });
    } catch (error) {
      if (this.store.dialect.isUniqueViolation(error)) {
        throw new ApiError("invalidParameter", `You already own content named "${body.name}".`, {
          status: 409,
          payload: { name: body.name },
        });
      }
      throw error;
    }
    return this.get(guid);
  }

  async get(guid: string): Promise<ContentRow> {
    const row = await findContent(this.store.db, guid);
    if (!row)
      throw new ApiError("notFound", `Content ${guid} does not exist.`, { payload: { guid } });
    return row;
  }

  /** The content, if the caller may change it: its owner, a collaborator or an administrator. */
  async getEditable(caller: UserRow, guid: string): Promise<ContentRow> {
    const row = await this.get(guid);
    if (!mayChange(await appRoleOf(this.store.db, caller, row))) {
      throw new ApiError(
        "permissionDenied",
        "Only the owner, a collaborator or an administrator may change this content.",
      );
    }
    return row;
  }

  /** The content and the caller's role on it, if the caller may see it. */
  async getViewable(
    caller: UserRow | null,
    guid: string,
  ): Promise<{ row: ContentRow; role: AppRole }> {
    const row = await this.get(guid);
    const role = await appRoleOf(this.store.db, caller, row);
    if (!mayView(role)) {
      throw new ApiError("permissionDenied", "You do not have permission to view this content.");
    }
    return { row, role };
  }

  /**
   * The content, if the caller may see how it is built and run (bundles, task logs): the
   * people who may change it. Viewers see only the content itself.
   */
  async getBehindTheScenes(caller: UserRow, guid: string): Promise<ContentRow> {
    const row = await this.get(guid);
    if (!mayChange(await appRoleOf(this.store.db, caller, row))) {
      throw new ApiError(
        "permissionDenied",
        "Only the content's owner, collaborators or an administrator may see its bundles and logs.",
      );
    }
    return row;
  }

  /** The content the caller may see, each with the caller's role on it. */
  async list(
    caller: UserRow,
    filter: { name?: string; ownerGuid?: string; tagId?: number },
  ): Promise<{ row: ContentRow; role: AppRole }[]> {
    const admin = roleAtLeast(caller.user_role, "administrator");
    const rows = await listContent(this.store.db, {
      ...filter,
      ...(admin ? {} : { visibleTo: caller.guid }),
    });
    const roles = await appRolesOf(this.store.db, caller, rows);
    return rows.map((row) => ({ row, role: roles.get(row.guid)! }));
  }

  async patch(caller: UserRow, guid: string, body: ContentPatch): Promise<ContentRow> {
    const row = await this.getEditable(caller, guid);
    const owner = (await findUser(this.store.db, body.owner_guid ?? row.owner_guid)) ?? caller;
    const fields: Updateable<ContentTable> = await this.#defaults(body, owner);
    if (
      (fields.default_environment_guid !== undefined &&
        fields.default_environment_guid !== row.default_environment_guid) ||
      (fields.default_image_name !== undefined &&
        fields.default_image_name !== row.default_image_name)
    ) {
      // The next deploy must select again and build in the newly chosen environment.
      fields.needs_rebuild = 1;
    }
    if (body.name !== undefined) fields.name = body.name;
    if (body.access_type !== undefined) fields.access_type = body.access_type;
    if (body.owner_guid !== undefined && body.owner_guid !== row.owner_guid) {
      fields.owner_guid = await this.#newOwner(caller, body.owner_guid);
    }
    if (body.title !== undefined) fields.title = body.title;
    if (body.description !== undefined) fields.description = body.description;
    if (body.default_r_environment_management !== undefined) {
      fields.default_r_environment_management = bit(body.default_r_environment_management);
    }
    if (body.default_py_environment_management !== undefined) {
      fields.default_py_environment_management = bit(body.default_py_environment_management);
    }
    Object.assign(fields, this.#settings(row, body));
    try {
      await updateContent(this.store.db, guid, fields);
    } catch (error) {
      if (this.store.dialect.isUniqueViolation(error)) {
        throw new ApiError("invalidParameter", `You already own content named "${body.name}".`, {
          status: 409,
        });
      }
      throw error;
    }
    return this.get(guid);
  }

  async remove(caller: UserRow, guid: string): Promise<ContentRow> {
    const row = await this.getEditable(caller, guid);
    await deleteContent(this.store.db, guid);
    return row;
  }

  /** Only administrators hand content to someone else, and only to a publisher. */
  async #newOwner(caller: UserRow, guid: string): Promise<string> {
    if (!roleAtLeast(caller.user_role, "administrator")) {
      throw new ApiError("permissionDenied", "Only administrators may change a content's owner.", {
        payload: { field: "owner_guid" },
      });
    }
    const owner = await findUser(this.store.db, guid);
    if (!owner) {
      throw new ApiError("invalidParameter", `User ${guid} does not exist.`, {
        status: 404,
        payload: { owner_guid: guid },
      });
    }
    if (!roleAtLeast(owner.user_role, "publisher")) {
      throw new ApiError(
        "invalidParameter",
        `${owner.username} is a viewer: only publishers and administrators may own content.`,
        { payload: { owner_guid: guid } },
      );
    }
    return guid;
  }

  /** The process and resource settings the body changes, checked against the rest. */
  #settings(current: Readonly<ContentSettings>, body: ContentPatch): Partial<ContentSettings> {
    const changed: Partial<ContentSettings> = {};
    for (const field of [...PROCESS_FIELDS, ...RESOURCE_FIELDS]) {
      const value = body[field];
      if (value !== undefined) changed[field] = value;
    }
    const merged = { ...current, ...changed };
    checkContentSettings(
      merged,
      Object.keys(changed),
      this.scheduler,
      this.runner.enforces,
      this.runner.backend,
    );
    return changed;
  }

  /** Checks the publisher's environment choice against the catalog. */
  async #defaults(
    body: ContentPatch,
    owner: UserRow,
  ): Promise<Pick<Updateable<ContentTable>, "default_environment_guid" | "default_image_name">> {
    const out: Pick<
      Updateable<ContentTable>,
      "default_environment_guid" | "default_image_name"
    > = {};
    if (body.default_environment_guid !== undefined) {
      if (body.default_environment_guid !== null) {
        const environment = await findEnvironment(this.store.db, body.default_environment_guid);
        if (!environment) {
          throw new ApiError(
            "versionMismatch",
            `No environment ${body.default_environment_guid} exists to use as the default.`,
            {
              status: 400,
              payload: { default_environment_guid: body.default_environment_guid },
            },
          );
        }
        if (environment.matching === "none") {
          throw new ApiError(
            "prohibitedEnvironment",
            `Environment ${environment.name} is disabled (matching none).`,
            { status: 400 },
          );
        }
        await this.#checkPermitted(owner, environment);
      }
      out.default_environment_guid = body.default_environment_guid;
    }
    if (body.default_image_name !== undefined) {
      const byImage =
        body.default_image_name === null
          ? undefined
          : await findEnvironmentByName(this.store.db, body.default_image_name);
      if (body.default_image_name !== null && !byImage) {
        throw new ApiError(
          "invalidDefaultImage",
          `No environment uses the image "${body.default_image_name}".`,
          {
            payload: { default_image_name: body.default_image_name },
          },
        );
      }
      if (byImage) await this.#checkPermitted(owner, byImage);
      out.default_image_name = body.default_image_name;
    }
    return out;
  }

  /** A restricted environment is the default only of content whose owner may use it. */
  async #checkPermitted(owner: UserRow, environment: { guid: string; name: string }) {
    if ((await environmentsNotPermitted(this.store.db, owner)).has(environment.guid)) {
      throw new ApiError(
        "prohibitedEnvironment",
        `Environment ${environment.name} is ${NOT_PERMITTED}: it is restricted to other users and groups.`,
        { status: 403, payload: { guid: environment.guid, owner_guid: owner.guid } },
      );
    }
  }
}

function bit(value: boolean | null | undefined): number | null {
  return value === undefined || value === null ? null : value ? 1 : 0;
}

/** The Connect view of a content row; viewers do not see which environment it uses. */
export function toContent(
  row: ContentRow,
  caller: UserRow,
  urls: { base: string; content(guid: string): string },
  appRole: AppRole = row.owner_guid === caller.guid ? "owner" : "viewer",
): Content {
  const showEnvironment = roleAtLeast(caller.user_role, "publisher");
  const env = <T>(value: T): T | null => (showEnvironment ? value : null);
  const flag = (value: number | null) => (value === null ? null : value === 1);
  return {
    id: String(row.id),
    guid: row.guid,
    name: row.name,
    title: row.title,
    description: row.description,
    access_type: row.access_type,
    owner_guid: row.owner_guid,
    // Connect's word for content that has no deployed bundle yet.
    app_mode: row.app_mode ?? "unknown",
    content_category: row.content_category,
    parameterized: false,
    created_time: row.created_time,
    last_deployed_time: row.last_deployed_time,
    bundle_id: row.bundle_id === null ? null : String(row.bundle_id),
    default_image_name: env(row.default_image_name),
    default_environment_guid: env(row.default_environment_guid),
    default_r_environment_management: flag(row.default_r_environment_management),
    default_py_environment_management: flag(row.default_py_environment_management),
    image_name: env(row.image_name),
    environment_guid: env(row.environment_guid),
    cluster_name: env(row.cluster_name),
    r_version: env(row.r_version),
    py_version: env(row.py_version),
    quarto_version: env(row.quarto_version),
    app_role: appRole,
    content_url: urls.content(row.guid),
    dashboard_url: `${urls.base}/connect/#/apps/${row.guid}`,
    ...Object.fromEntries([...PROCESS_FIELDS, ...RESOURCE_FIELDS].map((f) => [f, row[f]])),
  } as Content;
}
