/** Wires the real dependencies together and listens. Contains no logic of its own. */

import { mkdir } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import { type DestinationStream, pino } from "pino";
import type { Settings } from "../config/settings.js";
import { bootstrapEnvironments, DeclarativeFile } from "../environments/declarative.js";
import { EnvironmentService } from "../environments/service.js";
import { isApiError } from "../errors.js";
import { hostEnvironment } from "../inspect/host-environment.js";
import { listenForScrapes, type MetricsListener } from "../metrics/listener.js";
import { Metrics } from "../metrics/metrics.js";
import type { Runner } from "../runners/runner.js";
import { openStore, type Store } from "../store/database.js";
import { listEnvironments } from "../store/environments.js";
import { installationInstance } from "../store/installation.js";
import { countUsers } from "../store/users.js";
import { createUser } from "../users/accounts.js";
import { SLIPWAY_VERSION } from "../version.js";
import { buildApp } from "./app.js";
import { warnIfNearlyFull } from "./disk-space.js";
import { chooseRunner } from "./runner-choice.js";

export interface RunningServer {
  app: FastifyInstance;
  store: Store;
  url: string;
  /** Where /metrics is served, when [Metrics] PrometheusListen is set. */
  metricsUrl?: string;
  close(): Promise<void>;
}

export async function startServer(
  settings: Settings,
  options: {
    announce?: (text: string) => void;
    configWarnings?: readonly string[];
    /** Where the JSON log goes; standard output by default. */
    logDestination?: DestinationStream;
    /** AppDeps.contentFastPath. */
    contentFastPath?: boolean;
  } = {},
): Promise<RunningServer> {
  const logger = pino(
    { level: settings.Server.LogLevel, base: { service: "slipway" } },
    options.logDestination,
  );
  for (const warning of options.configWarnings ?? []) logger.warn(warning);
  await mkdir(settings.Server.DataDir, { recursive: true });
  await warnIfNearlyFull(
    settings.Server.DataDir,
    {
      freePercent: settings.Server.DiskFreeWarningPercent,
      freeBytes: settings.Server.DiskFreeWarningBytes,
    },
    logger,
  );
  const store = await openStore(settings);
  try {
    if (settings.Server.BootstrapAdministrator) {
      await bootstrapAdministrator(store, options.announce ?? ((t) => process.stderr.write(t)));
    }
    await bootstrapEnvironments(store, settings.Launcher.ClusterDefinition, logger);
    const runner = await chooseRunner(settings, await installationInstance(store.db), logger);
    // The host's own interpreters are an environment only where content runs on the host.
    if (settings.Applications.HostEnvironment && runner.backend === "local") {
      await registerHostEnvironment(store, logger, runner.user);
    }
    const file = settings.ExecutionEnvironments.ConfigFilePath;
    const declarative = file ? new DeclarativeFile(store, path.resolve(file), logger) : undefined;
    if (declarative) {
      await declarative.sync();
      await declarative.watch();
    }
    const scraped = settings.Metrics.PrometheusListen !== "";
    const metrics = new Metrics({ processMetrics: scraped });
    const app = await buildApp({
      contentFastPath: options.contentFastPath,
      store,
      settings,
      logger,
      slipwayVersion: SLIPWAY_VERSION,
      declarative,
      runner,
      serverId: `${hostname()}:${settings.Server.Address}:${settings.Server.DataDir}`,
      metrics,
    });
    const [host, port] = splitAddress(settings.Server.Address);
    await app.listen({ host, port });
    const address = app.server.address();
    const boundPort = typeof address === "object" && address ? address.port : port;
    const url = `http://${host.includes(":") ? `[${host}]` : host}:${boundPort}`;
    let scrapes: MetricsListener | undefined;
    try {
      scrapes = scraped
        ? await listenForScrapes(metrics, settings.Metrics.PrometheusListen, (err) =>
            logger.error({ err }, "collecting the metrics failed"),
          )
        : undefined;
    } catch (error) {
      await app.close();
      throw error;
    }
    logger.info(
      {
        url,
        metrics: scrapes?.url,
        database: store.dialect.name,
        dataDir: settings.Server.DataDir,
      },
      "Slipway is listening",
    );
    return {
      app,
      store,
      url,
      metricsUrl: scrapes?.url,
      async close() {
        await scrapes?.close();
        await declarative?.close();
        await app.close();
        await runner.close?.();
        await store.close();
      },
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** An empty catalog on the local runner gets this machine's interpreters as an environment. */
async function registerHostEnvironment(
  store: Store,
  logger: FastifyBaseLogger,
  contentAccount: Runner["user"],
): Promise<void> {
  if ((await listEnvironments(store.db)).length > 0) return;
  const host = await hostEnvironment(contentAccount);
  try {
    await new EnvironmentService(store).create(host);
    logger.info(
      { environment: host },
      "Registered this machine's interpreters as the environment 'host'",
    );
  } catch (error) {
    // Another server sharing this database registered it at the same moment.
    if (!isApiError(error) || error.code !== 175) throw error;
  }
}

/** The very first start on an empty store makes an administrator and shows its key once. */
async function bootstrapAdministrator(
  store: Store,
  announce: (text: string) => void,
): Promise<void> {
  if ((await countUsers(store.db)) > 0) return;
  let created: { apiKey: string } | undefined;
  try {
    created = await createUser(store, "admin", "administrator");
  } catch (error) {
    // Another server sharing this database made the first user at the same moment.
    if ((await countUsers(store.db)) > 0) return;
    throw error;
  }
  announce(
    [
      "",
      "================================================================",
      " First start: created the administrator 'admin'. Its API key is",
      "",
      `   ${created.apiKey}`,
      "",
      " It is shown only this once. Use it as: Authorization: Key <key>",
      "================================================================",
      "",
    ].join("\n"),
  );
}

function splitAddress(address: string): [string, number] {
  const at = address.lastIndexOf(":");
  const host = address.slice(0, at).replace(/^\[|\]$/g, "") || "0.0.0.0";
  return [host, Number(address.slice(at + 1))];
}
