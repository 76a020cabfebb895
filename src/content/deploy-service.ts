/**
 * A deploy, phase by phase, each written to the task log as it goes: read the manifest,
 * select the environment (or reuse the bundle's recorded pick), build the packages, then
 * render the document or start the application.
 */
import type { Settings } from "../config/settings.js";
import { type ContentNeeds, contentNeeds, parseManifest } from "../environments/manifest.js";
import { explanationRows, type Selection, selectEnvironment } from "../environments/selection.js";
import { ApiError } from "../errors.js";
import { type BundleRow, updateBundle } from "../store/bundles.js";
import { type ContentRow, updateContent } from "../store/content.js";
import type { Store } from "../store/database.js";
import { findEnvironment, listEnvironments } from "../store/environments.js";
import type { UserRow } from "../store/users.js";
import { activationPhase } from "./app-commands.js";
import type { AppManager } from "./app-manager.js";
import type { BundleService } from "./bundle-service.js";
import type { ContentBuilder } from "./content-builder.js";
import type { ContentService } from "./content-service.js";
import type { TaskLog, TaskRunner } from "./task-runner.js";

export interface DeployOptions {
  bundleId: number | null;
  buildOnly: boolean;
  activate: boolean;
}

/** The environment and installations a bundle was built with, recorded on the bundle. */
export interface Pick {
  environment: {
    guid: string;
    name: string;
    title: string | null;
    cluster_name: string;
    supervisor: string | null;
  } | null;
  installations: Partial<Record<"python" | "r" | "quarto", { version: string; path: string }>>;
}

export interface DeployDeps {
  store: Store;
  settings: Settings;
  content: ContentService;
  bundles: BundleService;
  tasks: TaskRunner;
  builder: ContentBuilder;
  apps: AppManager;
}

export class DeployService {
  constructor(private readonly deps: DeployDeps) {}

  async start(caller: UserRow, contentGuid: string, options: DeployOptions): Promise<string> {
    const content = await this.deps.content.getEditable(caller, contentGuid);
    const bundle =
      options.bundleId === null
        ? (await this.deps.bundles.list(content.guid))[0]
        : await this.deps.bundles.get(content.guid, options.bundleId);
    if (!bundle)
      throw new ApiError(
        "bundleMissing",
        `Content ${content.guid} has no bundle to deploy; upload one first.`,
      );
    return this.deps.tasks.start(
      {
        kind: options.buildOnly ? "build" : "deploy",
        contentGuid: content.guid,
        bundleId: bundle.id,
        userGuid: caller.guid,
      },
      (log) => this.#run(log, content, bundle, options),
    );
  }

  async #run(
    log: TaskLog,
    content: ContentRow,
    bundle: BundleRow,
    options: DeployOptions,
  ): Promise<unknown> {
    await log.line(`Deploying bundle ${bundle.id} of ${content.name} (${content.guid})`);
    const manifest = await log.phase("Reading manifest.json", async () => {
      const parsed = parseManifest(bundle.manifest);
      const needs = contentNeeds(parsed);
      await log.line(`app mode ${needs.appMode}; needs ${describeNeeds(needs)}`);
      return { parsed, needs };
    });

    const pick = await log.phase("Selecting an execution environment", () =>
      this.#pick(log, content, bundle, manifest.needs),
    );
    await this.#record(content, bundle, pick, manifest.needs);

    const build = await log.phase("Building", () =>
      this.deps.builder.build({
        log,
        content,
        bundle,
        pick,
        manifest: manifest.parsed,
        needs: manifest.needs,
      }),
    );

    if (!options.buildOnly) {
      await this.deps.apps.stop(content.guid);
      await log.phase(activationPhase(manifest.needs.appMode), () =>
        this.deps.apps.activate({
          log,
          content,
          bundle,
          pick,
          build,
          manifest: manifest.parsed,
          needs: manifest.needs,
        }),
      );
    }

    await updateContent(this.deps.store.db, content.guid, {
      ...(options.activate && !options.buildOnly ? { bundle_id: bundle.id } : {}),
      app_mode: manifest.needs.appMode,
      content_category: manifest.parsed.metadata?.content_category ?? "",
      last_deployed_time: new Date().toISOString(),
      needs_rebuild: 0,
    });
    await log.line(`Deployed: ${content.name} is served at /content/${content.guid}/`);
    return { bundle_id: String(bundle.id), environment_guid: pick.environment?.guid ?? null };
  }

  /** The recorded pick when it still holds, otherwise a fresh selection with its explanation. */
  async #pick(
    log: TaskLog,
    content: ContentRow,
    bundle: BundleRow,
    needs: ContentNeeds,
  ): Promise<Pick> {
    if (bundle.pick && !content.needs_rebuild) {
      const recorded = JSON.parse(bundle.pick) as Pick;
      const environment =
        recorded.environment &&
        (await findEnvironment(this.deps.store.db, recorded.environment.guid));
      if (!recorded.environment || (environment && environment.matching !== "none")) {
        await log.line(
          `Reusing the environment recorded for bundle ${bundle.id}: ${recorded.environment?.name ?? "none needed"}`,
        );
        return recorded;
      }
      await log.line(
        `The environment recorded for bundle ${bundle.id} is gone or disabled; selecting again`,
      );
    }
    const selection = selectEnvironment({
      needs,
      environments: await listEnvironments(this.deps.store.db),
      defaultEnvironmentGuid: content.default_environment_guid,
      defaultImageName: content.default_image_name,
      modes: {
        r: this.deps.settings.Server.RVersionMatching,
        python: this.deps.settings.Python.VersionMatching,
        quarto: this.deps.settings.Quarto.VersionMatching,
      },
    });
    for (const row of explanationRows(selection)) await log.line(`  ${row.join("  ")}`);
    return toPick(selection);
  }

  async #record(
    content: ContentRow,
    bundle: BundleRow,
    pick: Pick,
    needs: ContentNeeds,
  ): Promise<void> {
    const versions = {
      image_name: pick.environment?.name ?? null,
      environment_guid: pick.environment?.guid ?? null,
      cluster_name: pick.environment?.cluster_name ?? null,
      py_version: pick.installations.python?.version ?? needs.python?.version ?? null,
      r_version: pick.installations.r?.version ?? needs.r?.version ?? null,
      quarto_version: pick.installations.quarto?.version ?? needs.quarto?.version ?? null,
    };
    await updateBundle(this.deps.store.db, bundle.id, { ...versions, pick: JSON.stringify(pick) });
    await updateContent(this.deps.store.db, content.guid, versions);
  }
}

function toPick(selection: Selection): Pick {
  const environment = selection.environment;
  return {
    environment: environment && {
      guid: environment.guid,
      name: environment.name,
      title: environment.title,
      cluster_name: environment.cluster_name ?? "Kubernetes",
      supervisor: environment.supervisor ?? null,
    },
    installations: selection.installations,
  };
}

function describeNeeds(needs: ContentNeeds): string {
  const parts = (["python", "r", "quarto"] as const).flatMap((runtime) => {
    const need = needs[runtime];
    if (!need) return [];
    const constraint = need.constraint ? ` (${need.constraint})` : "";
    return [`${runtime} ${need.version ?? "any version"}${constraint}`];
  });
  return parts.length > 0 ? parts.join(", ") : "no runtime";
}
