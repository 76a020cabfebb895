/**
 * Builds the HTTP application from its dependencies without listening, so tests drive it
 * with `inject()` or a loopback socket and only `start.ts` binds a port.
 */
import { randomUUID } from "node:crypto";

import type { IncomingMessage } from "node:http";
import { fileURLToPath } from "node:url";
import swagger from "@fastify/swagger";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from "fastify";
import type { Settings } from "../config/settings.js";
import { ActiveBundles } from "../content/active-bundle.js";
import { BundleService } from "../content/bundle-service.js";
import { ContentBuilder } from "../content/content-builder.js";
import { ContentJobs } from "../content/content-jobs.js";
import { ContentResolver } from "../content/content-resolver.js";
import { ContentService } from "../content/content-service.js";
import { ContentVariables } from "../content/content-variables.js";
import { DeployService } from "../content/deploy-service.js";
import { GoneServers } from "../content/gone-servers.js";
import { JobRuns } from "../content/job-runs.js";
import { LoadTracker } from "../content/load-tracker.js";
import { ProcessReconciler } from "../content/process-reconciler.js";
import { RepositoryService } from "../content/repository-service.js";
import { SecretBox } from "../content/secret-box.js";
import { TaskRunner } from "../content/task-runner.js";
import type { DeclarativeFile } from "../environments/declarative.js";
import { keepImagesPulled } from "../environments/image-prepull.js";
import { EnvironmentService } from "../environments/service.js";
import { ApiError } from "../errors.js";
import { measuredRunner } from "../metrics/measured-runner.js";
import { Metrics } from "../metrics/metrics.js";
import type { Runner } from "../runners/runner.js";
import { deleteVariables } from "../store/content-variables.js";
import type { Store } from "../store/database.js";
import { installationInstance } from "../store/installation.js";
import { runningProcessCounts } from "../store/runs.js";
import { AppForwarder } from "./app-forwarding.js";
import { registerAuditTrail } from "./audit-trail.js";
import { registerAuth } from "./auth.js";
import { contentFastPath, type FastPath, serverWithFastPath } from "./content-fast-path.js";
import { ContentSite } from "./content-site.js";
import { clientErrorHandler, refuseNulInBodies, registerEdgeGuards } from "./edge-guards.js";
import { errorHandler } from "./error-handler.js";
import { OneLineRequestLog } from "./request-log.js";
import {
  CONTENT_PATH_PARAMS,
  declareParams,
  declareResponses,
  PASSTHROUGH_RESPONSES,
} from "./route-declarations.js";
import { auditLogRoutes } from "./routes/audit-logs.js";
import { bundleRoutes } from "./routes/bundles.js";
import { contentRoutes } from "./routes/content.js";
import { contentDefaultsRoutes } from "./routes/content-defaults.js";
import { contentEnvironmentRoutes } from "./routes/content-environment.js";
import { contentJobRoutes } from "./routes/content-jobs.js";
import { contentPermissionRoutes } from "./routes/content-permissions.js";
import { contentRenderRoutes } from "./routes/content-render.js";
import { contentServingRoutes } from "./routes/content-serving.js";
import { dashboardRoutes } from "./routes/dashboard.js";
import { environmentFileRoutes } from "./routes/environment-files.js";
import { environmentPermissionRoutes } from "./routes/environment-permissions.js";
import { environmentRoutes } from "./routes/environments.js";
import { groupRoutes } from "./routes/groups.js";
import { packageRoutes } from "./routes/packages.js";
import { pingRoutes } from "./routes/ping.js";
import { repositoryRoutes } from "./routes/repository.js";
import { retiredEnvironmentRoutes } from "./routes/retired-environments.js";
import { runtimeCacheRoutes } from "./routes/runtime-caches.js";
import { runtimeRoutes } from "./routes/runtimes.js";
import { errors } from "./routes/schemas.js";
import { selectionRoutes } from "./routes/selection.js";
import { serverSettingsRoutes } from "./routes/server-settings.js";
import { sessionRoutes } from "./routes/session.js";
import { tagRoutes } from "./routes/tags.js";
import { taskRoutes } from "./routes/tasks.js";
import { userRoutes } from "./routes/users.js";
import { resolveVanity, vanityRoutes } from "./routes/vanities.js";
import { registerSecurityHeaders } from "./security-headers.js";
import { UploadSlots } from "./upload-slots.js";
import { validatorCompiler } from "./validation.js";

export interface AppDeps {
  store: Store;
  settings: Settings;
  logger: FastifyBaseLogger;
  slipwayVersion: string;
  /** The declarative environments file this server applies, when one is configured. */
  declarative?: DeclarativeFile;
  /** Where builds and runs happen. */
  runner: Runner;
  /** Identifies this server process's tasks, so a restart can tell which it abandoned. */
  serverId: string;
  bodyLimitBytes?: number;
  /** What the server measures; its own when not given (start.ts serves it on its listener). */
  metrics?: Metrics;
  /**
   * Whether the common application request skips Fastify (true unless said): false serves
   * every request through the content route, which the fast path must answer exactly like.
   */
  contentFastPath?: boolean;
}

