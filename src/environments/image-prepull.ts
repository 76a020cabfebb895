/**
 * Keeps the runner's pre-puller in step with the catalog: the catalog's images, with each
 * environment's pull secrets and tolerations, handed to the runner at start and whenever the
 * catalog revision moves (a change through the API, the environments file, or another
 * replica). One small query per period; nothing for a runner that cannot pre-pull.
 */
import type { FastifyBaseLogger } from "fastify";
import type { PrePull, Runner } from "../runners/runner.js";
import type { Store } from "../store/database.js";
import { catalogRevision, listEnvironments } from "../store/environments.js";
import { LOCAL_CLUSTER_NAME } from "./model.js";

/** How often the catalog revision is looked at. */
const CHECK_MS = 10_000;

export function keepImagesPulled(
  store: Store,
  runner: Runner,
  logger: FastifyBaseLogger,
): { stop(): void } {
  if (!runner.prePull) return { stop() {} };
  let applied: number | undefined;
  // One check at a time: a slow API server must not stack them up.
  let busy = false;
  const check = async () => {
    const revision = await catalogRevision(store.db);
    if (revision === applied) return;
    const images: PrePull[] = (await listEnvironments(store.db))
      .filter((e) => e.cluster_name !== LOCAL_CLUSTER_NAME && e.matching !== "none")
      .map((e) => ({
        image: e.name,
        ...(e.image_pull_secrets?.length ? { pullSecrets: e.image_pull_secrets } : {}),
        ...(e.tolerations?.length ? { tolerations: e.tolerations } : {}),
      }));
    await runner.prePull!(images);
    applied = revision;
  };
  const tick = () => {
    if (busy) return;
    busy = true;
    check()
      .catch((error: Error) => logger.warn({ err: error }, "could not update the image pre-puller"))
      .finally(() => {
        busy = false;
      });
  };
  tick();
  const timer = setInterval(tick, CHECK_MS);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
