/**
 * A deploy, phase by phase, each written to the task log as it goes: read the manifest,
 * select the environment (or reuse the bundle's recorded pick), build the packages, render
 * the document or have the reconciler start the application, and wait until it answers.
 * Building and rendering a bundle is one task's at a time, whichever replica runs it: a render
 * job's name is the bundle's, and two renders at once would share its job and its source folder.
 */
import { chown, cp, mkdir, readdir, rm } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Settings } from "../config/settings.js";
import { type ContentNeeds, contentNeeds, parseManifest } from "../environments/manifest.js";
import { livePins } from "../environments/retired-pins.js";
import { explanationRows, selectEnvironment } from "../environments/selection.js";
import { ApiError } from "../errors.js";
import type { Metrics } from "../metrics/metrics.js";
import type { Runner } from "../runners/runner.js";
import { type BundleRow, findBundle, updateBundle } from "../store/bundles.js";
import { type ContentRow, findContent, updateContent } from "../store/content.js";
import type { Store } from "../store/database.js";
import { findEnvironment, listEnvironments } from "../store/environments.js";
import { withLease } from "../store/leases.js";
import { environmentsNotPermitted } from "../store/permissions.js";
import { findRetiredEnvironment } from "../store/retired-environments.js";
import { findUser, type UserRow } from "../store/users.js";
import { activationPhase, checkAppMode, runPlan } from "./app-commands.js";
import { commandInput, jobContext } from "./bundle-context.js";
import type { BundleService } from "./bundle-service.js";
import type { ContentBuilder } from "./content-builder.js";
import type { ContentService } from "./content-service.js";
import { bundleSubPath, renderSiteSubPath, renderSourceSubPath } from "./data-layout.js";
import { installedPackages } from "./installed-packages.js";
import type { JobRuns } from "./job-runs.js";
import { type Built, type JobContext, renderJob } from "./jobs.js";
import { type Pick, toPick } from "./pick.js";
import type { ProcessReconciler } from "./process-reconciler.js";
import type { SecretBox } from "./secret-box.js";
import type { TaskLog, TaskRunner } from "./task-runner.js";

export interface DeployOptions {
  bundleId: number | null;
  buildOnly: boolean;
  activate: boolean;
}

export interface DeployDeps {
  store: Store;
  settings: Settings;
  runner: Runner;
  instance: string;
  content: ContentService;
  bundles: BundleService;
  tasks: TaskRunner;
  builder: ContentBuilder;
  jobs: JobRuns;
  reconciler: ProcessReconciler;
  secrets: SecretBox;
  metrics?: Metrics;
}

/** How long a task's hold on its bundle lasts unrenewed: a replica that died holding it. */
const BUNDLE_LEASE_TTL_MS = 15_000;
/** How often a task waiting for another's build or render of its bundle looks again. */
const BUNDLE_WAIT_MS = 500;

