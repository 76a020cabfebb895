/**
 * The CLI's HTTP client for a running Slipway (or Posit Connect) server. Server and key come
 * from flags or from CONNECT_SERVER / CONNECT_API_KEY, like the Connect clients.
 */
import { ApiError, ERROR_CODES, type ErrorKind } from "../errors.js";

export interface ServerOptions {
  server?: string;
  apiKey?: string;
}

export class ApiClient {
  readonly baseUrl: string;
  readonly #apiKey: string;

  constructor(options: ServerOptions = {}, env: NodeJS.ProcessEnv = process.env) {
    const server = options.server ?? env.CONNECT_SERVER;
    const apiKey = options.apiKey ?? env.CONNECT_API_KEY;
    if (!server) throw new Error("No server given: pass --server URL or set CONNECT_SERVER.");
    if (!apiKey) throw new Error("No API key given: pass --api-key KEY or set CONNECT_API_KEY.");
    this.baseUrl = server.replace(/\/+$/, "").replace(/\/__api__$/, "");
    this.#apiKey = apiKey;
  }

  /** Calls `/__api__{path}` and returns the parsed JSON body (undefined for 204). */
  request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return body === undefined
      ? this.#send<T>(method, path)
      : this.#send<T>(method, path, JSON.stringify(body), "application/json");
  }

  /** Uploads a gzip tar bundle. */
  upload<T>(path: string, archive: Buffer): Promise<T> {
    return this.#send<T>("POST", path, archive, "application/gzip");
  }

  async #send<T>(method: string, path: string, body?: string | Buffer, type?: string): Promise<T> {
    const headers: Record<string, string> = { Authorization: `Key ${this.#apiKey}` };
    if (type) headers["Content-Type"] = type;
    const response = await fetch(`${this.baseUrl}/__api__${path}`, { method, headers, body });
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    const parsed = text ? safeJson(text) : undefined;
    if (!response.ok) throw toApiError(response.status, parsed, text);
    return parsed as T;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function toApiError(status: number, body: unknown, text: string): ApiError {
  const b = body as { code?: unknown; error?: unknown; payload?: unknown } | undefined;
  const code = typeof b?.code === "number" ? b.code : undefined;
  const kind =
    (Object.entries(ERROR_CODES).find(([, v]) => v.code === code)?.[0] as ErrorKind | undefined) ??
    "internal";
  const message =
    typeof b?.error === "string" ? b.error : `HTTP ${status}: ${text.slice(0, 200) || "no body"}`;
  const payload =
    b?.payload && typeof b.payload === "object" ? (b.payload as Record<string, unknown>) : null;
  return new ApiError(kind, message, { payload, status });
}
