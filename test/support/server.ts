/** A real Slipway server on a loopback port, over a real store, with one user per role. */
import { writeFileSync } from "node:fs";
import path from "node:path";
import type { Settings } from "../../src/config/settings.js";
import { type RunningServer, startServer } from "../../src/server/start.js";
import { revokeApiKey } from "../../src/store/api-keys.js";
import { createApiKey, createUser } from "../../src/users/accounts.js";
import { type DialectName, freshDatabase, type TestDatabase } from "./stores.js";

export interface TestServer {
  url: string;
  server: RunningServer;
  settings: Settings;
  /** A .gcfg file naming this server's store, for `slipway ... --config`. */
  configFile: string;
  keys: { administrator: string; publisher: string; viewer: string; revoked: string };
  /** Calls the API with a key and a JSON body; returns status, headers and parsed body. */
  call(method: string, path: string, options?: CallOptions): Promise<CallResult>;
  /** Stops the server and starts a new one over the same store. */
  restart(): Promise<void>;
  close(): Promise<void>;
}

export interface CallOptions {
  key?: string | null;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

export interface CallResult {
  status: number;
  headers: Headers;
  body: any;
}

export async function startTestServer(
  dialect: DialectName = "sqlite",
  adjust: (settings: Settings) => void = () => {},
  options: { database?: TestDatabase; serverOptions?: Parameters<typeof startServer>[1] } = {},
): Promise<TestServer> {
  const database = options.database ?? (await freshDatabase(dialect));
  adjust(database.settings);
  let server = await startServer(database.settings, options.serverOptions);
  const keys = {
    administrator: (await createUser(server.store, "ada", "administrator")).apiKey,
    publisher: (await createUser(server.store, "pat", "publisher")).apiKey,
    viewer: (await createUser(server.store, "vic", "viewer")).apiKey,
    revoked: "",
  };
  const revoked = await createApiKey(server.store, "ada", "to-revoke");
  await revokeApiKey(server.store.db, revoked.guid);
  keys.revoked = revoked.apiKey;

  const configFile = path.join(database.settings.Server.DataDir, "slipway.gcfg");
  writeFileSync(configFile, `[Server]\nDataDir = ${database.settings.Server.DataDir}\n`);
  const test: TestServer = {
    url: server.url,
    server,
    settings: database.settings,
    configFile,
    keys,
    call: (method, apiPath, options) =>
      callApi(test.url, keys.administrator, method, apiPath, options),
    async restart() {
      await server.close();
      server = await startServer(database.settings, options.serverOptions);
      test.server = server;
      test.url = server.url;
    },
    async close() {
      await server.close();
      await database.drop();
    },
  };
  return test;
}

/** One API call as a client makes it, with `key` unless the options name another (or null). */
export async function callApi(
  url: string,
  key: string,
  method: string,
  apiPath: string,
  options: CallOptions = {},
): Promise<CallResult> {
  const headers: Record<string, string> = { ...options.headers };
  const given = options.key === undefined ? key : options.key;
  if (given !== null) headers.Authorization = `Key ${given}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["Content-Type"] = "application/json";
  } else if (body !== undefined) {
    headers["Content-Type"] ??= "application/json";
  }
  const response = await fetch(`${url}${apiPath}`, { method, headers, body });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? JSON.parse(text) : undefined,
  };
}