interface Deployment {
  readonly log: TaskLog;
  readonly taskId: string;
  readonly content: ContentRow;
  readonly bundle: BundleRow;
  readonly options: DeployOptions;
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
      (log, taskId) => this.#run({ log, taskId, content, bundle, options }),
    );
  }

  async #run(deployment: Deployment): Promise<unknown> {
    const { log, content, bundle, options } = deployment;
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
    const versions = await this.#record(bundle, pick, manifest.needs);
    const ctx = await jobContext(
      {
        store: this.deps.store,
        paths: this.deps.runner.paths,
        instance: this.deps.instance,
        secrets: this.deps.secrets,
      },
      content,
      bundle,
      pick,
    );
    // Checked now, so an app mode Slipway cannot run fails the deploy before anything is built.
    checkAppMode(manifest.needs.appMode);

    const plan = await this.#holdingBundle(deployment, async () => {
      const built = await log.phase("Building", () =>
        this.#measured("build", { ok: "built", failed: "failed" }, () =>
          this.deps.builder.build({
            log,
            taskId: deployment.taskId,
            ctx,
            content,
            bundle,
            pick,
            manifest: manifest.parsed,
            needs: manifest.needs,
          }),
        ),
      );
      const packages = await installedPackages(
        this.deps.settings.Server.DataDir,
        built,
        manifest.parsed,
        {
          python: pick.installations.python?.version ?? null,
          r: pick.installations.r?.version ?? null,
        },
      );
      await updateBundle(this.deps.store.db, bundle.id, {
        build: JSON.stringify(built),
        packages: JSON.stringify(packages),
      });
      const plan = runPlan(commandInput(ctx, manifest.needs, built));
      if (!options.buildOnly && plan.kind === "render") {
        await log.phase(activationPhase(manifest.needs.appMode), () =>
          this.#render(deployment, ctx, plan, built),
        );
      }
      return plan;
    });

    if (!options.buildOnly) {
      if (options.activate) {
        // Only an activated bundle says what the content runs: a draft leaves it as it was.
        await updateContent(this.deps.store.db, content.guid, {
          ...versions,
          bundle_id: bundle.id,
          app_mode: manifest.needs.appMode,
          content_category: manifest.parsed.metadata?.content_category ?? "",
          last_deployed_time: new Date().toISOString(),
          needs_rebuild: 0,
        });
        if (plan.kind === "static") {
          await log.line("Serving the bundle's files.");
        }
        this.deps.reconciler.enqueue(content.guid);
        if (plan.kind === "app") {
          await log.phase(activationPhase(manifest.needs.appMode), async () => {
            const process = await this.deps.reconciler.awaitReady(content.guid, bundle.id, (line) =>
              log.line(`  ${line}`),
            );
            await log.line(
              `Application answering at ${process.endpoint.host}:${process.endpoint.port}`,
            );
          });
        }
      }
    }
    await log.line(
      options.activate || options.buildOnly
        ? `Deployed: ${content.name} is served at /content/${content.guid}/`
        : `Deployed as a draft: bundle ${bundle.id} is previewed at /content/${content.guid}/_bundle${bundle.id}/; the live content is unchanged`,
    );
    return { bundle_id: String(bundle.id), environment_guid: pick.environment?.guid ?? null };
  }

  /**
   * Runs `work` (the bundle's build and render) while the task holds the bundle's lease,
   * waiting first for any other task that holds it, on this replica or another, to be done.
   */
  async #holdingBundle<T>({ log, taskId, bundle }: Deployment, work: () => Promise<T>): Promise<T> {
    let told = false;
    for (;;) {
      const held = await withLease(
        this.deps.store.db,
        `bundle:${bundle.id}`,
        taskId,
        BUNDLE_LEASE_TTL_MS,
        work,
      );
      if (held.held) return held.value;
      if (!told) {
        await log.line(`Waiting for another task building bundle ${bundle.id} to finish`);
        told = true;
      }
      await sleep(BUNDLE_WAIT_MS);
    }
  }

  /**
   * Builds a bundle again as a task of the content's, for a process that cannot start without
   * the packages it was built into (its runtime cache was deleted). Resolves once the task
   * ends; fails with the task's error.
   */
  async rebuild(contentGuid: string, bundleId: number): Promise<void> {
    const content = await findContent(this.deps.store.db, contentGuid);
    const bundle = await findBundle(this.deps.store.db, bundleId);
    if (!content || !bundle) throw new Error(`bundle ${bundleId} of ${contentGuid} is gone`);
    const id = await this.deps.tasks.start(
      { kind: "build", contentGuid, bundleId, userGuid: content.owner_guid },
      async (log, taskId) => {
        await log.line(
          `Rebuilding bundle ${bundleId}: the packages it was built into are gone from the cache (a runtime cache was deleted)`,
        );
        return this.#run({
          log,
          taskId,
          content,
          bundle,
          options: { bundleId, buildOnly: true, activate: false },
        });
      },
    );
    for (;;) {
      const task = await this.deps.tasks.get(id, 0, 60);
      if (!task.finished) continue;
      if (task.code !== 0) throw new Error(task.error || `task ${id} failed`);
      return;
    }
  }

  /** Renders the document in a copy of the bundle's files, into the bundle's site folder. */
  async #render(
    { log, taskId, content, bundle }: Deployment,
    ctx: JobContext,
    plan: Extract<ReturnType<typeof runPlan>, { kind: "render" }>,
    built: Built,
  ): Promise<void> {
    const dataDir = this.deps.settings.Server.DataDir;
    const source = path.join(dataDir, renderSourceSubPath(content.guid, bundle.id));
    const site = path.join(dataDir, renderSiteSubPath(content.guid, bundle.id));
    await rm(path.dirname(source), { recursive: true, force: true });
    await cp(path.join(dataDir, bundleSubPath(content.guid, bundle.id)), source, {
      recursive: true,
      verbatimSymlinks: true,
    });
    await mkdir(site, { recursive: true });
    const user = this.deps.runner.user;
    if (user) await chownTree(path.dirname(source), user);
    const job = renderJob(ctx, plan, built, this.deps.settings.Applications.RenderTimeoutSeconds);
    await log.line(`Running: ${plan.argv.join(" ")}`);
    const outcome = await this.deps.jobs.run(
      job,
      { contentGuid: content.guid, bundleId: bundle.id, taskId },
      (line) => log.line(`  ${line}`),
    );
    if (outcome.exitCode !== 0) {
      const why = outcome.reason ? ` (${outcome.reason})` : "";
      throw new ApiError(
        "badRequest",
        `Rendering failed with exit code ${outcome.exitCode ?? "unknown"}${why}; its output is in the log above.`,
      );
    }
  }

  /** The recorded pick when it still holds, otherwise a fresh selection with its explanation. */
  async #pick(
    log: TaskLog,
    content: ContentRow,
    bundle: BundleRow,
    needs: ContentNeeds,
  ): Promise<Pick> {
    const owner = await findUser(this.deps.store.db, content.owner_guid);
    const notPermitted = owner && (await environmentsNotPermitted(this.deps.store.db, owner));
    if (bundle.pick && !content.needs_rebuild) {
      const recorded = JSON.parse(bundle.pick) as Pick;
      const environment =
        recorded.environment &&
        (await findEnvironment(this.deps.store.db, recorded.environment.guid));
      if (
        !recorded.environment ||
        (environment && environment.matching !== "none" && !notPermitted?.has(environment.guid))
      ) {
        await log.line(
          `Reusing the environment recorded for bundle ${bundle.id}: ${recorded.environment?.name ?? "none needed"}`,
        );
        return recorded;
      }
      const retired =
        recorded.environment &&
        !environment &&
        (await findRetiredEnvironment(this.deps.store.db, recorded.environment.guid));
      await log.line(
        retired
          ? `The environment recorded for bundle ${bundle.id}, ${retired.name} (${retired.guid}), was retired at ${retired.retired_time}; selecting again`
          : `The environment recorded for bundle ${bundle.id} is gone, disabled or no longer permitted; selecting again`,
      );
    }
    const pins = await livePins(this.deps.store.db, content);
    for (const note of pins.notes) await log.line(note);
    const selection = await this.#measured(
      "selection",
      { ok: "selected", failed: "failed" },
      async () =>
        selectEnvironment({
          needs,
          environments: await listEnvironments(this.deps.store.db),
          notPermitted,
          defaultEnvironmentGuid: pins.defaultEnvironmentGuid,
          defaultImageName: pins.defaultImageName,
          modes: {
            r: this.deps.settings.Server.RVersionMatching,
            python: this.deps.settings.Python.VersionMatching,
            quarto: this.deps.settings.Quarto.VersionMatching,
          },
        }),
    );
    for (const row of explanationRows(selection)) await log.line(`  ${row.join("  ")}`);
    return toPick(selection);
  }

  #measured<T>(
    what: "selection" | "build",
    results: { ok: string; failed: string },
    work: () => Promise<T>,
  ): Promise<T> {
    const metrics = this.deps.metrics;
    return metrics ? metrics.time(metrics[what], results, work) : work();
  }

  /** Records the pick on the bundle; returns the versions the content gets once it is active. */
  async #record(bundle: BundleRow, pick: Pick, needs: ContentNeeds) {
    const versions = {
      image_name: pick.environment?.name ?? null,
      environment_guid: pick.environment?.guid ?? null,
      cluster_name: pick.environment?.cluster_name ?? null,
      py_version: pick.installations.python?.version ?? needs.python?.version ?? null,
      r_version: pick.installations.r?.version ?? needs.r?.version ?? null,
      quarto_version: pick.installations.quarto?.version ?? needs.quarto?.version ?? null,
    };
    await updateBundle(this.deps.store.db, bundle.id, { ...versions, pick: JSON.stringify(pick) });
    return versions;
  }
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

/** Hands a folder the server made to the account jobs run as, so a job can write into it. */
async function chownTree(root: string, user: { uid: number; gid: number }): Promise<void> {
  const walk = async (dir: string): Promise<void> => {
    await chown(dir, user.uid, user.gid);
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else await chown(full, user.uid, user.gid).catch(() => {});
    }
  };
  await walk(root);
}
