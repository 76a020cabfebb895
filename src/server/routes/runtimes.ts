import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import type { Settings } from "../../config/settings.js";
import { RuntimeCoverage, runtimeCoverage } from "../../environments/coverage.js";
import { deployedManifests } from "../../store/content.js";
import type { Store } from "../../store/database.js";
import { listEnvironments } from "../../store/environments.js";
import { errors } from "./schemas.js";

export const runtimeRoutes: FastifyPluginAsyncTypebox<{
  store: Store;
  settings: Settings;
}> = async (app, { store, settings }) => {
  app.get(
    "/slipway/v1/runtimes",
    {
      schema: {
        tags: ["slipway"],
        summary: "Runtimes coverage: the versions deployed content needs, and what serves them",
        description:
          "Every R, Python and Quarto version the active bundles of deployed content need, how many items need each, the environments that satisfy it under the server's version matching, and the content that no environment can serve.",
        response: { 200: RuntimeCoverage, ...errors },
      },
      config: { role: "publisher" },
    },
    async () =>
      runtimeCoverage(await deployedManifests(store.db), await listEnvironments(store.db), {
        r: settings.Server.RVersionMatching,
        python: settings.Python.VersionMatching,
        quarto: settings.Quarto.VersionMatching,
      }),
  );
};
