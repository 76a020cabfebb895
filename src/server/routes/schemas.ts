/** Response shapes shared by several routes. */
import { Type } from "@sinclair/typebox";

export const ErrorBody = Type.Object(
  {
    code: Type.Integer(),
    error: Type.String(),
    payload: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
  },
  { description: "Connect's error shape." },
);

export const GuidParams = Type.Object({ guid: Type.String({ minLength: 1, maxLength: 64 }) });

/** Error responses a route may give, for the OpenAPI document. */
export const errors = { "4xx": ErrorBody, "5xx": ErrorBody } as const;
