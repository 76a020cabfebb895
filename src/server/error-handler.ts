/** The one place any error becomes Connect's `{code, error, payload}` body. */
import type { FastifyBaseLogger, FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { ApiError, isApiError } from "../errors.js";
import type { StoreDialect } from "../store/dialect/dialect.js";
import { type FieldRules, validationError } from "./validation.js";

/** Error codes of the file system that mean "no room left", whatever wrote the file. */
const FILE_SYSTEM_FULL = new Set(["ENOSPC", "EDQUOT"]);

export function toApiError(
  error: FastifyError | Error,
  fieldRules?: FieldRules,
  dialect?: Pick<StoreDialect, "isStorageFull">,
): ApiError {
  if (isApiError(error)) return error;
  const full = storageFullCause(error, dialect);
  if (full) {
    return new ApiError(
      "storageFull",
      `The server is out of storage (${full}), so this change was not made. Free space in the data folder or the database and try again.`,
      { cause: error },
    );
  }
  const e = error as FastifyError;
  if (e.validation) {
    return validationError(e.validation as never, e.validationContext ?? "body", fieldRules);
  }
  switch (e.code) {
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new ApiError("invalidJson", `The request body is not valid JSON: ${e.message}`);
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new ApiError(
        "cannotParseBody",
        "The request body is empty; a JSON object was expected.",
      );
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new ApiError("badRequest", "The request body is too large.", { status: 413 });
    case "FST_ERR_BAD_URL":
      return new ApiError(
        "badRequest",
        "The URL is not valid: each % must begin an escape of two hex digits that decodes to UTF-8.",
      );
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new ApiError("cannotParseBody", `Unsupported Content-Type: ${e.message}`, {
        status: 415,
      });
  }
  if (error instanceof SyntaxError && e.statusCode === 400) {
    return new ApiError("invalidJson", `The request body is not valid JSON: ${error.message}`);
  }
  if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500) {
    return new ApiError("badRequest", e.message, { status: e.statusCode });
  }
  return new ApiError(
    "internal",
    "Internal error; the server log has the details under this request's correlation id.",
    {
      cause: error,
    },
  );
}

/**
 * The driver's or file system's own words when the error, or any error it was caused by,
 * means the disk is full; a failed cleanup must not hide that.
 */
function storageFullCause(
  error: unknown,
  dialect: Pick<StoreDialect, "isStorageFull"> | undefined,
): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if ((code && FILE_SYSTEM_FULL.has(code)) || dialect?.isStorageFull(e)) {
      return `${code ?? e.name}: ${e.message}`;
    }
  }
  return undefined;
}

/** The log line of an error answer: a failure is the server's to look at, a refusal is not. */
export function logAnswered(log: FastifyBaseLogger, error: Error, apiError: ApiError): void {
  if (apiError.status >= 500) log.error({ err: error }, "request failed");
  else log.info({ code: apiError.code, error: apiError.message }, "request refused");
}

/** The handler for one store: it knows that store's way of saying the disk is full. */
export function errorHandler(dialect?: Pick<StoreDialect, "isStorageFull">) {
  return (error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) => {
    const apiError = toApiError(error, request.routeOptions.config?.fieldRules, dialect);
    logAnswered(request.log, error, apiError);
    return reply
      .status(apiError.status)
      .headers(apiError.headers)
      .type("application/json")
      .send(apiError.toBody());
  };
}
