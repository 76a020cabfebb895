/**
 * What a server leaves when it stops mid-deploy, laid out by hand for the tests of whoever
 * cleans up after it: an unfinished task of its id, and a build job really running for it.
 */
import { readFile } from "node:fs/promises";
import type { Runner } from "../../src/runners/runner.js";
import type { Store } from "../../src/store/database.js";
import { insertRun, updateRunStatus } from "../../src/store/runs.js";
import { insertTask } from "../../src/store/tasks.js";
import { testJob } from "./jobs.js";

/** A deploy task of `serverId` with its build job started by `runner` and recorded as a run. */
export async function buildingTask(store: Store, runner: Runner, serverId: string) {
  const id = `deploy-on-${serverId}`;
  await insertTask(store.db, {
    id,
    kind: "deploy",
    // Of no content: the task stays readable through the API while its job is any content's.
    content_guid: null,
    bundle_id: null,
    user_guid: null,
    created_time: new Date().toISOString(),
    code: 0,
    error: "",
    server_id: serverId,
  });
  const job = testJob({
    name: `build-${serverId}-${process.pid}`,
    kind: "build",
    argv: ["sleep", "600"],
  });
  const handle = await runner.start(job);
  const row = await insertRun(store.db, {
    key: id,
    name: job.name,
    content_guid: "c0ffee00-0000-4000-8000-000000000000",
    bundle_id: 1,
    task_id: id,
    kind: "build",
    slot: null,
    spec_hash: "",
    image: null,
    backend: "local",
    server_id: serverId,
    created_time: new Date().toISOString(),
  });
  await updateRunStatus(store.db, row.id, { handle: JSON.stringify(handle) });
  return { id, pid: (handle as unknown as { pid: number }).pid, runId: row.id };
}

/** Whether the process is alive (not a zombie). */
export async function alive(pid: number): Promise<boolean> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  return stat !== "" && stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
}
