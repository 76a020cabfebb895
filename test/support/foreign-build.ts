import { pythonCacheEntry, startBuild } from "../../src/content/package-cache.js";
import { SERVER_LEASE, takeLease } from "../../src/store/leases.js";
import type { TestServer } from "./server.js";

/**
 * A build another server sharing the data volume is running into the local Python 3.11.2
 * cache: its task unfinished in the store, its build folder begun, the server alive (holding
 * its liveness lease, or the others would fail its task). Returns its task id and how to
 * finish it, after which the cache is free again.
 */
export async function startForeignBuild(server: TestServer, taskId = "elsewhere-build") {
  const { db } = server.server.store;
  await takeLease(db, `${SERVER_LEASE}another-server`, "another-server", 600_000);
  await db
    .insertInto("tasks")
    .values({
      id: taskId,
      kind: "deploy",
      created_time: new Date().toISOString(),
      code: 0,
      error: "",
      server_id: "another-server",
      content_guid: null,
      bundle_id: null,
      user_guid: null,
      finished_time: null,
      result: null,
    })
    .execute();
  const entry = pythonCacheEntry({
    image: null,
    pythonVersion: "3.11.2",
    requirements: "requests\n",
    systemSitePackages: true,
  });
  await startBuild(server.settings.Server.DataDir, entry, taskId, null);
  return {
    taskId,
    finish: () =>
      db
        .updateTable("tasks")
        .set({ finished_time: new Date().toISOString() })
        .where("id", "=", taskId)
        .execute(),
  };
}
