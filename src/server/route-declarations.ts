/**
 * Declarations for routes that other plugins register (static files, the content proxy),
 * made where those plugins are mounted, so every route still declares who may call it and
 * what it answers.
 */
import { Type } from "@sinclair/typebox";
import type { FastifyInstance } from "fastify";
import { errors } from "./routes/schemas.js";

/**
 * What a route that passes content through answers: files, redirects or an application's
 * own responses on success, Connect's error shape for Slipway's own refusals.
 */
export const PASSTHROUGH_RESPONSES = { "2xx": Type.Any(), "3xx": Type.Any(), ...errors };

/** The guid in a content URL (`/content/{guid}/...`); anything else names no content. */
export const CONTENT_PATH_PARAMS = Type.Object(
  { guid: Type.String({ pattern: "^[0-9a-f-]{36}$" }) },
  { additionalProperties: true },
);

/** Gives each route registered in `app` from now on these path parameters, unless it declares its own. */
export function declareParams(app: FastifyInstance, params: object): void {
  app.addHook("onRoute", (route) => {
    route.schema = { ...route.schema, params: route.schema?.params ?? params };
  });
}

/** Gives each route registered in `app` from now on these responses, unless it declares its own. */
export function declareResponses(app: FastifyInstance, response: object): void {
  app.addHook("onRoute", (route) => {
    route.schema = { ...route.schema, response: route.schema?.response ?? response };
  });
}
