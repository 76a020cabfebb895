/**
 * Git-backed content: the repository, branch and folder a content item deploys from, a deploy
 * of the branch's newest commit on request, and a poller that deploys each new commit of the
 * branches with polling on. Every repository is checked with git before it is stored.
 */
import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { FastifyBaseLogger } from "fastify";
import { ApiError } from "../errors.js";
import {
  archiveBranch,
  branchHead,
  branchProblem,
  directoryProblem,
  type Git,
  GitError,
  repositoryProblem,
} from "../git/git.js";
import type { Store } from "../store/database.js";
import {
  claimCommit,
  deleteRepository,
  findRepository,
  pollingRepositories,
  putRepository,
  type RepositoryRow,
  updateRepository,
} from "../store/repositories.js";
import { findUser, type UserRow } from "../store/users.js";
import type { BundleService } from "./bundle-service.js";
import type { ContentService } from "./content-service.js";
import type { DeployService } from "./deploy-service.js";

export interface RepositorySettings {
  repository: string;
  branch?: string;
  directory?: string;
  polling?: boolean;
}

export interface Repository {
  repository: string;
  branch: string;
  directory: string;
  polling: boolean;
  /** Slipway's extensions: the commit last deployed, and why the last look failed. */
  last_commit: string | null;
  last_checked_time: string | null;
  last_error: string | null;
}

export interface RepositoryDeps {
  store: Store;
  git: Git;
  content: ContentService;
  bundles: BundleService;
  deploy: DeployService;
  logger: FastifyBaseLogger;
}

export class RepositoryService {
  #timer: NodeJS.Timeout | undefined;
  #polling: Promise<void> | undefined;

  constructor(private readonly deps: RepositoryDeps) {}

