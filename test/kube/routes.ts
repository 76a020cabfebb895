/**
 * The HTTP face: the Kubernetes REST paths mapped onto the Api, discovery, watches, pod logs
 * and the fault injector. Plain node:http, because the URL space is generic over kinds and
 * watches and logs are long streamed responses.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { type Api, withType } from "./api.js";
import {
  aggregated,
  apiGroup,
  coreVersions,
  groupList,
  resourceList,
  VERSION_INFO,
} from "./discovery.js";
import type { Faults } from "./faults.js";
import { openapiGroupVersion, openapiRoot } from "./openapi.js";
import {
  type LogRequest,
  logRequest,
  notFoundPath,
  parseBody,
  parseTarget,
  readBody,
  type Target,
  verbOf,
} from "./request.js";
import { badRequest, forbidden, methodNotAllowed, StatusError } from "./status-error.js";
import { toTable } from "./table.js";
import type { KubeObject } from "./types.js";
import type { FieldValidation } from "./unknown-fields.js";
import { serveWatch } from "./watch.js";

export interface RouteDeps {
  api: Api;
  faults: Faults;
  serverAddress: () => string;
  logs: (
    pod: KubeObject,
    request: LogRequest,
    res: ServerResponse,
    req: IncomingMessage,
  ) => Promise<void>;
  watchDefaults: { defaultTimeoutSeconds: number; bookmarkIntervalMs: number };
  /** Called for every request, before faults apply. */
  onRequest?: (entry: RequestLogEntry) => void;
}

export interface RequestLogEntry {
  method: string;
  path: string;
  query: Record<string, string>;
  at: number;
}

export async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  deps: RouteDeps,
): Promise<void> {
  const url = new URL(req.url ?? "/", "http://standin");
  deps.onRequest?.({
    method: req.method ?? "GET",
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    at: Date.now(),
  });
  const refusing = deps.faults.refusing();
  if (refusing === "reset") {
    req.socket.destroy();
    return;
  }
  if (refusing === "503") {
    send(
      res,
      503,
      new StatusError(
        503,
        "ServiceUnavailable",
        "the server is currently unable to handle the request",
      ).body(),
    );
    return;
  }
  try {
    const body = await readBody(req);
    await route(req, res, url, body, deps);
  } catch (error) {
    if (res.headersSent) {
      res.end();
      return;
    }
    if (error instanceof StatusError) send(res, error.code, error.body());
    else
      send(
        res,
        500,
        new StatusError(
          500,
          "InternalError",
          `Internal error occurred: ${(error as Error).message}`,
        ).body(),
      );
  }
}

