/** The dashboard's only way to the server: the public API, with the session's CSRF token. */

export interface ApiErrorBody {
  code: number;
  error: string;
  payload: { field?: string } | null;
}

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiErrorBody,
  ) {
    super(body.error);
  }
}

export function describeFailure(error: unknown): string {
  return error instanceof ApiFailure ? error.body.error : String(error);
}

let csrfToken: string | null = null;
const KEY = "slipway.apiKey";

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

export function apiKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function setApiKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY, key);
  else sessionStorage.removeItem(KEY);
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  const key = apiKey();
  if (key) headers.Authorization = `Key ${key}`;
  else if (csrfToken && method !== "GET") headers["X-CSRF-Token"] = csrfToken;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/__api__${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: "same-origin",
  });
  if (response.status === 204) return undefined as T;
  const parsed = await response
    .json()
    .catch(() => ({ code: 1, error: response.statusText, payload: null }));
  if (!response.ok) throw new ApiFailure(response.status, parsed as ApiErrorBody);
  return parsed as T;
}

/*
 * The shapes the server answers with come from its own TypeBox schemas, so the dashboard
 * cannot drift from the API: change a schema and the dashboard's type check follows.
 */
export type { Job, JobLog } from "../../src/content/job-model";
export type { Bundle, Content, ContentDefaults, Task } from "../../src/content/model";
export type { RuntimeCache } from "../../src/content/runtime-cache-model";
export type { Tag, Vanity } from "../../src/content/tag-model";
export type { RuntimeCoverage } from "../../src/environments/coverage";
export type { Environment, Installation } from "../../src/environments/model";
export type { SelectionAnswer } from "../../src/environments/selection-answer";
export type { Group, Paged, User as Person } from "../../src/users/directory-model";
export type { ContentPermission, EnvironmentPermission } from "../../src/users/permission-model";

import type { Role } from "../../src/users/roles";

export interface User {
  guid: string;
  username: string;
  user_role: Role;
}

export type Runtime = "python" | "r" | "quarto";
export const RUNTIMES: Runtime[] = ["python", "r", "quarto"];
export const RUNTIME_LABEL: Record<Runtime, string> = {
  python: "Python",
  r: "R",
  quarto: "Quarto",
};

/** Owners, collaborators ("editor") and administrators may change a content item. */
export function mayChange(content: { app_role: string }): boolean {
  return content.app_role === "owner" || content.app_role === "editor";
}
