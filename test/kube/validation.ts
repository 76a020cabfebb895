/**
 * Validation of what clients send: the Kubernetes OpenAPI schemas (through the compiled
 * validators that the `kubernetes-models` package ships) plus the API server's own
 * semantic checks that a schema cannot express. Failures are 422 Invalid with causes.
 */
import type { V1Container, V1PodSpec } from "@kubernetes/client-node";
import { isQuantity, parseQuantity } from "./quantity.js";
import type { ResourceType } from "./resources.js";
import { invalid, type StatusCause } from "./status-error.js";
import type { KubeObject } from "./types.js";

interface AjvError {
  instancePath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

type Validator = ((data: unknown) => boolean) & { errors?: AjvError[] | null };

const GROUP_PREFIX: Record<string, string> = {
  "": "Core",
  apps: "Apps",
  batch: "Batch",
  "discovery.k8s.io": "Discovery",
  "rbac.authorization.k8s.io": "Rbac",
  "authorization.k8s.io": "Authorization",
};

const validators = new Map<string, Promise<Validator>>();

function schemaValidator(type: ResourceType): Promise<Validator> {
  const name = `IoK8sApi${GROUP_PREFIX[type.group]}V1${type.kind}`;
  let found = validators.get(name);
  if (!found) {
    found = import(`kubernetes-models/_schemas/${name}`).then(
      (m: { validate: Validator }) => m.validate,
    );
    validators.set(name, found);
  }
  return found;
}

/** Throws 422 Invalid when the object breaks its schema or the server's rules. */
export async function validateObject(
  type: ResourceType,
  object: KubeObject,
  old?: KubeObject,
): Promise<void> {
  const causes: StatusCause[] = [];
  const validate = await schemaValidator(type);
  if (!validate(object)) causes.push(...(validate.errors ?? []).map(toCause));
  causes.push(...semanticCauses(object, old));
  if (causes.length)
    throw invalid(type, object.metadata.name ?? object.metadata.generateName ?? "", dedupe(causes));
}

function dedupe(causes: StatusCause[]): StatusCause[] {
  const seen = new Set<string>();
  return causes.filter((c) => {
    const k = `${c.field}|${c.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function fieldPath(pointer: string): string {
  return pointer
    .split("/")
    .slice(1)
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"))
    .reduce((path, t) => (/^\d+$/.test(t) ? `${path}[${t}]` : path ? `${path}.${t}` : t), "");
}

function toCause(error: AjvError): StatusCause {
  const field = fieldPath(error.instancePath);
  if (error.keyword === "required") {
    const missing = String(error.params.missingProperty);
    return {
      reason: "FieldValueRequired",
      message: "Required value",
      field: field ? `${field}.${missing}` : missing,
    };
  }
  if (error.keyword === "enum")
    return {
      reason: "FieldValueNotSupported",
      message: `Unsupported value: supported values: ${(error.params.allowedValues as string[]).map((v) => `"${v}"`).join(", ")}`,
      field,
    };
  return {
    reason: "FieldValueInvalid",
    message: `Invalid value: ${error.message ?? error.keyword}`,
    field,
  };
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/** Kinds whose names must be DNS labels (63 characters, no dots). */
const LABEL_NAMED = new Set(["Namespace", "Service"]);

function semanticCauses(object: KubeObject, old?: KubeObject): StatusCause[] {
  const causes: StatusCause[] = [];
  const name = object.metadata.name;
  if (!name)
    causes.push({
      reason: "FieldValueRequired",
      message: "Required value: name or generateName is required",
      field: "metadata.name",
    });
  else if (
    LABEL_NAMED.has(object.kind)
      ? !DNS_LABEL.test(name) || name.length > 63
      : !DNS_SUBDOMAIN.test(name) || name.length > 253
  )
    causes.push({
      reason: "FieldValueInvalid",
      message: LABEL_NAMED.has(object.kind)
        ? `Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`
        : `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
      field: "metadata.name",
    });
  for (const [k, v] of Object.entries(object.metadata.labels ?? {}))
    if (typeof v === "string" && (!LABEL_VALUE.test(v) || v.length > 63))
      causes.push({
        reason: "FieldValueInvalid",
        message: `Invalid value: "${v}": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`,
        field: `metadata.labels.${k}`,
      });
  const spec = object.spec as Record<string, unknown> | undefined;
  if (object.kind === "Pod" && spec)
    causes.push(...podSpecCauses(spec as unknown as V1PodSpec, "spec"));
  if (
    object.kind === "Pod" &&
    spec &&
    old &&
    !podUpdateAllowed(old.spec as V1PodSpec, spec as unknown as V1PodSpec)
  )
    causes.push({
      reason: "FieldValueForbidden",
      message:
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
      field: "spec",
    });
  if (["Job", "Deployment", "ReplicaSet", "DaemonSet"].includes(object.kind) && spec) {
    const template = spec.template as
      | { spec?: V1PodSpec; metadata?: { labels?: Record<string, string> } }
      | undefined;
    if (template?.spec) causes.push(...podSpecCauses(template.spec, "spec.template.spec"));
    if (object.kind !== "Job") {
      const policy = template?.spec?.restartPolicy;
      if (policy && policy !== "Always")
        causes.push({
          reason: "FieldValueNotSupported",
          message: `Unsupported value: "${policy}": supported values: "Always"`,
          field: "spec.template.spec.restartPolicy",
        });
    }
    if (object.kind === "Job") {
      const policy = template?.spec?.restartPolicy;
      if (policy !== "Never" && policy !== "OnFailure")
        causes.push({
          reason:
            policy === undefined || policy === "Always"
              ? "FieldValueRequired"
              : "FieldValueNotSupported",
          message: `${policy === "Always" ? `Unsupported value: "Always"` : "Required value"}: valid values: "OnFailure", "Never"`,
          field: "spec.template.spec.restartPolicy",
        });
      if (
        old &&
        JSON.stringify((old.spec as Record<string, unknown>).template) !== JSON.stringify(template)
      )
        causes.push({
          reason: "FieldValueInvalid",
          message: "Invalid value: field is immutable",
          field: "spec.template",
        });
    }
  }
  if (object.kind === "Service" && spec) {
    const ports = (spec.ports ?? []) as { port?: number }[];
    if (spec.type !== "ExternalName" && spec.clusterIP !== "None" && ports.length === 0)
      causes.push({ reason: "FieldValueRequired", message: "Required value", field: "spec.ports" });
    ports.forEach((p, i) => {
      if (typeof p.port === "number" && (p.port < 1 || p.port > 65535))
        causes.push({
          reason: "FieldValueInvalid",
          message: `Invalid value: ${p.port}: must be between 1 and 65535, inclusive`,
          field: `spec.ports[${i}].port`,
        });
    });
    const oldIP = (old?.spec as { clusterIP?: string } | undefined)?.clusterIP;
    if (oldIP && spec.clusterIP && spec.clusterIP !== oldIP)
      causes.push({
        reason: "FieldValueInvalid",
        message: `Invalid value: "${spec.clusterIP}": field is immutable`,
        field: "spec.clusterIP",
      });
  }
  return causes;
}

function podSpecCauses(spec: V1PodSpec, at: string): StatusCause[] {
  const causes: StatusCause[] = [];
  if (!spec.containers?.length)
    causes.push({
      reason: "FieldValueRequired",
      message: "Required value",
      field: `${at}.containers`,
    });
  const volumes = new Set((spec.volumes ?? []).map((v) => v.name));
  const names = new Set<string>();
  const check = (c: V1Container, field: string) => {
    if (c.name && !DNS_LABEL.test(c.name))
      causes.push({
        reason: "FieldValueInvalid",
        message: `Invalid value: "${c.name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
        field: `${field}.name`,
      });
    if (c.name && names.has(c.name))
      causes.push({
        reason: "FieldValueDuplicate",
        message: `Duplicate value: "${c.name}"`,
        field: `${field}.name`,
      });
    if (c.name) names.add(c.name);
    if (!c.image)
      causes.push({
        reason: "FieldValueRequired",
        message: "Required value",
        field: `${field}.image`,
      });
    (c.volumeMounts ?? []).forEach((m, i) => {
      if (!volumes.has(m.name))
        causes.push({
          reason: "FieldValueNotFound",
          message: `Not found: "${m.name}"`,
          field: `${field}.volumeMounts[${i}].name`,
        });
      if (m.subPath && (m.subPath.startsWith("/") || m.subPath.split("/").includes("..")))
        causes.push({
          reason: "FieldValueInvalid",
          message: `Invalid value: "${m.subPath}": must be a relative path without '..'`,
          field: `${field}.volumeMounts[${i}].subPath`,
        });
    });
    for (const kind of ["limits", "requests"] as const)
      for (const [resource, value] of Object.entries(c.resources?.[kind] ?? {}))
        if (!isQuantity(value))
          causes.push({
            reason: "FieldValueInvalid",
            message: `Invalid value: "${value}": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
            field: `${field}.resources.${kind}[${resource}]`,
          });
    for (const [resource, request] of Object.entries(c.resources?.requests ?? {})) {
      const limit = c.resources?.limits?.[resource];
      if (
        limit !== undefined &&
        isQuantity(limit) &&
        isQuantity(request) &&
        parseQuantity(request) > parseQuantity(limit)
      )
        causes.push({
          reason: "FieldValueInvalid",
          message: `Invalid value: "${request}": must be less than or equal to ${resource} limit of ${limit}`,
          field: `${field}.resources.requests`,
        });
    }
  };
  for (const [i, c] of (spec.initContainers ?? []).entries())
    check(c, `${at}.initContainers[${i}]`);
  for (const [i, c] of (spec.containers ?? []).entries()) check(c, `${at}.containers[${i}]`);
  return causes;
}

/** A pod's spec is immutable but for images, the deadline, added tolerations and the grace period. */
function podUpdateAllowed(old: V1PodSpec, next: V1PodSpec): boolean {
  const mutable = (spec: V1PodSpec) => ({
    ...spec,
    containers: spec.containers?.map((c) => ({ ...c, image: undefined })),
    initContainers: spec.initContainers?.map((c) => ({ ...c, image: undefined })),
    activeDeadlineSeconds: undefined,
    tolerations: undefined,
    terminationGracePeriodSeconds: undefined,
    nodeName: undefined,
  });
  const added = (next.tolerations ?? []).slice(0, (old.tolerations ?? []).length);
  return (
    JSON.stringify(mutable(old)) === JSON.stringify(mutable(next)) &&
    JSON.stringify(added) === JSON.stringify(old.tolerations ?? [])
  );
}
