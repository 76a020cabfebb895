/**
 * Request validation. Bodies are checked strictly (a number is never silently turned into a
 * string); query strings and path parameters are coerced, since they only ever arrive as text.
 * A failed check becomes an ApiError whose Connect code is chosen by the field that failed.
 */
import { Ajv, type ErrorObject } from "ajv";
import type { FastifySchemaCompiler } from "fastify";
import { FIELD_RULES } from "../environments/model.js";
import { ApiError, type ErrorKind } from "../errors.js";

const strict = new Ajv({ allErrors: false, coerceTypes: false, useDefaults: false, strict: false });
const coercing = new Ajv({
  allErrors: false,
  coerceTypes: "array",
  useDefaults: true,
  strict: false,
});

/** The largest value of an integer column on PostgreSQL: ids above it are refused before SQL. */
export const MAX_ROW_ID = 2_147_483_647;

for (const ajv of [strict, coercing]) {
  ajv.addFormat("row-id", {
    type: "string",
    validate: (text: string) => /^[1-9][0-9]{0,9}$/.test(text) && Number(text) <= MAX_ROW_ID,
  });
}

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === "body" ? strict : coercing).compile(schema as object);

export type FieldRules = Record<string, { kind: ErrorKind; rule?: string }>;

/** Environment fields whose problems have their own Connect code and a readable rule. */
export const ENVIRONMENT_FIELD_RULES: FieldRules = {
  title: { kind: "invalidEnvironmentTitle" },
  description: { kind: "invalidEnvironmentDescription" },
  cluster_name: { kind: "invalidClusterName" },
  name: { kind: "invalidEnvironmentName", rule: FIELD_RULES.name },
  matching: { kind: "unknownMatching", rule: FIELD_RULES.matching },
  path: { kind: "invalidInstallationPath", rule: FIELD_RULES.path },
  version: { kind: "invalidInstallationVersion", rule: FIELD_RULES.version },
  supervisor: { kind: "invalidSupervisor", rule: FIELD_RULES.supervisor },
};

/** Keywords whose own message ("must match pattern ...") says less than the field's rule. */
const RULE_KEYWORDS = new Set(["pattern", "format", "const", "enum"]);

export function validationError(
  errors: ErrorObject[],
  context: string,
  fieldRules: FieldRules = {},
): ApiError {
  const first = errors[0]!;
  const segments = first.instancePath.split("/").slice(1);
  const missing = first.keyword === "required" ? String(first.params.missingProperty) : undefined;
  if (missing) segments.push(missing);
  const field = [...segments].reverse().find((s) => !/^\d+$/.test(s));
  const where =
    segments.length > 0
      ? segments
          .map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`))
          .join("")
          .slice(1)
      : context;
  const rule = field && context === "body" ? fieldRules[field] : undefined;

  let sentence: string;
  if (missing) sentence = `${where} is required`;
  else if (first.keyword === "enum") {
    sentence = `${where} must be one of ${(first.params.allowedValues as string[]).join(", ")}`;
  } else if (RULE_KEYWORDS.has(first.keyword) && rule?.rule) {
    sentence = `${where} ${rule.rule}`;
  } else sentence = `${where} ${first.message ?? "is invalid"}`;

  const kind: ErrorKind =
    missing && !rule ? "parameterMissing" : (rule?.kind ?? "invalidParameter");
  return new ApiError(kind, `Invalid ${context === "body" ? "request" : context}: ${sentence}.`, {
    payload: { field: where },
  });
}
