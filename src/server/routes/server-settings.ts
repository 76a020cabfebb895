import { hostname } from "node:os";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyRequest } from "fastify";
import type { EnvironmentService } from "../../environments/service.js";
import { isApiError } from "../../errors.js";
import type { Store } from "../../store/database.js";
import type { UserRow } from "../../store/users.js";
import { authenticate } from "../auth.js";
import { readSessionCookie } from "../session-cookie.js";
import { errors } from "./schemas.js";

/**
 * The Connect API level Slipway implements: clients switch behaviour on it. From 2025.06.0
 * rsconnect-python deploys a draft (`activate: false`), requests its preview URL
 * `/content/{guid}/_bundle{id}/` and activates it only if that answers (its PR #805); above
 * 2025.11.0 the publishing clients upload bundles as multipart forms with git metadata.
 */
export const CONNECT_API_VERSION = "2025.12.0";

export interface ServerSettingsOptions {
  environments: EnvironmentService;
  store: Store;
  slipwayVersion: string;
  /** The runner's backend: content off the server's host runs in images, as on Connect's Kubernetes. */
  backend: string;
}

const RuntimeInstallations = Type.Object({
  installations: Type.Array(
    Type.Object({ version: Type.String(), cluster_name: Type.String(), image_name: Type.String() }),
  ),
  api_enabled: Type.Optional(Type.Boolean()),
  conda_enabled: Type.Optional(Type.Boolean()),
});

export const serverSettingsRoutes: FastifyPluginAsyncTypebox<ServerSettingsOptions> = async (
  app,
  options,
) => {
  app.get(
    "/server_settings",
    {
      schema: {
        summary: "Server capabilities clients look at before they deploy",
        response: { 200: Type.Object({}, { additionalProperties: true }), ...errors },
      },
      config: { role: null },
    },
    async (request) => {
      // Anonymous callers learn only the API level, which clients check before they even
      // ask for a key (rsconnect's URL check, connectapi, posit-sdk); nothing about the host.
      if (!(await signedIn(request, options.store))) return { version: CONNECT_API_VERSION };
      return {
        ...executionOf(options.backend),
        version: CONNECT_API_VERSION,
        slipway_version: options.slipwayVersion,
        hostname: hostname(),
        enable_image_management: true,
        default_image_selection_enabled: true,
        runtimes: ["Python", "R", "Quarto"],
        license: { "enable-launcher": options.backend !== "local" },
      };
    },
  );

  app.get(
    "/v1/server_settings/:runtime",
    {
      schema: {
        summary: "Installations of one runtime across all environments",
        params: Type.Object({
          runtime: Type.Unsafe<"python" | "r" | "quarto" | "tensorflow">(
            Type.String({ enum: ["python", "r", "quarto", "tensorflow"] }),
          ),
        }),
        response: { 200: RuntimeInstallations, ...errors },
      },
      config: { role: "publisher" },
    },
    async (request) => {
      const { runtime } = request.params;
      const installations = (await options.environments.list()).flatMap((environment) =>
        (environment[runtime]?.installations ?? []).map((installation) => ({
          version: installation.version,
          cluster_name: environment.cluster_name,
          image_name: environment.name,
        })),
      );
      return runtime === "python"
        ? { installations, api_enabled: true, conda_enabled: false }
        : { installations };
    },
  );
};

/**
 * Connect knows two execution types: "Local", and "Kubernetes" for content built and run in
 * images off the server's own processes, which is what clients check before offering images.
 * Slipway's container backends are the second kind; `execution_backend` names which one.
 */
function executionOf(backend: string) {
  return {
    execution_type: backend === "local" ? "Local" : "Kubernetes",
    execution_backend: backend,
  };
}

/** The caller, when the request carries credentials; an ended session reads as anonymous. */
async function signedIn(request: FastifyRequest, store: Store): Promise<UserRow | null> {
  const { headers } = request;
  if (!headers.authorization && readSessionCookie(headers).kind === "none") return null;
  try {
    return await authenticate(headers, store);
  } catch (error) {
    if (isApiError(error) && error.kind === "authenticationRequired") return null;
    throw error;
  }
}
