/** Upload-and-deploy helpers used the way clients use the API. */
import type { Kysely } from "kysely";
import { activeRuns } from "../../src/store/runs.js";
import type { Tables } from "../../src/store/schema.js";
import { type TarEntry, tarGz } from "./bundles.js";
import { HOST_PYTHON, hostPythonVersion } from "./images.js";
import type { TestServer } from "./server.js";

/** What deploying needs of a server, in-process or not: its URL, its API and two keys. */
export type DeployTarget = Pick<TestServer, "url" | "call"> & {
  keys: Pick<TestServer["keys"], "administrator" | "publisher">;
};

export interface DeployResult {
  task: { id: string; output: string[]; finished: boolean; code: number; error: string };
  bundleId: string;
}

/**
 * Content made here is open to every signed-in user (`logged_in`), so that tests of deploying
 * and serving can view it with any role's key; tests of access set `access_type` themselves.
 */
export async function createContent(
  server: DeployTarget,
  name: string,
  key = server.keys.publisher,
  extra: Record<string, unknown> = { access_type: "logged_in" },
) {
  const created = await server.call("POST", "/__api__/v1/content", {
    key,
    body: { name, ...extra },
  });
  if (created.status !== 200) throw new Error(`create failed: ${JSON.stringify(created.body)}`);
  return created.body as { guid: string; content_url: string };
}

export async function upload(
  server: DeployTarget,
  guid: string,
  archive: Buffer,
  key = server.keys.publisher,
) {
  const response = await fetch(`${server.url}/__api__/v1/content/${guid}/bundles`, {
    method: "POST",
    headers: { Authorization: `Key ${key}`, "Content-Type": "application/gzip" },
    body: archive,
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

export async function waitForTask(server: DeployTarget, id: string, key = server.keys.publisher) {
  let first = 0;
  const output: string[] = [];
  for (;;) {
    const task = await server.call("GET", `/__api__/v1/tasks/${id}?first=${first}&wait=1`, { key });
    output.push(...task.body.output);
    first = task.body.last;
    if (task.body.finished) return { ...task.body, output };
  }
}

export async function deploy(
  server: DeployTarget,
  guid: string,
  entries: TarEntry[],
  key = server.keys.publisher,
): Promise<DeployResult> {
  const bundle = await upload(server, guid, tarGz(entries), key);
  if (bundle.status !== 200) throw new Error(`upload failed: ${JSON.stringify(bundle.body)}`);
  const started = await server.call("POST", `/__api__/v1/content/${guid}/deploy`, {
    key,
    body: { bundle_id: bundle.body.id },
  });
  if (started.status !== 202) throw new Error(`deploy failed: ${JSON.stringify(started.body)}`);
  return { task: await waitForTask(server, started.body.task_id, key), bundleId: bundle.body.id };
}

export function manifestEntry(manifest: object): TarEntry {
  return { path: "manifest.json", content: JSON.stringify({ version: 1, ...manifest }) };
}

/**
 * A Python application (`app.py`, entrypoint `app:app`) deployed on the host's own Python as
 * an environment of the Local cluster, with Debian's packages and nothing installed: `settings`
 * are set on the content first. Throws with the task log when the deploy fails.
 */
export async function deployOnHostPython(
  server: DeployTarget,
  name: string,
  appmode: string,
  code: string,
  settings: Record<string, unknown> = {},
) {
  const key = server.keys.administrator;
  const environment = await server.call("POST", "/__api__/v1/environments", {
    key,
    body: {
      name: "host-python",
      cluster_name: "Local",
      python: { installations: [{ version: hostPythonVersion(), path: HOST_PYTHON }] },
    },
  });
  // One registration serves every app of the server.
  if (environment.status !== 200 && environment.status !== 409) {
    throw new Error(`environment failed: ${JSON.stringify(environment.body)}`);
  }
  const item = await createContent(server, name, key);
  if (Object.keys(settings).length > 0) {
    const set = await server.call("PATCH", `/__api__/v1/content/${item.guid}`, {
      key,
      body: settings,
    });
    if (set.status !== 200) throw new Error(`settings failed: ${JSON.stringify(set.body)}`);
  }
  const manifest = manifestEntry({
    metadata: { appmode, entrypoint: "app:app" },
    python: { version: hostPythonVersion() },
    environment: { environment_management: { python: false } },
  });
  const { task } = await deploy(
    server,
    item.guid,
    [manifest, { path: "app.py", content: code }],
    key,
  );
  if (task.code !== 0) throw new Error(task.output.join("\n"));
  return item;
}

/** Where the server reaches the content's running process: `host:port` of its active run. */
export async function appAddress(db: Kysely<Tables>, guid: string): Promise<string> {
  const [run] = await activeRuns(db, guid);
  if (!run?.endpoint) throw new Error(`content ${guid} has no running process`);
  const endpoint = JSON.parse(run.endpoint) as { host: string; port: number };
  return `${endpoint.host}:${endpoint.port}`;
}
