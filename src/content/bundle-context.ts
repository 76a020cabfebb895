/**
 * What a job of a bundle needs to know beyond the bundle itself, read from the store: the
 * environment's image settings as they are now, the content's resource settings, and the
 * runner's paths. One function, so builds, renders and runs of a bundle all share it.
 */
import type { ContentNeeds } from "../environments/manifest.js";
import { LOCAL_CLUSTER_NAME } from "../environments/model.js";
import { placementOf } from "../environments/placement.js";
import type { JobPaths } from "../runners/runner.js";
import type { ContentRow } from "../store/content.js";
import type { Store } from "../store/database.js";
import { findEnvironment } from "../store/environments.js";
import { findRetiredEnvironment } from "../store/retired-environments.js";
import type { CommandInput } from "./app-commands.js";
import { variableValues } from "./content-variables.js";
import { renderSiteSubPath } from "./data-layout.js";
import { type Built, interpreters, type JobContext, jobPath } from "./jobs.js";
import type { Pick } from "./pick.js";
import { contentResources } from "./process-settings.js";
import type { SecretBox } from "./secret-box.js";

export interface ContextDeps {
  store: Store;
  paths: JobPaths;
  instance: string;
  /** Opens the content's environment variables. */
  secrets: SecretBox;
}

export async function jobContext(
  deps: ContextDeps,
  content: ContentRow,
  bundle: { readonly id: number },
  pick: Pick,
): Promise<JobContext> {
  // A retired environment still describes the image content already built in it runs in.
  const environment = pick.environment
    ? ((await findEnvironment(deps.store.db, pick.environment.guid)) ??
      (await findRetiredEnvironment(deps.store.db, pick.environment.guid)))
    : undefined;
  const placement = environment && placementOf(environment);
  return {
    paths: deps.paths,
    instance: deps.instance,
    contentGuid: content.guid,
    bundleId: bundle.id,
    // An environment of the Local cluster describes this host's own installations, not an image.
    image:
      pick.environment && pick.environment.cluster_name !== LOCAL_CLUSTER_NAME
        ? pick.environment.name
        : null,
    pullPolicy: environment?.image_pull_policy ?? null,
    supervisor: pick.environment?.supervisor ?? null,
    volumeMounts: environment?.volume_mounts ?? [],
    resources: contentResources(content),
    variables: await variableValues(deps.store, deps.secrets, content.guid),
    variablesRevision: content.variables_revision,
    ...(placement ? { placement } : {}),
  };
}

/**
 * Where the content is served, or one of its draft bundles previewed: the root path its
 * application is given, so the links and assets it makes point under the URL it answers at.
 */
export function mountPath(guid: string, draft: number | null = null): string {
  return draft === null ? `/content/${guid}` : `/content/${guid}/_bundle${draft}`;
}

/** What the run plan of a built bundle is made from; `draft` when it runs as a preview. */
export function commandInput(
  ctx: JobContext,
  needs: ContentNeeds,
  built: Built,
  draft: number | null = null,
): CommandInput {
  return {
    appMode: needs.appMode,
    entrypoint: needs.entrypoint,
    ...interpreters(ctx, built),
    runtimeDir: ctx.paths.runtime,
    outputDir: jobPath(ctx.paths, renderSiteSubPath(ctx.contentGuid, ctx.bundleId)),
    rootPath: mountPath(ctx.contentGuid, draft),
  };
}
