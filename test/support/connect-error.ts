/** What every error answer must look like: Connect's `{code, error, payload}` as JSON. */
import { expect } from "vitest";

export interface ErrorLike {
  status: number;
  body: unknown;
  headers?: Headers;
}

export function isConnectError(body: unknown): boolean {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return false;
  const { code, error, payload } = body as Record<string, unknown>;
  return (
    Number.isInteger(code) &&
    typeof error === "string" &&
    error.length > 0 &&
    (payload === null || (typeof payload === "object" && !Array.isArray(payload)))
  );
}

export function expectConnectError(result: ErrorLike, status: number, code?: number): void {
  expect(result.status, JSON.stringify(result.body)).toBe(status);
  expect(isConnectError(result.body), JSON.stringify(result.body)).toBe(true);
  if (code !== undefined) expect((result.body as { code: number }).code).toBe(code);
  if (result.headers) expect(result.headers.get("content-type")).toMatch(/^application\/json/);
}
