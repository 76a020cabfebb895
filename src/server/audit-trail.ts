/**
 * Every change made through the API goes to the audit log: who, what, on which path, and the
 * names (never the values) of the fields sent, so that variables and passwords stay out of
 * it. Routes that record a finer security event themselves still get this entry too.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { Store } from "../store/database.js";
import { recordChange } from "../users/audit.js";

const READS = new Set(["GET", "HEAD", "OPTIONS"]);

export function registerAuditTrail(app: FastifyInstance, store: Store): void {
  app.addHook("onSend", async (request, reply, payload) => {
    if (READS.has(request.method) || reply.statusCode >= 300 || !request.user) return payload;
    await recordChange(request.log, store.db, {
      actor: { guid: request.user.guid, username: request.user.username },
      action: actionOf(request),
      description: describe(request),
    });
    return payload;
  });
}

/** `update /v1/users/:guid` and the like: the route's own pattern, without the prefix. */
function actionOf(request: FastifyRequest): string {
  const verb =
    { POST: "create", PUT: "update", PATCH: "update", DELETE: "delete" }[request.method] ??
    request.method.toLowerCase();
  return `${verb} ${request.routeOptions.url?.replace(/^\/__api__/, "") ?? request.url}`;
}

function describe(request: FastifyRequest): string {
  const path = request.url.split("?")[0]!;
  const fields = fieldNames(request.body);
  return `${request.user!.username} ${request.method} ${path}${fields ? ` (${fields})` : ""}`;
}

function fieldNames(body: unknown): string {
  if (Array.isArray(body)) {
    const names = body
      .map((item) => (item && typeof item === "object" && "name" in item ? item.name : undefined))
      .filter((name): name is string => typeof name === "string");
    return names.length > 0 ? `names: ${names.join(", ")}` : `${body.length} items`;
  }
  if (body && typeof body === "object" && !Buffer.isBuffer(body) && !("pipe" in body)) {
    const keys = Object.keys(body);
    return keys.length > 0 ? `fields: ${keys.join(", ")}` : "";
  }
  return "";
}