/** The built dashboard, beside src/ and dist/ alike. */
const DASHBOARD_DIR = fileURLToPath(new URL("../../dist/web", import.meta.url));

const CORRELATION_ID = /^[\w.:-]{1,128}$/;

/** The client's correlation id when it sent a usable one, a new one otherwise. */
function correlationId(request: IncomingMessage): string {
  const given = request.headers["x-correlation-id"];
  return typeof given === "string" && CORRELATION_ID.test(given) ? given : randomUUID();
}

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const server = deps.settings.Server;
  const headersTimeout = server.HeadersTimeoutSeconds * 1000;
  const handleError = errorHandler(deps.store.dialect);
  // Set once the routes it stands in front of exist, and unset as the server closes.
  let fastPath: FastPath | undefined;
  const app = Fastify({
    loggerInstance: deps.logger,
    // Sign-in throttling counts client addresses, and cookies follow the browser's scheme.
    trustProxy:
      deps.settings.Server.TrustedProxies.length > 0 ? deps.settings.Server.TrustedProxies : false,
    bodyLimit: deps.bodyLimitBytes ?? 1024 * 1024,
    // Node checks for late headers only this often, so the check runs well within the timeout.
    http: {
      headersTimeout,
      connectionsCheckingInterval: Math.min(5_000, Math.max(100, headersTimeout / 4)),
    },
    clientErrorHandler,
    // URLs the router cannot decode are answered like any other refusal.
    frameworkErrors: (error, request, reply) => {
      reply.header("X-Correlation-ID", request.id);
      return handleError(error, request, reply);
    },
    logController: new OneLineRequestLog(),
    genReqId: correlationId,
    serverFactory: serverWithFastPath(() => fastPath),
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler(handleError);
  app.addHook("onRequest", async (request, reply) => {
    reply.header("X-Correlation-ID", request.id);
  });
  registerEdgeGuards(app, {
    requestTimeoutMs: server.RequestTimeoutSeconds * 1000,
    bodyIdleTimeoutMs: server.BodyIdleTimeoutSeconds * 1000,
    uploadMinBytesPerSecond: deps.settings.Bundles.UploadMinBytesPerSecond,
  });
  app.setNotFoundHandler(async (request, reply) => {
    const vanity = await resolveVanity(deps.store, request.url);
    if (vanity) return reply.redirect(`/content/${vanity.guid}/${vanity.rest}`, 307);
    throw new ApiError(
      "notFound",
      `No such endpoint: ${request.method} ${request.url.split("?")[0]}.`,
    );
  });

  await app.register(swagger, {
    openapi: {
      info: {
        title: "Slipway API",
        version: deps.slipwayVersion,
        description: "Posit Connect compatible API for execution environments and content.",
      },
      components: {
        securitySchemes: { apiKey: { type: "apiKey", in: "header", name: "Authorization" } },
      },
      security: [{ apiKey: [] }],
    },
  });

  registerAuth(app, deps.store);
  const site = new ContentSite(deps.settings.Server);
  registerSecurityHeaders(app, site);
  const { store, settings, serverId, logger } = deps;
  const metrics = deps.metrics ?? new Metrics();
  metrics.countProcessesWith(async () =>
    (await runningProcessCounts(store.db, serverId)).map((row) => ({
      contentGuid: row.content_guid,
      environment: row.image_name ?? "",
      count: Number(row.count),
    })),
  );
  const runner = measuredRunner(deps.runner, metrics);
  const dataDir = settings.Server.DataDir;
  const instance = await installationInstance(store.db);
  const environments = new EnvironmentService(store);
  const content = new ContentService(store, settings.Scheduler, runner);
  const tasks = new TaskRunner(store, serverId, logger, metrics);
  await tasks.failAbandoned();
  const bundles = new BundleService(store, dataDir, settings.Bundles);
  await bundles.removeAbandonedStaging(logger);
  const active = new ActiveBundles(store);
  const secrets = await SecretBox.open(dataDir, settings.Server.SecretKey);
  const reconciler: ProcessReconciler = new ProcessReconciler({
    store,
    runner,
    settings,
    logger,
    serverId,
    instance,
    load: new LoadTracker(),
    bundles: active,
    secrets,
    metrics,
    rebuild: (guid: string, bundleId: number): Promise<void> => deploy.rebuild(guid, bundleId),
  });
  const prePuller = keepImagesPulled(store, runner, logger);
  const resolver = new ContentResolver(store, active, reconciler, dataDir);
  const jobs = new JobRuns({ store, runner, serverId, dataDir });
  const builder = new ContentBuilder({ runner, jobs, settings, dataDir });
  const deploy = new DeployService({
    store,
    settings,
    runner,
    instance,
    content,
    bundles,
    tasks,
    builder,
    jobs,
    reconciler,
    secrets,
    metrics,
  });
  // Once the deploy service a rebuild goes through exists: adopting may find one needed.
  await reconciler.start();
  const goneServers = new GoneServers({ store, tasks, jobs, logger });
  goneServers.start();
  const repositories = new RepositoryService({
    store,
    git: {
      executable: settings.Git.Executable,
      timeoutMs: 120_000,
      allowLocal: settings.Git.AllowLocalRepositories,
    },
    content,
    bundles,
    deploy,
    logger,
  });
  if (settings.Git.PollingFrequency > 0) {
    repositories.startPolling(settings.Git.PollingFrequency * 1000);
  }
  app.addHook("onClose", async () => {
    await goneServers.close();
    prePuller.stop();
    await repositories.close();
    await tasks.drain();
    await reconciler.close();
  });

  await app.register(pingRoutes);
  await app.register(
    async (api) => {
      refuseNulInBodies(api);
      registerAuditTrail(api, store);
      await api.register(serverSettingsRoutes, {
        environments,
        store,
        slipwayVersion: deps.slipwayVersion,
        backend: runner.backend,
      });
      await api.register(userRoutes, { store });
      await api.register(groupRoutes, { store });
      await api.register(auditLogRoutes, { store });
      await api.register(environmentRoutes, { environments, store });
      await api.register(environmentPermissionRoutes, { environments, store });
      await api.register(retiredEnvironmentRoutes, { environments });
      await api.register(runtimeCacheRoutes, { store, tasks, dataDir });
      await api.register(repositoryRoutes, { repositories });
      await api.register(packageRoutes, {
        store,
        content,
        slipwayVersion: deps.slipwayVersion,
      });
      await api.register(contentRoutes, {
        content,
        site,
        onChanged: (guid) => reconciler.enqueue(guid),
        onDeleted: async (guid) => {
          await reconciler.remove(guid);
          await bundles.removeAll(guid);
          await deleteVariables(store.db, guid);
        },
        store,
      });
      await api.register(contentPermissionRoutes, { store, content });
      await api.register(tagRoutes, { store, content, site });
      await api.register(vanityRoutes, { store, content });
      await api.register(bundleRoutes, {
        content,
        bundles,
        uploads: new UploadSlots(settings.Bundles.MaxConcurrentUploads),
        store,
      });
      await api.register(contentEnvironmentRoutes, {
        variables: new ContentVariables(store, content, secrets),
        onChanged: (guid) => reconciler.enqueue(guid),
      });
      await api.register(contentJobRoutes, {
        jobs: new ContentJobs({ store, content, reconciler, runner, dataDir }),
      });
      await api.register(contentRenderRoutes, { content, deploy, tasks });
      await api.register(taskRoutes, { deploy, tasks, content, store });
      await api.register(sessionRoutes, { store, settings });
      await api.register(selectionRoutes, { store: deps.store, settings: deps.settings, content });
      await api.register(runtimeRoutes, { store, settings });
      await api.register(contentDefaultsRoutes, { scheduler: settings.Scheduler, runner });
      await api.register(environmentFileRoutes, {
        store: deps.store,
        declarative: deps.declarative,
      });
      api.get(
        "/openapi.json",
        {
          schema: {
            hide: true,
            response: { 200: { type: "object", additionalProperties: true }, ...errors },
          },
          config: { role: null },
        },
        async () => app.swagger(),
      );
    },
    { prefix: "/__api__" },
  );
  const forwarder = new AppForwarder(resolver, site, metrics);
  app.addHook("onClose", async () => forwarder.close());
  await app.register(async (contentApp) => {
    declareResponses(contentApp, PASSTHROUGH_RESPONSES);
    // Content URLs carry a guid, which also makes them safe to echo in a redirect.
    declareParams(contentApp, CONTENT_PATH_PARAMS);
    await contentApp.register(contentServingRoutes, { resolver, store, site, forwarder });
  });
  await app.register(dashboardRoutes, { root: DASHBOARD_DIR });
  // Behind a trusted proxy the client's address, host and scheme come from its X-Forwarded-*
  // headers, as Fastify reads them for the log and the content's policy: the route answers.
  if (deps.contentFastPath !== false && server.TrustedProxies.length === 0) {
    fastPath = contentFastPath({
      store,
      resolver,
      site,
      forwarder,
      metrics,
      // Not app.log: its request serializer expects Fastify's request, and this line has none.
      logger: deps.logger,
      requestId: correlationId,
    });
    // Requests that arrive while the server closes get Fastify's 503.
    app.addHook("preClose", async () => {
      fastPath = undefined;
    });
  }
  return app;
}
