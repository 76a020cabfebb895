import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { Settings } from "../../config/settings.js";
import { ContentDefaults } from "../../content/model.js";
import { enforcedResourceFields } from "../../content/process-settings.js";
import type { Runner } from "../../runners/runner.js";
import { errors } from "./schemas.js";

/** What a content setting left null means on this server, for the dashboard's Runtime tab. */
export const contentDefaultsRoutes: FastifyPluginAsyncTypebox<{
  scheduler: Settings["Scheduler"];
  runner: Runner;
}> = async (app, { scheduler, runner }) => {
  app.get(
    "/slipway/v1/content-defaults",
    {
      schema: {
        tags: ["slipway"],
        summary: "The server's defaults and limits for content's process and resource settings",
        response: { 200: ContentDefaults, ...errors },
      },
      config: { role: "viewer" },
    },
    async () => ({
      min_processes: scheduler.MinProcesses,
      max_processes: scheduler.MaxProcesses,
      max_conns_per_process: scheduler.MaxConnsPerProcess,
      load_factor: scheduler.LoadFactor,
      idle_timeout: scheduler.IdleTimeout,
      init_timeout: scheduler.InitTimeout,
      connection_timeout: scheduler.ConnectionTimeout,
      read_timeout: scheduler.ReadTimeout,
      max_processes_limit: scheduler.MaxProcessesLimit,
      backend: runner.backend,
      enforced_resources: enforcedResourceFields(runner.enforces),
    }),
  );
};
