/**
 * The runner as the rest of the server sees it, with each job carrying its environment's
 * placement (node selector, tolerations, service account, image pull secrets). An environment
 * is its image, one per image, so the job's image finds it; a retired environment still places
 * the content that runs in it. A proxy, like the measured runner, so the backend stays itself.
 */
import type { Environment } from "../environments/model.js";
import type { Placement, Runner } from "../runners/runner.js";
import type { Store } from "../store/database.js";
import { findEnvironmentByName } from "../store/environments.js";
import { findRetiredByName } from "../store/retired-environments.js";

export function placedRunner(runner: Runner, store: Store): Runner {
  const start: Runner["start"] = async (job, options) => {
    if (job.image === null || job.placement) return runner.start(job, options);
    const environment =
      (await findEnvironmentByName(store.db, job.image)) ??
      (await findRetiredByName(store.db, job.image));
    const placement = environment && placementOf(environment);
    return runner.start(placement ? { ...job, placement } : job, options);
  };
  return new Proxy(runner, {
    get(target, key) {
      if (key === "start") return start;
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

/** The environment's placement, or undefined when it sets none. */
export function placementOf(
  environment: Pick<
    Environment,
    "node_selector" | "tolerations" | "service_account" | "image_pull_secrets"
  >,
): Placement | undefined {
  const placement: {
    -readonly [K in keyof Placement]: Placement[K];
  } = {};
  if (environment.node_selector && Object.keys(environment.node_selector).length > 0)
    placement.nodeSelector = environment.node_selector;
  if (environment.tolerations?.length) placement.tolerations = environment.tolerations;
  if (environment.service_account) placement.serviceAccount = environment.service_account;
  if (environment.image_pull_secrets?.length)
    placement.imagePullSecrets = environment.image_pull_secrets;
  return Object.keys(placement).length > 0 ? placement : undefined;
}
