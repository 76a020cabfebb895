/**
 * Field validation of what clients send (`?fieldValidation=Strict|Warn|Ignore`): fields the
 * Kubernetes types do not declare. The declared fields come from client-node's generated
 * models (their attribute maps mirror the OpenAPI schemas of the same Kubernetes version),
 * because the compiled validators of kubernetes-models let unknown fields through.
 */
import * as models from "@kubernetes/client-node";
import { badRequest } from "./status-error.js";
import type { KubeObject } from "./types.js";

interface Attribute {
  baseName: string;
  type: string;
}
type Model = { getAttributeTypeMap?: () => Attribute[] };
const MODELS = models as unknown as Record<string, Model | undefined>;

/** client-node's model name for a kind: V1Pod, V1Job, CoreV1Event... */
function modelName(kind: string): string {
  return kind === "Event" ? "CoreV1Event" : `V1${kind}`;
}

/** The paths (`spec.containers[0].foo`) of fields the object's kind does not declare. */
export function unknownFields(object: KubeObject): string[] {
  const found: string[] = [];
  walk(object, modelName(object.kind), "", found);
  return found;
}

function walk(value: unknown, type: string, path: string, found: string[]): void {
  if (value === null || value === undefined) return;
  const array = /^Array<(.+)>$/.exec(type);
  if (array) {
    if (Array.isArray(value))
      for (const [i, v] of value.entries()) walk(v, array[1]!, `${path}[${i}]`, found);
    return;
  }
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(type);
  if (map) {
    if (typeof value === "object")
      for (const [k, v] of Object.entries(value)) walk(v, map[1]!, `${path}[${k}]`, found);
    return;
  }
  const attributes = MODELS[type]?.getAttributeTypeMap?.();
  if (!attributes || typeof value !== "object" || Array.isArray(value)) return;
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    const at = path ? `${path}.${key}` : key;
    const attribute = attributes.find((a) => a.baseName === key);
    if (!attribute) found.push(at);
    else walk(v, attribute.type, at, found);
  }
}

export type FieldValidation = "Strict" | "Warn" | "Ignore";

/**
 * Applies the directive: Strict refuses with the API server's 400, Warn returns the warnings
 * (sent as `Warning: 299` headers), Ignore lets everything through.
 */
export function checkFields(object: KubeObject, directive: FieldValidation): string[] {
  if (directive === "Ignore") return [];
  const unknown = unknownFields(object);
  if (!unknown.length) return [];
  if (directive === "Strict") {
    const version = object.apiVersion.split("/").pop();
    throw badRequest(
      `${object.kind} in version "${version}" cannot be handled as a ${object.kind}: strict decoding error: ${unknown.map((f) => `unknown field "${f}"`).join(", ")}`,
    );
  }
  return unknown.map((f) => `unknown field "${f}"`);
}
