/**
 * Environments that come from files: the bootstrap file read once into an empty catalog, and
 * the declarative file applied at every start and whenever it changes, like a controller's
 * sync loop: read desired state, read observed state, plan, apply only the difference.
 */
import { createHash, randomUUID } from "node:crypto";
import { type FSWatcher, watch } from "node:fs";
import { lstat, readFile, readlink } from "node:fs/promises";
import path from "node:path";
import type { FastifyBaseLogger } from "fastify";
import type { Kysely } from "kysely";
import { ApiError } from "../errors.js";
import { environmentReferences } from "../store/content.js";
import type { Store } from "../store/database.js";
import {
  deleteEnvironment,
  insertEnvironment,
  listEnvironments,
  updateEnvironment,
} from "../store/environments.js";
import type { Tables } from "../store/schema.js";
import { recordChange } from "../users/audit.js";
import { formatProblems, parseEnvironmentFile } from "./environment-file.js";
import { type Environment, type EnvironmentCreate, fieldsWithDefaults } from "./model.js";
import {
  describeAction,
  planReconcile,
  type ReconcileAction,
  summarizePlan,
} from "./reconcile-plan.js";

export interface DeclarativeStatus {
  file: string;
  ok: boolean;
  /** file:line:column problems of the last read, empty when it was valid. */
  problems: string[];
  last_checked: string | null;
  last_applied: string | null;
  /** What the last apply changed, one line per action that wrote something. */
  last_changes: string[];
}

/** Creates every environment of the bootstrap files when, and only when, the catalog is empty. */
export async function bootstrapEnvironments(
  store: Store,
  files: string[],
  logger: FastifyBaseLogger,
): Promise<number> {
  if (files.length === 0) return 0;
  const desired: EnvironmentCreate[] = [];
  const problems: string[] = [];
  for (const file of files) {
    const parsed = parseEnvironmentFile(await readText(file), file, "bootstrap");
    if (parsed.ok) desired.push(...parsed.environments);
    else problems.push(...formatProblems(parsed.problems));
  }
  if (problems.length > 0) {
    throw new ApiError("badRequest", `Invalid bootstrap file:\n  ${problems.join("\n  ")}`);
  }
  return store.dialect
    .withLock(store.db as Kysely<unknown>, "slipway-bootstrap", async (trx) => {
      const db = trx as Kysely<Tables>;
      if ((await listEnvironments(db)).length > 0) {
        logger.info({ files }, "Environments exist already: the bootstrap file is ignored");
        return [];
      }
      const now = new Date().toISOString();
      const created = desired.map((environment) => ({
        kind: "create" as const,
        name: environment.name,
        environment: fieldsWithDefaults(environment, null),
      }));
      for (const action of created) {
        await insertEnvironment(db, randomUUID(), action.environment, now);
      }
      logger.info({ files, created: created.length }, "Created the bootstrap environments");
      return created;
    })
    .then(async (created) => {
      await auditFileChanges(logger, store, created, files.join(", "));
      return created.length;
    });
}

/** What a file applied, in the audit log beside the changes made through the API. */
async function auditFileChanges(
  logger: FastifyBaseLogger,
  store: Store,
  actions: readonly ReconcileAction[],
  file: string,
): Promise<void> {
  for (const action of actions) {
    const line = describeAction(action);
    if (!line) continue;
    await recordChange(logger, store.db, {
      actor: null,
      actorName: "environments file",
      action: `${action.kind} environment`,
      description: `${line}, from ${file}`,
    });
  }
}

/** Plans the file against the catalog without changing anything. */
export async function planFile(store: Store, text: string, source: string) {
  const parsed = parseEnvironmentFile(text, source, "declarative");
  if (!parsed.ok) {
    throw new ApiError(
      "badRequest",
      `Invalid environments file:\n  ${formatProblems(parsed.problems).join("\n  ")}`,
      {
        payload: { problems: formatProblems(parsed.problems) },
      },
    );
  }
  const actual = await listEnvironments(store.db);
  const plan = planReconcile(parsed.environments, actual, {
    source,
    inUse: await inUse(store.db, actual),
  });
  return { plan, summary: summarizePlan(plan) };
}

/** Keeps the catalog in step with one declarative file. */
export class DeclarativeFile {
  readonly #status: DeclarativeStatus;
  readonly #watchers = new Map<string, FSWatcher>();
  #watching = false;
  #timer: NodeJS.Timeout | undefined;
  #lastHash = "";
  #queue = Promise.resolve();

