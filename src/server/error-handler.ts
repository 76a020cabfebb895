/** The one place any error becomes Connect's `{code, error, payload}` body. */
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { ApiError, isApiError } from "../errors.js";
import { type FieldRules, validationError } from "./validation.js";

export function toApiError(error: FastifyError | Error, fieldRules?: FieldRules): ApiError {
  if (isApiError(error)) return error;
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

export function errorHandler(
  error: FastifyError | Error,
  request: FastifyRequest,
  reply: FastifyReply,
) {
  const apiError = toApiError(error, request.routeOptions.config?.fieldRules);
  if (apiError.status >= 500) request.log.error({ err: error }, "request failed");
  else request.log.info({ code: apiError.code, error: apiError.message }, "request refused");
  return reply.status(apiError.status).type("application/json").send(apiError.toBody());
}
