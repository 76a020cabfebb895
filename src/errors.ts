/**
 * The one error type of Slipway. Services throw it; the HTTP layer maps it to Connect's
 * error body `{code, error, payload}` in exactly one place; the CLI prints its sentence.
 */

/** Every Connect error code Slipway answers with, and the HTTP status it travels with. */
export const ERROR_CODES = {
  internal: { code: 1, status: 500 },
  badRequest: { code: 2, status: 400 },
  invalidId: { code: 3, status: 404 },
  notFound: { code: 4, status: 404 },
  parameterMissing: { code: 12, status: 400 },
  permissionDenied: { code: 22, status: 403 },
  authenticationRequired: { code: 24, status: 401 },
  invalidParameter: { code: 25, status: 400 },
  bundleMissing: { code: 28, status: 404 },
  invalidApiKey: { code: 30, status: 401 },
  invalidManifest: { code: 38, status: 400 },
  cannotParseBody: { code: 87, status: 400 },
  versionMismatch: { code: 106, status: 409 },
  prohibitedEnvironment: { code: 108, status: 409 },
  invalidJson: { code: 121, status: 400 },
  taskNotFound: { code: 141, status: 404 },
  invalidEnvironmentTitle: { code: 168, status: 400 },
  invalidEnvironmentDescription: { code: 169, status: 400 },
  invalidClusterName: { code: 170, status: 400 },
  invalidEnvironmentName: { code: 171, status: 400 },
  unknownMatching: { code: 172, status: 400 },
  invalidInstallationPath: { code: 173, status: 400 },
  invalidInstallationVersion: { code: 174, status: 400 },
  duplicateEnvironmentName: { code: 175, status: 409 },
  invalidSupervisor: { code: 177, status: 400 },
  invalidDefaultImage: { code: 193, status: 400 },
  managedByFile: { code: 265, status: 409 },
  // Conditions of the server rather than of the request: Connect's codes have no finer word
  // for them, so they travel as "bad request" or "internal failure" with a telling status.
  requestTimeout: { code: 2, status: 408 },
  serverBusy: { code: 1, status: 503 },
  storageFull: { code: 1, status: 507 },
} as const satisfies Record<string, { code: number; status: number }>;

export type ErrorKind = keyof typeof ERROR_CODES;

export class ApiError extends Error {
  readonly kind: ErrorKind;
  readonly code: number;
  readonly status: number;
  readonly payload: Record<string, unknown> | null;
  /** Response headers the answer needs, such as Retry-After. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(
    kind: ErrorKind,
    message: string,
    options: {
      payload?: Record<string, unknown> | null;
      status?: number;
      cause?: unknown;
      headers?: Record<string, string>;
    } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "ApiError";
    this.kind = kind;
    this.code = ERROR_CODES[kind].code;
    this.status = options.status ?? ERROR_CODES[kind].status;
    this.payload = options.payload ?? null;
    this.headers = options.headers ?? {};
  }

  toBody(): { code: number; error: string; payload: Record<string, unknown> | null } {
    return { code: this.code, error: this.message, payload: this.payload };
  }
}

export function isApiError(value: unknown): value is ApiError {
  return value instanceof ApiError;
}