  async get(caller: UserRow, guid: string): Promise<Repository> {
    const item = await this.deps.content.getBehindTheScenes(caller, guid);
    return toRepository(await this.#find(item.guid));
  }

  /** Creates or replaces the repository; refused unless git reaches the branch. */
  async put(caller: UserRow, guid: string, body: RepositorySettings): Promise<Repository> {
    const item = await this.deps.content.getEditable(caller, guid);
    const settings = {
      repository: body.repository,
      branch: body.branch ?? "main",
      directory: body.directory ?? ".",
      polling: body.polling ?? false,
    };
    await this.#check(settings);
    const now = new Date().toISOString();
    await putRepository(this.deps.store.db, {
      content_guid: item.guid,
      ...settings,
      polling: settings.polling ? 1 : 0,
      created_time: now,
      updated_time: now,
    });
    return toRepository(await this.#find(item.guid));
  }

  async patch(
    caller: UserRow,
    guid: string,
    body: Partial<RepositorySettings>,
  ): Promise<Repository> {
    const item = await this.deps.content.getEditable(caller, guid);
    const current = await this.#find(item.guid);
    const settings = {
      repository: body.repository ?? current.repository,
      branch: body.branch ?? current.branch,
      directory: body.directory ?? current.directory,
    };
    const moved =
      settings.repository !== current.repository ||
      settings.branch !== current.branch ||
      settings.directory !== current.directory;
    if (moved) await this.#check(settings);
    await updateRepository(this.deps.store.db, item.guid, {
      ...settings,
      ...(body.polling === undefined ? {} : { polling: body.polling ? 1 : 0 }),
      // Another source: its newest commit is new to this content whatever was deployed before.
      ...(moved ? { last_commit: null, last_error: null } : {}),
      updated_time: new Date().toISOString(),
    });
    return toRepository(await this.#find(item.guid));
  }

  async remove(caller: UserRow, guid: string): Promise<void> {
    const item = await this.deps.content.getEditable(caller, guid);
    await this.#find(item.guid);
    await deleteRepository(this.deps.store.db, item.guid);
  }

  /** Bundles the branch's newest commit and deploys it, as the caller. */
  async deployNow(
    caller: UserRow,
    guid: string,
  ): Promise<{ task_id: string; bundle_id: string; commit: string }> {
    const item = await this.deps.content.getEditable(caller, guid);
    const repository = await this.#find(item.guid);
    return this.#deploy(caller, repository);
  }

  /** Checks every polled branch every `intervalMs`, deploying each new commit once. */
  startPolling(intervalMs: number): void {
    this.#timer = setInterval(() => {
      this.#polling ??= this.pollOnce().finally(() => {
        this.#polling = undefined;
      });
    }, intervalMs);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#polling;
  }

  async pollOnce(): Promise<void> {
    for (const repository of await pollingRepositories(this.deps.store.db)) {
      const now = new Date().toISOString();
      try {
        const head = await branchHead(this.deps.git, repository.repository, repository.branch);
        if (head === repository.last_commit) {
          await updateRepository(this.deps.store.db, repository.content_guid, {
            last_checked_time: now,
            last_error: null,
          });
          continue;
        }
        const owner = await this.#owner(repository.content_guid);
        if (!owner) continue;
        await this.#deploy(owner, repository);
      } catch (error) {
        const message = (error as Error).message;
        this.deps.logger.warn(
          { content: repository.content_guid, err: message },
          "polling a git-backed content item failed",
        );
        await updateRepository(this.deps.store.db, repository.content_guid, {
          last_checked_time: now,
          last_error: message,
        });
      }
    }
  }

  async #deploy(
    caller: UserRow,
    repository: RepositoryRow,
  ): Promise<{ task_id: string; bundle_id: string; commit: string }> {
    const content = await this.deps.content.get(repository.content_guid);
    const scratch = await mkdtemp(path.join(tmpdir(), "slipway-git-bundle-"));
    try {
      const archive = path.join(scratch, "bundle.tar.gz");
      const commit = await archiveBranch(
        this.deps.git,
        { url: repository.repository, branch: repository.branch, directory: repository.directory },
        archive,
      ).catch((error) => {
        throw asApiError(error);
      });
      const claimed = await claimCommit(
        this.deps.store.db,
        content.guid,
        repository.last_commit,
        commit,
        new Date().toISOString(),
      );
      if (!claimed) {
        throw new ApiError(
          "badRequest",
          `Commit ${commit} of ${repository.repository} is being deployed already.`,
          { status: 409, payload: { commit } },
        );
      }
      try {
        const bundle = await this.deps.bundles.upload(content, createReadStream(archive));
        const taskId = await this.deps.deploy.start(caller, content.guid, {
          bundleId: bundle.id,
          buildOnly: false,
          activate: true,
        });
        return { task_id: taskId, bundle_id: String(bundle.id), commit };
      } catch (error) {
        // The commit stays claimed (polling would only fail on it again); the reason is kept.
        await updateRepository(this.deps.store.db, content.guid, {
          last_error: `commit ${commit}: ${(error as Error).message}`,
        });
        throw error;
      }
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  }

  async #owner(contentGuid: string): Promise<UserRow | undefined> {
    const content = await this.deps.content.get(contentGuid);
    return findUser(this.deps.store.db, content.owner_guid);
  }

  async #find(guid: string): Promise<RepositoryRow> {
    const row = await findRepository(this.deps.store.db, guid);
    if (!row) {
      throw new ApiError("notFound", `Content ${guid} is not deployed from a git repository.`, {
        payload: { guid },
      });
    }
    return row;
  }

  /** Refuses settings git cannot follow, naming the field: well-formed first, then reachable. */
  async #check(settings: { repository: string; branch: string; directory: string }) {
    const problems = {
      repository: repositoryProblem(settings.repository, this.deps.git.allowLocal),
      branch: branchProblem(settings.branch),
      directory: directoryProblem(settings.directory),
    };
    for (const [field, problem] of Object.entries(problems)) {
      if (problem) {
        throw new ApiError("invalidParameter", `${field} ${problem}.`, { payload: { field } });
      }
    }
    await branchHead(this.deps.git, settings.repository, settings.branch).catch((error) => {
      throw asApiError(error);
    });
  }
}

function asApiError(error: unknown): unknown {
  if (!(error instanceof GitError)) return error;
  const field =
    error.reason === "no-branch"
      ? "branch"
      : error.reason === "no-directory"
        ? "directory"
        : "repository";
  return new ApiError("invalidParameter", `${field}: ${error.message}.`, { payload: { field } });
}

function toRepository(row: RepositoryRow): Repository {
  return {
    repository: row.repository,
    branch: row.branch,
    directory: row.directory,
    polling: row.polling === 1,
    last_commit: row.last_commit,
    last_checked_time: row.last_checked_time,
    last_error: row.last_error,
  };
}