  constructor(
    private readonly store: Store,
    readonly file: string,
    private readonly logger: FastifyBaseLogger,
  ) {
    this.#status = {
      file,
      ok: true,
      problems: [],
      last_checked: null,
      last_applied: null,
      last_changes: [],
    };
  }

  status(): DeclarativeStatus {
    return structuredClone(this.#status);
  }

  /** Reads the file and applies it if its content changed since the last good apply. */
  sync(): Promise<void> {
    this.#queue = this.#queue
      .then(() => this.#sync())
      .catch((error) => {
        this.logger.error({ err: error, file: this.file }, "Applying the environments file failed");
      });
    return this.#queue;
  }

  /**
   * Watches folders, not the file: every folder holding a link on the way to the file (a
   * Kubernetes ConfigMap replaces the file by swapping its `..data` link; any link may be
   * repointed), and the folder the file really is in (edits in place, saves by rename). The
   * set is worked out again after every change, since a change may move the links.
   */
  async watch(debounceMs = 200): Promise<void> {
    this.#watching = true;
    const changed = () => {
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => {
        void this.#watchFolders(changed).then(() => (this.#watching ? this.sync() : undefined));
      }, debounceMs);
    };
    await this.#watchFolders(changed);
  }

  async #watchFolders(changed: () => void): Promise<void> {
    const wanted = new Set(await foldersOnTheWay(this.file));
    if (!this.#watching) return;
    for (const [folder, watcher] of this.#watchers) {
      if (wanted.has(folder)) continue;
      watcher.close();
      this.#watchers.delete(folder);
    }
    for (const folder of wanted) {
      if (this.#watchers.has(folder)) continue;
      try {
        const watcher = watch(folder, changed);
        watcher.on("error", (error) =>
          this.logger.warn({ err: error, folder }, "Cannot watch the environments file's folder"),
        );
        this.#watchers.set(folder, watcher);
      } catch (error) {
        this.logger.warn({ err: error, folder }, "Cannot watch the environments file's folder");
      }
    }
  }

  async close(): Promise<void> {
    this.#watching = false;
    clearTimeout(this.#timer);
    for (const watcher of this.#watchers.values()) watcher.close();
    this.#watchers.clear();
    await this.#queue;
  }

  async #sync(): Promise<void> {
    this.#status.last_checked = new Date().toISOString();
    let text: string;
    try {
      text = await readFile(this.file, "utf8");
    } catch (error) {
      this.#fail([`${this.file}: cannot read: ${(error as Error).message}`]);
      return;
    }
    const hash = createHash("sha256").update(text).digest("hex");
    if (hash === this.#lastHash && this.#status.ok) return;
    const parsed = parseEnvironmentFile(text, this.file, "declarative");
    if (!parsed.ok) {
      this.#fail(formatProblems(parsed.problems));
      return;
    }
    const plan = await this.store.dialect.withLock(
      this.store.db as Kysely<unknown>,
      "slipway-declarative-environments",
      async (trx) => {
        const db = trx as Kysely<Tables>;
        const actual = await listEnvironments(db);
        const plan = planReconcile(parsed.environments, actual, {
          source: this.file,
          inUse: await inUse(db, actual),
        });
        const now = new Date().toISOString();
        for (const action of plan) await apply(db, action, this.file, now);
        return plan;
      },
    );
    await auditFileChanges(this.logger, this.store, plan, this.file);
    const changes = summarizePlan(plan);
    this.#lastHash = hash;
    Object.assign(this.#status, {
      ok: true,
      problems: [],
      last_applied: new Date().toISOString(),
      last_changes: changes,
    });
    this.logger.info({ file: this.file, changes }, "Applied the environments file");
  }

  #fail(problems: string[]): void {
    Object.assign(this.#status, { ok: false, problems });
    this.logger.error(
      { file: this.file, problems },
      "The environments file is invalid: keeping the last good state",
    );
  }
}

async function apply(
  db: Kysely<Tables>,
  action: ReconcileAction,
  source: string,
  now: string,
): Promise<void> {
  switch (action.kind) {
    case "create":
      await insertEnvironment(
        db,
        randomUUID(),
        fieldsWithDefaults(action.environment, source),
        now,
      );
      return;
    case "update":
    case "adopt":
      await updateEnvironment(db, action.guid, { ...action.changes, managed_by: source }, now);
      return;
    case "retire":
      await updateEnvironment(db, action.guid, { matching: "none" }, now);
      return;
    case "delete":
      await deleteEnvironment(db, action.guid);
      return;
    case "noop":
      return;
  }
}

/** How many content items use each environment, as current, default environment or default image. */
async function inUse(
  db: Kysely<Tables>,
  environments: Environment[],
): Promise<Map<string, number>> {
  const byName = new Map(environments.map((e) => [e.name, e.guid]));
  const counts = new Map<string, number>();
  for (const content of await environmentReferences(db)) {
    const guids = new Set(
      [
        content.environment_guid,
        content.default_environment_guid,
        byName.get(content.default_image_name ?? ""),
      ].filter((g): g is string => Boolean(g)),
    );
    for (const guid of guids) counts.set(guid, (counts.get(guid) ?? 0) + 1);
  }
  return counts;
}

/**
 * The folders whose changes can change what `file` reads: the folder of every symbolic
 * link met while resolving it, component by component, and the folder of the file it
 * finally names (or the deepest existing folder, while the file is missing).
 */
export async function foldersOnTheWay(file: string): Promise<string[]> {
  const folders = new Set<string>();
  let pending = path.resolve(file);
  // As the kernel does, give up on a loop of links after 40 of them.
  for (let hops = 0; hops <= 40; hops++) {
    const parts = pending.split(path.sep).filter(Boolean);
    let resolved: string = path.sep;
    let relinked = false;
    for (const [i, part] of parts.entries()) {
      const next = path.join(resolved, part);
      const stats = await lstat(next).catch(() => undefined);
      if (!stats) {
        folders.add(resolved);
        return [...folders];
      }
      if (stats.isSymbolicLink()) {
        folders.add(resolved);
        pending = path.resolve(resolved, await readlink(next), ...parts.slice(i + 1));
        relinked = true;
        break;
      }
      resolved = next;
    }
    if (!relinked) {
      folders.add(path.dirname(resolved));
      return [...folders];
    }
  }
  return [...folders];
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    throw new ApiError("badRequest", `${file}: cannot read: ${(error as Error).message}`);
  }
}
