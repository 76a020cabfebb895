/**
 * The API server's `Status` failures. Every refusal the stand-in gives is one of these, in
 * the exact shape client-node and kubectl parse (reason, code, details.causes).
 */
import type { ResourceType } from "./resources.js";
import { qualifiedKind, qualifiedName } from "./resources.js";

export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

export interface StatusBody {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, never>;
  status: "Failure";
  message: string;
  reason: string;
  details?: { name?: string; group?: string; kind?: string; causes?: StatusCause[] };
  code: number;
}

export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusBody["details"],
  ) {
    super(message);
  }

  body(): StatusBody {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

function details(type: ResourceType, name: string | undefined) {
  return { ...(name ? { name } : {}), group: type.group, kind: type.plural };
}

export function notFound(type: ResourceType, name: string): StatusError {
  return new StatusError(
    404,
    "NotFound",
    `${qualifiedName(type)} "${name}" not found`,
    details(type, name),
  );
}

export function alreadyExists(type: ResourceType, name: string): StatusError {
  return new StatusError(
    409,
    "AlreadyExists",
    `${qualifiedName(type)} "${name}" already exists`,
    details(type, name),
  );
}

export function conflict(type: ResourceType, name: string, why: string): StatusError {
  return new StatusError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${qualifiedName(type)} "${name}": ${why}`,
    details(type, name),
  );
}

export function invalid(type: ResourceType, name: string, causes: StatusCause[]): StatusError {
  const list = causes.map((c) => `${c.field ? `${c.field}: ` : ""}${c.message}`);
  const summary = list.length === 1 ? list[0] : `[${list.join(", ")}]`;
  return new StatusError(
    422,
    "Invalid",
    `${qualifiedKind(type)} "${name}" is invalid: ${summary}`,
    {
      name,
      group: type.group,
      kind: type.kind,
      causes,
    },
  );
}

export function forbidden(
  type: ResourceType,
  name: string | undefined,
  why: string,
  subresource?: string,
): StatusError {
  const what = subresource ? `${qualifiedName(type)}/${subresource}` : qualifiedName(type);
  return new StatusError(
    403,
    "Forbidden",
    `${what}${name ? ` "${name}"` : ""} is forbidden: ${why}`,
    details(type, name),
  );
}

export function badRequest(message: string): StatusError {
  return new StatusError(400, "BadRequest", message);
}

export function expired(message: string): StatusError {
  return new StatusError(410, "Expired", message);
}

export function gone(message: string): StatusError {
  return new StatusError(410, "Gone", message);
}

export function methodNotAllowed(): StatusError {
  return new StatusError(
    405,
    "MethodNotAllowed",
    "the server does not allow this method on the requested resource",
  );
}

export function unsupportedMediaType(contentType: string): StatusError {
  return new StatusError(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got ${contentType})`,
  );
}
