/**
 * Makes deployed content reachable at its content_url: a folder of files for static and
 * rendered content, or an application process on a loopback port, started at deploy or on
 * the first request, restarted when it died, stopped on redeploy, delete and shutdown.
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { connect, createServer } from "node:net";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyBaseLogger } from "fastify";
import type { ContentNeeds, Manifest } from "../environments/manifest.js";
import { ApiError } from "../errors.js";
import { type Job, type RunHandle, type Runner, runToEnd } from "../runners/runner.js";
import type { BundleRow } from "../store/bundles.js";
import { type ContentRow, findContent } from "../store/content.js";
import type { Store } from "../store/database.js";
import { type CommandInput, runPlan } from "./app-commands.js";
import type { BundleService } from "./bundle-service.js";
import type { BuildResult } from "./content-builder.js";
import type { Pick } from "./deploy-service.js";
import type { TaskLog } from "./task-runner.js";

export type ContentTarget =
  | { kind: "files"; root: string; index: string }
  | { kind: "app"; port: number };

export interface Activation {
  log: TaskLog;
  content: ContentRow;
  bundle: BundleRow;
  pick: Pick;
  build: BuildResult;
  manifest: Manifest;
  needs: ContentNeeds;
}

type AppJob = Omit<Job, "argv" | "env"> & { env: Record<string, string> };

/** What a deploy leaves for serving: written to the content folder, read on each start. */
type Served =
  | { kind: "files"; root: string; index: string }
  | { kind: "app"; command: Omit<CommandInput, "port">; job: AppJob };

export class AppManager {
  readonly #apps = new Map<string, { handle: RunHandle; port: number; bundleId: number }>();
  readonly #starting = new Map<string, Promise<ContentTarget>>();

  constructor(
    private readonly store: Store,
    private readonly runner: Runner,
    private readonly bundles: BundleService,
    private readonly runtimeDir: string,
    private readonly startTimeoutMs: number,
    private readonly logger: FastifyBaseLogger,
  ) {}

  /** Renders or starts the bundle's content, and records how to serve it. */
  async activate({
    log,
    content,
    bundle,
    pick,
    build,
    manifest,
    needs,
  }: Activation): Promise<void> {
    const output = path.join(this.bundles.contentDir(content.guid), "output", String(bundle.id));
    const command = {
      appMode: needs.appMode,
      entrypoint: needs.entrypoint,
      python: build.python,
      r: build.r,
      quarto: build.quarto,
      runtimeDir: this.runtimeDir,
      outputDir: output,
      rootPath: `/content/${content.guid}`,
    };
    // Checked now, so an app mode Slipway cannot run fails the deploy rather than the first visit.
    const plan = runPlan({ ...command, port: 0 });
    const files = this.bundles.filesPath(bundle);
    const env = { ...(build.rLibrary ? { R_LIBS: build.rLibrary } : {}) };
    const job = {
      name: `run-${content.guid}`,
      kind: "run" as const,
      image: pick.environment?.name ?? null,
      workingDir: files,
      mounts: [],
      supervisor: pick.environment?.supervisor ?? null,
      labels: { content: content.guid, bundle: String(bundle.id) },
    };
    let served: Served;
    if (plan.kind === "static") {
      served = {
        kind: "files",
        root: files,
        index: manifest.metadata.primary_html ?? "index.html",
      };
      await log.line(`Serving the bundle's files; index ${served.index}`);
    } else if (plan.kind === "render") {
      await mkdir(output, { recursive: true });
      await log.line(`Running: ${plan.argv.join(" ")}`);
      const code = await runToEnd(
        this.runner,
        { ...job, name: `render-${content.guid}`, argv: plan.argv, env: { ...plan.env, ...env } },
        (line) => log.line(`  ${line}`),
      );
      if (code !== 0)
        throw new ApiError(
          "badRequest",
          `Rendering failed with exit code ${code ?? "unknown"}; its output is in the log above.`,
        );
      served = { kind: "files", root: output, index: plan.output };
    } else {
      served = { kind: "app", command, job: { ...job, env } };
    }
    await writeFile(this.#servedFile(content.guid), JSON.stringify(served));
    if (served.kind === "app") {
      const target = await this.#start(content.guid, bundle.id, served, log);
      await log.line(`Application answering on 127.0.0.1:${(target as { port: number }).port}`);
    }
  }

  /** Where a request for this content goes, starting or restarting its application if needed. */
  async resolve(guid: string): Promise<ContentTarget> {
    const served = await this.#served(guid);
    if (served.kind === "files") return served;
    const running = this.#apps.get(guid);
    if (running && (await this.runner.poll(running.handle)).state === "running") {
      return { kind: "app", port: running.port };
    }
    let starting = this.#starting.get(guid);
    if (!starting) {
      const content = await findContent(this.store.db, guid);
      if (!content?.bundle_id) throw new ApiError("notFound", `Content ${guid} is not deployed.`);
      if (running)
        this.logger.warn({ content: guid }, "Application had stopped; starting it again");
      starting = this.#start(guid, content.bundle_id, served).finally(() =>
        this.#starting.delete(guid),
      );
      this.#starting.set(guid, starting);
    }
    return starting;
  }

  async stop(guid: string): Promise<void> {
    const running = this.#apps.get(guid);
    this.#apps.delete(guid);
    if (running) await this.runner.remove(running.handle);
  }

  async remove(guid: string): Promise<void> {
    await this.stop(guid);
    await rm(this.#servedFile(guid), { force: true });
  }

  async stopAll(): Promise<void> {
    await Promise.allSettled([...this.#apps.keys()].map((guid) => this.stop(guid)));
  }

  async #start(
    guid: string,
    bundleId: number,
    served: Extract<Served, { kind: "app" }>,
    log?: TaskLog,
  ): Promise<ContentTarget> {
    await this.stop(guid);
    const port = await freePort();
    const plan = runPlan({ ...served.command, port });
    if (plan.kind !== "app")
      throw new ApiError("internal", `Content ${guid} is no longer an application.`);
    const handle = await this.runner.start({
      ...served.job,
      argv: plan.argv,
      env: { ...plan.env, ...served.job.env },
    });
    this.#apps.set(guid, { handle, port, bundleId });
    const deadline = Date.now() + this.startTimeoutMs;
    const lines: string[] = [];
    const follow = (async () => {
      for await (const line of this.runner.logs(handle, { follow: true })) {
        lines.push(line);
        if (log) await log.line(`  ${line}`);
      }
    })();
    try {
      while (!(await answers(port))) {
        if ((await this.runner.poll(handle)).state !== "running") {
          await follow;
          throw new ApiError(
            "badRequest",
            `The application exited before answering on its port. Its last output:\n${lines.slice(-20).join("\n")}`,
          );
        }
        if (Date.now() > deadline) {
          throw new ApiError(
            "badRequest",
            `The application did not answer on its port within ${this.startTimeoutMs / 1000} s (Applications.StartTimeoutSeconds).`,
          );
        }
        await sleep(100);
      }
    } catch (error) {
      await this.stop(guid);
      throw error;
    }
    // Keep draining output into the log file only; the task log ends with the start.
    void follow.catch(() => {});
    return { kind: "app", port };
  }

  async #served(guid: string): Promise<Served> {
    try {
      return JSON.parse(await readFile(this.#servedFile(guid), "utf8")) as Served;
    } catch {
      throw new ApiError("notFound", `Content ${guid} is not deployed.`);
    }
  }

  #servedFile(guid: string): string {
    return path.join(this.bundles.contentDir(guid), "served.json");
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
