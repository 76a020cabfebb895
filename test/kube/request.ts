/**
 * Reading a request: the Kubernetes path into kind, namespace, name and subresource; the
 * verb; the log options; the body (JSON, or the protobuf of client-go's typed clients).
 */
import type { IncomingMessage } from "node:http";
import { decodeProtobuf } from "./protobuf.js";
import { findResource, type ResourceType, resource } from "./resources.js";
import { badRequest, methodNotAllowed, StatusError } from "./status-error.js";

export interface LogRequest {
  container?: string;
  follow: boolean;
  tailLines?: number;
  sinceSeconds?: number;
  timestamps: boolean;
  previous: boolean;
}

export interface Target {
  type: ResourceType;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export function parseTarget(group: string, version: string, rest: string[]): Target {
  if (rest[0] === "namespaces" && rest.length >= 3) {
    const candidate = findResource(group, version, rest[2]!);
    if (candidate?.namespaced)
      return { type: candidate, namespace: rest[1], name: rest[3], subresource: rest[4] };
    if (group === "" && rest.length === 3 && rest[2] === "status")
      return { type: resource("namespaces"), name: rest[1], subresource: "status" };
    throw notFoundPath();
  }
  const type = findResource(group, version, rest[0]!);
  if (!type || (type.namespaced && rest.length > 1)) throw notFoundPath();
  return { type, name: rest[1], subresource: rest[2] };
}

export function verbOf(method: string, target: Target, query: URLSearchParams): string {
  const watching = query.get("watch") === "true" || query.get("watch") === "1";
  switch (method) {
    case "GET":
      if (watching) return "watch";
      return target.name ? "get" : "list";
    case "POST":
      if (target.name) throw methodNotAllowed();
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return target.name ? "delete" : "deletecollection";
  }
  throw methodNotAllowed();
}

export function logRequest(query: URLSearchParams): LogRequest {
  const flag = (k: string) => query.get(k) === "true" || query.get(k) === "1";
  return {
    container: query.get("container") ?? undefined,
    follow: flag("follow"),
    tailLines: query.has("tailLines") ? Number(query.get("tailLines")) : undefined,
    sinceSeconds: query.has("sinceSeconds") ? Number(query.get("sinceSeconds")) : undefined,
    timestamps: flag("timestamps"),
    previous: flag("previous"),
  };
}

/** List items carry no kind or apiVersion, as the API server's lists. */
/** JSON, or the protobuf of client-go's typed clients for the few kinds kubectl creates that way. */
export function parseBody(body: string, req: IncomingMessage): unknown {
  if (!body) throw badRequest("the request has no body");
  const type = req.headers["content-type"] ?? "application/json";
  if (type.includes("protobuf")) return decodeProtobuf(Buffer.from(body, "latin1"));
  try {
    return JSON.parse(body);
  } catch (error) {
    throw badRequest(`error decoding JSON: ${(error as Error).message}`);
  }
}

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    // Protobuf bodies are binary: kept byte for byte (latin1) until parseBody decodes them.
    req.on("end", () => {
      const all = Buffer.concat(chunks);
      const binary = String(req.headers["content-type"] ?? "").includes("protobuf");
      resolve(all.toString(binary ? "latin1" : "utf8"));
    });
    req.on("error", reject);
  });
}

export function notFoundPath(): StatusError {
  return new StatusError(404, "NotFound", "the server could not find the requested resource");
}
