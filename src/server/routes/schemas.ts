/** Response shapes shared by several routes. */
import { Type } from "@sinclair/typebox";
import { MAX_ROW_ID } from "../validation.js";

export const ErrorBody = Type.Object(
  {
    code: Type.Integer(),
    error: Type.String(),
    payload: Type.Union([Type.Object({}, { additionalProperties: true }), Type.Null()]),
  },
  { description: "Connect's error shape." },
);

/** A bundle's id, as a number: what an integer column holds, so SQL never sees a larger one. */
export const RowId = Type.Integer({ minimum: 1, maximum: MAX_ROW_ID });
/** The same id as decimal text, as clients send it in JSON bodies. */
export const RowIdText = Type.String({
  format: "row-id",
  description: `A decimal id from 1 to ${MAX_ROW_ID}.`,
});
/** A line number or count in a query string, within an integer column's range. */
export const Count = Type.Integer({ minimum: 0, maximum: MAX_ROW_ID });

export const GuidParams = Type.Object({ guid: Type.String({ minLength: 1, maxLength: 64 }) });

/** Error responses a route may give, for the OpenAPI document. */
export const errors = { "4xx": ErrorBody, "5xx": ErrorBody } as const;
