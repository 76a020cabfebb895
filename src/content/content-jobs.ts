/**
 * Connect's jobs over the runs table: every build, render and application process of a
 * content item is a job with its key, times, exit code, host and image. The fields are those
 * posit-sdk's `Job` (src/posit/connect/jobs.py) and connectapi's `get_jobs()` read.
 */
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { ApiError } from "../errors.js";
import type { RunHandle, Runner } from "../runners/runner.js";
import type { ContentRow } from "../store/content.js";
import type { Store } from "../store/database.js";
import { activeRuns, contentRuns, findRunByKey, type RunRow } from "../store/runs.js";
import type { UserRow } from "../store/users.js";
import type { ContentService } from "./content-service.js";
import { runLogSubPath } from "./data-layout.js";
import type { ProcessReconciler } from "./process-reconciler.js";
import { type LogEntry, readLog } from "./run-log.js";

export interface Job {
  id: string;
  ppid: string | null;
  pid: string | null;
  key: string;
  remote_id: string | null;
  app_id: string;
  app_guid: string;
  content_id: string;
  content_guid: string;
  variant_id: string;
  bundle_id: string;
  start_time: string;
  end_time: string | null;
  last_heartbeat_time: string;
  queued_time: string | null;
  queue_name: string | null;
  tag: string;
  exit_code: number | null;
  /** 0 while active, 1 once finished. */
  status: 0 | 1;
  hostname: string;
  cluster: string | null;
  image: string | null;
  run_as: string | null;
}

export interface JobsDeps {
  store: Store;
  content: ContentService;
  reconciler: ProcessReconciler;
  runner: Pick<Runner, "stop">;
  dataDir: string;
}

export class ContentJobs {
  constructor(private readonly deps: JobsDeps) {}

  async list(caller: UserRow, guid: string): Promise<Job[]> {
    const content = await this.deps.content.getBehindTheScenes(caller, guid);
    return (await contentRuns(this.deps.store.db, content.guid)).map((row) => toJob(row, content));
  }

  async get(caller: UserRow, guid: string, key: string): Promise<Job> {
    const { content, row } = await this.#find(caller, guid, key);
    return toJob(row, content);
  }

  async log(caller: UserRow, guid: string, key: string, maxLines: number) {
    const { row } = await this.#find(caller, guid, key);
    const entries: LogEntry[] = await readLog(
      path.join(this.deps.dataDir, runLogSubPath(row.key)),
      maxLines,
    );
    return { source: "both", entries };
  }

  /** Stops the job: a process goes (another starts when one is wanted), a build or render fails. */
  async stop(caller: UserRow, guid: string, key: string) {
    const content = await this.deps.content.getEditable(caller, guid);
    const row = await this.#row(content, key);
    if (row.status !== "exited") {
      if (row.kind === "run") await this.deps.reconciler.stopProcess(row);
      else if (row.handle) await this.deps.runner.stop(JSON.parse(row.handle) as RunHandle);
    }
    return {
      guid: content.guid,
      key: row.key,
      app_id: content.guid,
      app_guid: content.guid,
      job_id: String(row.id),
      job_key: row.key,
      result:
        row.status === "exited" ? "The job had already ended." : "Order to kill job registered",
    };
  }

  /** Every running process of every content item, as Connect's `/metrics/procs` lists them. */
  async procs() {
    const rows = await activeRuns(this.deps.store.db);
    const names = new Map<string, string>();
    for (const row of await this.deps.store.db
      .selectFrom("content")
      .select(["guid", "name"])
      .where("guid", "in", rows.length > 0 ? rows.map((r) => r.content_guid) : [""])
      .execute()) {
      names.set(row.guid, row.name);
    }
    return Promise.all(
      rows.map(async (row) => {
        const pid = handlePid(row);
        // A pid means something only on the host that started the process.
        const usage = pid === null || hostOf(row) !== hostname() ? null : await processUsage(pid);
        return {
          pid: pid === null ? null : String(pid),
          key: row.key,
          appId: row.content_guid,
          appGuid: row.content_guid,
          appName: names.get(row.content_guid) ?? null,
          appRunAs: null,
          type: jobTag(row, null),
          hostname: hostOf(row),
          cpuCurrent: null,
          cpuTotal: usage?.cpuSeconds ?? null,
          ram: usage?.ramBytes ?? null,
        };
      }),
    );
  }

  async #find(caller: UserRow, guid: string, key: string) {
    const content = await this.deps.content.getBehindTheScenes(caller, guid);
    return { content, row: await this.#row(content, key) };
  }

  async #row(content: ContentRow, key: string): Promise<RunRow> {
    const row = await findRunByKey(this.deps.store.db, key);
    if (!row || row.content_guid !== content.guid) {
      throw new ApiError("notFound", `Content ${content.guid} has no job with key "${key}".`, {
        payload: { key },
      });
    }
    return row;
  }
}

export function toJob(row: RunRow, content: Pick<ContentRow, "guid" | "app_mode">): Job {
  const pid = handlePid(row);
  return {
    id: String(row.id),
    ppid: null,
    pid: pid === null ? null : String(pid),
    key: row.key,
    remote_id: row.handle ? remoteId(JSON.parse(row.handle) as RunHandle) : null,
    app_id: content.guid,
    app_guid: content.guid,
    content_id: content.guid,
    content_guid: content.guid,
    // The content's one variant has the content's guid as its id (see routes/content-render.ts).
    variant_id: content.guid,
    bundle_id: String(row.bundle_id),
    start_time: row.created_time,
    end_time: row.ended_time,
    last_heartbeat_time: row.ended_time ?? row.ready_time ?? row.created_time,
    queued_time: row.created_time,
    queue_name: null,
    tag: jobTag(row, content.app_mode),
    exit_code: row.exit_code,
    status: row.status === "exited" ? 1 : 0,
    hostname: hostOf(row),
    cluster: row.backend,
    image: row.image,
    run_as: null,
  };
}

/** Connect's tag for what the job does. */
function jobTag(row: RunRow, appMode: string | null): string {
  if (row.kind === "build")
    return row.name.includes("-r-packages") ? "packrat_restore" : "python_restore";
  if (row.kind === "render") return appMode === "jupyter-static" ? "build_jupyter" : "build_report";
  if (appMode === "api" || appMode === "python-api" || appMode === "python-fastapi") {
    return "run_api";
  }
  return "run_app";
}

/** The host of the server that started the run: server ids begin with it. */
function hostOf(row: RunRow): string {
  return row.server_id.split(":")[0] ?? row.server_id;
}

function handlePid(row: RunRow): number | null {
  if (!row.handle) return null;
  const pid = (JSON.parse(row.handle) as RunHandle).pid;
  return typeof pid === "number" && pid > 0 ? pid : null;
}

/** The backend's own name for the job: a container id, or the job's name. */
function remoteId(handle: RunHandle): string {
  return typeof handle.id === "string" ? handle.id : handle.name;
}

/**
 * CPU time and resident memory of a process on this host, from /proc (Linux's 100 clock ticks
 * a second and 4 KiB pages); null once it is gone.
 */
async function processUsage(pid: number): Promise<{ cpuSeconds: number; ramBytes: number } | null> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    const rssPages = Number(fields[21]);
    return { cpuSeconds: ticks / 100, ramBytes: rssPages * 4096 };
  } catch {
    return null;
  }
}