async function route(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  body: string,
  deps: RouteDeps,
): Promise<void> {
  const path = url.pathname.replace(/\/+$/, "") || "/";
  const accept = req.headers.accept ?? "";
  if (path === "/version") return send(res, 200, VERSION_INFO);
  if (path === "/healthz" || path === "/readyz" || path === "/livez")
    return sendText(res, 200, "ok");
  if (path === "/openapi/v3") return send(res, 200, openapiRoot());
  if (path.startsWith("/openapi/v3/")) {
    const doc = openapiGroupVersion(path.slice("/openapi/v3/".length));
    if (!doc) throw notFoundPath();
    return send(res, 200, doc);
  }
  if (path === "/api" || path === "/apis") {
    if (accept.includes("as=APIGroupDiscoveryList"))
      return send(
        res,
        200,
        aggregated(path === "/api"),
        "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
      );
    return send(res, 200, path === "/api" ? coreVersions(deps.serverAddress()) : groupList());
  }
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === "api") {
    group = "";
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === "apis") {
    group = parts[1]!;
    if (parts.length === 2) {
      if (!resourceList(group, "v1")) throw notFoundPath();
      return send(res, 200, apiGroup(group));
    }
    version = parts[2]!;
    rest = parts.slice(3);
  } else throw notFoundPath();
  if (rest.length === 0) {
    const list = resourceList(group, version);
    if (!list) throw notFoundPath();
    return send(res, 200, list);
  }
  const target = parseTarget(group, version, rest);
  const query = url.searchParams;
  const verb = verbOf(req.method ?? "GET", target, query);
  const rbacName = target.subresource
    ? `${target.type.plural}/${target.subresource}`
    : target.type.plural;
  if (deps.faults.isForbidden(verb, rbacName, target.namespace))
    throw forbidden(
      target.type,
      target.name,
      `User "system:serviceaccount:${target.namespace ?? "default"}:default" cannot ${verb} resource "${rbacName}" in API group "${target.type.group}"${target.namespace ? ` in the namespace "${target.namespace}"` : " at the cluster scope"}`,
    );
  await serve(req, res, verb, target, query, body, deps);
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  verb: string,
  target: Target,
  query: URLSearchParams,
  body: string,
  deps: RouteDeps,
): Promise<void> {
  const { api } = deps;
  const { type, namespace, name } = target;
  const dryRun = query.getAll("dryRun").includes("All");
  const fieldManager = query.get("fieldManager") ?? undefined;
  const directive = query.get("fieldValidation");
  if (directive && !["Strict", "Warn", "Ignore"].includes(directive))
    throw badRequest(
      `fieldValidation must be one of "Ignore", "Warn", or "Strict", got "${directive}"`,
    );
  const warnings: string[] = [];
  const validation = {
    warnings,
    ...(directive ? { fieldValidation: directive as FieldValidation } : {}),
  };
  const headers = (): Record<string, string[]> =>
    warnings.length ? { warning: warnings.map((w) => `299 - ${JSON.stringify(w)}`) } : {};
  const accept = req.headers.accept ?? "";
  switch (verb) {
    case "list": {
      const result = api.list(type, namespace, {
        labelSelector: query.get("labelSelector") ?? undefined,
        fieldSelector: query.get("fieldSelector") ?? undefined,
        limit: query.has("limit") ? Number(query.get("limit")) : undefined,
        continue: query.get("continue") ?? undefined,
      });
      const items = result.items.map((o) => stripItem(withType(type, o)));
      if (accept.includes("as=Table"))
        return send(
          res,
          200,
          toTable(
            items.map((o) => withType(type, o)),
            result.resourceVersion,
            query.get("includeObject") ?? undefined,
          ),
        );
      return send(res, 200, {
        kind: `${type.kind}List`,
        apiVersion: type.group ? `${type.group}/${type.version}` : type.version,
        metadata: {
          resourceVersion: result.resourceVersion,
          ...(result.continue
            ? { continue: result.continue, remainingItemCount: result.remainingItemCount }
            : {}),
        },
        items,
      });
    }
    case "watch":
      return serveWatch(
        req,
        res,
        api.store,
        {
          type,
          namespace,
          resourceVersion: query.get("resourceVersion") ?? undefined,
          labelSelector: query.get("labelSelector") ?? undefined,
          fieldSelector: query.get("fieldSelector") ?? (name ? `metadata.name=${name}` : undefined),
          timeoutSeconds: query.has("timeoutSeconds")
            ? Number(query.get("timeoutSeconds"))
            : undefined,
          allowWatchBookmarks:
            query.get("allowWatchBookmarks") === "true" || query.get("allowWatchBookmarks") === "1",
          sendInitialEvents: query.get("sendInitialEvents") === "true",
        },
        {
          ...deps.watchDefaults,
          cutAfterSeconds: () => deps.faults.cutWatchesAfterSeconds,
          forceExpiry: () => deps.faults.takeWatchExpiry(),
          ...(accept.includes("as=Table")
            ? {
                asTable: (o: KubeObject) =>
                  toTable(
                    [o],
                    o.metadata.resourceVersion!,
                    query.get("includeObject") ?? undefined,
                  ),
              }
            : {}),
        },
      );
    case "get": {
      const object = api.get(type, namespace, name!);
      if (target.subresource === "log") return deps.logs(object, logRequest(query), res, req);
      if (accept.includes("as=Table"))
        return send(
          res,
          200,
          toTable(
            [object],
            object.metadata.resourceVersion!,
            query.get("includeObject") ?? undefined,
          ),
        );
      return send(res, 200, object);
    }
    case "create": {
      if (type.plural === "selfsubjectaccessreviews")
        return send(res, 201, review(parseBody(body, req), deps.faults));
      const object = await api.create(type, namespace, parseBody(body, req), {
        dryRun,
        fieldManager,
        ...validation,
      });
      return send(res, 201, object, "application/json", headers());
    }
    case "update": {
      const object = await api.update(type, namespace, name!, parseBody(body, req), {
        dryRun,
        fieldManager,
        subresource: target.subresource,
        ...validation,
      });
      return send(res, 200, object, "application/json", headers());
    }
    case "patch": {
      const contentType = req.headers["content-type"] ?? "";
      const existed = api.store.get(type, namespace, name!) !== undefined;
      const object = await api.patch(type, namespace, name!, contentType, body, {
        dryRun,
        fieldManager,
        force: query.get("force") === "true",
        subresource: target.subresource,
        ...validation,
      });
      return send(res, existed ? 200 : 201, object, "application/json", headers());
    }
    case "delete": {
      const options = body ? (parseBody(body, req) as Record<string, unknown>) : {};
      const object = await api.delete(type, namespace, name!, {
        propagationPolicy: (query.get("propagationPolicy") ?? options.propagationPolicy) as
          | "Orphan"
          | undefined,
        gracePeriodSeconds: query.has("gracePeriodSeconds")
          ? Number(query.get("gracePeriodSeconds"))
          : (options.gracePeriodSeconds as number | undefined),
        preconditions: options.preconditions as { uid?: string },
        dryRun,
      });
      return send(res, 200, object);
    }
    case "deletecollection": {
      const { items } = api.list(type, namespace, {
        labelSelector: query.get("labelSelector") ?? undefined,
        fieldSelector: query.get("fieldSelector") ?? undefined,
      });
      const options = body ? (parseBody(body, req) as Record<string, unknown>) : {};
      for (const o of items)
        await api.delete(type, o.metadata.namespace, o.metadata.name!, {
          propagationPolicy: (query.get("propagationPolicy") ?? options.propagationPolicy) as
            | "Orphan"
            | undefined,
        });
      return send(res, 200, {
        kind: `${type.kind}List`,
        apiVersion: type.group ? `${type.group}/v1` : "v1",
        metadata: {},
        items,
      });
    }
  }
  throw methodNotAllowed();
}

