/**
 * Where an environment's jobs are scheduled on Kubernetes (node selector, tolerations, service
 * account, image pull secrets), as the runner contract carries it. Pure.
 */
import type { Placement } from "../runners/runner.js";
import type { Environment } from "./model.js";

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