function stripItem(o: KubeObject): KubeObject {
  const { apiVersion: _a, kind: _k, ...rest } = o;
  return rest as KubeObject;
}

export function send(
  res: ServerResponse,
  code: number,
  body: unknown,
  contentType = "application/json",
  extraHeaders: Record<string, string | string[]> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(code, {
    ...extraHeaders,
    "content-type": contentType,
    "content-length": Buffer.byteLength(text),
  });
  res.end(text);
}

function sendText(res: ServerResponse, code: number, text: string): void {
  res.writeHead(code, { "content-type": "text/plain" });
  res.end(text);
}

/**
 * SelfSubjectAccessReview (`kubectl auth can-i`, a backend's start-up permission check):
 * everything is allowed except what the forbid fault refuses.
 */
function review(body: unknown, faults: Faults): object {
  const spec = (
    body as {
      spec?: {
        resourceAttributes?: {
          verb?: string;
          resource?: string;
          subresource?: string;
          namespace?: string;
        };
      };
    }
  ).spec;
  const a = spec?.resourceAttributes ?? {};
  const name = a.subresource ? `${a.resource}/${a.subresource}` : (a.resource ?? "");
  const denied = faults.isForbidden(a.verb ?? "", name, a.namespace || undefined);
  return {
    kind: "SelfSubjectAccessReview",
    apiVersion: "authorization.k8s.io/v1",
    metadata: { creationTimestamp: null },
    spec,
    status: denied
      ? { allowed: false }
      : { allowed: true, reason: "the stand-in allows everything not forbidden" },
  };
}
