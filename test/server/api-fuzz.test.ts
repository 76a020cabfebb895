/**
 * Fuzzing the whole API over real sockets, on each database: generated methods on every
 * registered route, with hostile path parameters, queries, headers, cookies, keys of each
 * role (and none, revoked, garbage) and bodies. Whatever arrives, the server never answers
 * 5xx or hangs, and every error is in Connect's shape.
 */
import http from "node:http";
import { gzipSync } from "node:zlib";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tarGzOf } from "../support/bundles.js";
import { isConnectError } from "../support/connect-error.js";
import { fromSchema } from "../support/schema-arbitrary.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { STORE_DIALECTS } from "../support/stores.js";

/** Requests per database: a few thousand, within a minute or so on a busy 2-core machine. */
const RUNS = Number(process.env.SLIPWAY_FUZZ_RUNS ?? 2500);

const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;

/** Words that broke servers before: bad escapes, big numbers, prototype names, traversal. */
const HOSTILE_WORDS = [
  "",
  "%",
  "%zz",
  "%00",
  "%E0%A4%A",
  "%ff%fe",
  "..",
  "../../etc/passwd",
  "0",
  "-1",
  "1.5",
  "2147483647",
  "2147483648",
  "4294967296",
  "9007199254740993",
  "99999999999999999999",
  "1e309",
  "NaN",
  "null",
  "true",
  "[]",
  "{}",
  "constructor",
  "__proto__",
  "toString",
  "hasOwnProperty",
  "x".repeat(3000),
];

/** Words sent exactly as they are, unencoded: the point is that they are malformed. */
const RAW_WORDS = ["%", "%zz", "%E0%A4%A", "%ff", "a%2", "%%", "%c0%af"];

const text = fc.oneof(
  fc.constantFrom(...HOSTILE_WORDS),
  fc.string({ maxLength: 30 }),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.integer().map(String),
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map(String),
);

/** Percent-encodes every byte of the UTF-8 form but the unreserved ones (lone surrogates too). */
function encode(value: string): string {
  let out = "";
  for (const byte of Buffer.from(value, "utf8")) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** A generated value as a query parameter: objects as JSON, since some have no prototype. */
function asQueryValue(value: unknown): string {
  return typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);
}

const headerValue = fc.string({ unit: "grapheme-ascii", maxLength: 60 });

const KNOWN_KEYS = [
  "name",
  "title",
  "description",
  "matching",
  "supervisor",
  "python",
  "r",
  "quarto",
  "tensorflow",
  "nodejs",
  "volume_mounts",
  "cluster_name",
  "default_image_name",
  "default_environment_guid",
  "default_r_environment_management",
  "default_py_environment_management",
  "bundle_id",
  "activate",
  "manifest",
  "content_guid",
  "each",
  "text",
  "username",
  "password",
  "constructor",
  "__proto__",
  "toString",
  "hasOwnProperty",
  "valueOf",
];

interface Pool {
  environmentGuid: string;
  contentGuids: string[];
  bundleIds: string[];
  taskIds: string[];
}

interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
}

interface FuzzRoute {
  method: string;
  url: string;
  role: string | null;
  body?: object;
  querystring?: object;
}

const PROTOTYPE_NAMES = ["constructor", "toString", "hasOwnProperty", "valueOf", "__proto__"];
const RANK: Record<string, number> = { viewer: 0, publisher: 1, administrator: 2 };

/** Requests aimed at one route: its own method mostly, ids that exist, keys that may call it. */
function requests(route: FuzzRoute, pool: Pool, keys: TestServer["keys"]) {
  const known = (values: readonly string[]) =>
    values.length > 0 ? fc.constantFrom(...values) : text;
  const guids = route.url.includes("environments")
    ? [pool.environmentGuid]
    : [...pool.contentGuids, pool.environmentGuid];
  const segment = (name: string, destructive: boolean) => {
    // Existing ids reach deep into the handlers; deletes get none, so the pool survives the run.
    const real = destructive
      ? []
      : name === "guid"
        ? guids
        : name === "id"
          ? route.url.includes("tasks")
            ? pool.taskIds
            : pool.bundleIds
          : name === "runtime"
            ? ["python", "r", "quarto"]
            : [];
    return fc.oneof(
      { weight: real.length > 0 ? 6 : 0, arbitrary: known(real) },
      { weight: 3, arbitrary: text.map(encode) },
      { weight: 1, arbitrary: fc.constantFrom(...RAW_WORDS) },
    );
  };
  const jsonValue = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    text,
    known([...pool.contentGuids, pool.environmentGuid]),
  );
  const shaping = {
    hostile: jsonValue,
    extraKeys: [...PROTOTYPE_NAMES, "unknown_field", "a\u0000b"],
    known: (property: string): string[] =>
      property.endsWith("guid")
        ? [...pool.contentGuids, pool.environmentGuid]
        : property === "bundle_id"
          ? pool.bundleIds
          : property.endsWith("image_name") || property === "name"
            ? ["ghcr.io/org/fuzz:1"]
            : property === "cluster_name"
              ? ["Kubernetes"]
              : [],
  };
  const randomPairs = fc.array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom("first", "wait", "name", "owner_guid", "force", "source"),
        text.map(encode),
      ),
      fc.oneof(text.map(encode), fc.constantFrom(...RAW_WORDS), fc.integer().map(String)),
    ),
    { maxLength: 3 },
  );
  const shapedPairs = route.querystring
    ? fromSchema(route.querystring, shaping).map((v) =>
        Object.entries(typeof v === "object" && v !== null ? v : {})
          // A long-poll on a task that never ends would only measure the wait.
          .filter(([k]) => k !== "wait")
          .map(([k, value]) => [encode(k), encode(asQueryValue(value))] as const),
      )
    : fc.constant([]);
  const query = fc.tuple(shapedPairs, randomPairs).map(([shaped, random]) => {
    const pairs = [...shaped, ...random];
    return pairs.length === 0 ? "" : `?${pairs.map(([k, v]) => `${k}=${v}`).join("&")}`;
  });
  // Mostly keys that may call the route, so the handlers themselves are reached.
  const allowed = Object.entries({
    administrator: keys.administrator,
    publisher: keys.publisher,
    viewer: keys.viewer,
  })
    .filter(([role]) => route.role === null || RANK[role]! >= RANK[route.role]!)
    .map(([, key]) => `Key ${key}`);
  const authorization = fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...allowed) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(`Key ${keys.viewer}`, `Key ${keys.publisher}`),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        `Key ${keys.revoked}`,
        "Key not-a-key",
        "Bearer x",
        "Key",
        "Key a b",
        "",
      ),
    },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
  const headers = fc.record(
    {
      cookie: fc.oneof(
        fc.constantFrom("slipway_session=%", "slipway_session=%E0%A4%A", "slipway_session="),
        headerValue.map((v) => `slipway_session=${v}`),
        headerValue,
      ),
      "x-content-checksum": headerValue,
      "x-csrf-token": headerValue,
      "x-correlation-id": headerValue,
      accept: headerValue,
    },
    { requiredKeys: [] },
  );
  const contentType = (usual: string) =>
    fc.oneof(
      { weight: 7, arbitrary: fc.constant(usual) },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          "application/json; charset=utf-8",
          "text/plain",
          "application/gzip",
          "application/octet-stream",
          "multipart/form-data; boundary=x",
          "application/x-www-form-urlencoded",
        ),
      },
      { weight: 1, arbitrary: headerValue },
      { weight: 1, arbitrary: fc.constant(undefined) },
    );
  const json = (value: fc.Arbitrary<unknown>) =>
    fc.tuple(
      value.map((v) => Buffer.from(JSON.stringify(v) ?? "null")),
      contentType("application/json"),
    );
  const binary = (value: fc.Arbitrary<Buffer>) => fc.tuple(value, contentType("application/gzip"));
  const body: fc.Arbitrary<[Buffer | undefined, string | undefined]> = fc.oneof(
    { weight: route.body ? 14 : 0, arbitrary: json(fromSchema(route.body ?? {}, shaping)) },
    { weight: 2, arbitrary: fc.tuple(fc.constant(undefined), contentType("application/json")) },
    {
      weight: 2,
      arbitrary: json(
        fc.dictionary(fc.oneof(fc.constantFrom(...KNOWN_KEYS), text), jsonValue, { maxKeys: 5 }),
      ),
    },
    { weight: 1, arbitrary: json(fc.jsonValue()) },
    { weight: 1, arbitrary: binary(fc.string({ unit: "binary" }).map((s) => Buffer.from(s))) },
    { weight: 1, arbitrary: binary(fc.uint8Array({ maxLength: 2000 }).map((b) => Buffer.from(b))) },
    { weight: 1, arbitrary: binary(fc.uint8Array({ maxLength: 2000 }).map((b) => gzipSync(b))) },
  );
  const method = fc.oneof(
    { weight: 6, arbitrary: fc.constant(route.method) },
    { weight: 1, arbitrary: fc.constantFrom(...METHODS) },
  );
  const names = [...route.url.matchAll(/:(\w+)|\*/g)].map((m) => m[1] ?? "*");
  return fc
    .tuple(method, authorization, headers, body, query)
    .chain(([chosen, auth, h, [b, type], q]) =>
      fc
        .tuple(
          ...names.map((name) =>
            name === "*"
              ? fc.array(segment(name, true), { maxLength: 3 }).map((s) => s.join("/"))
              : segment(name, chosen === "DELETE"),
          ),
        )
        .map((values): FuzzRequest => {
          let i = 0;
          const path = route.url.replace(/:(\w+)|\*/g, () => values[i++] as string);
          const headers = Object.fromEntries(
            Object.entries({ ...h, authorization: auth, "content-type": type }).filter(
              (e): e is [string, string] => e[1] !== undefined,
            ),
          );
          return { method: chosen, path: `${path}${q}`, headers, body: b };
        }),
    );
}

function send(base: URL, agent: http.Agent, request: FuzzRequest) {
  return new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
    (resolve, reject) => {
      const outgoing = http.request(
        {
          host: base.hostname,
          port: base.port,
          method: request.method,
          path: request.path,
          // Node frames a GET, HEAD, DELETE or OPTIONS body only when told its length.
          headers: request.body
            ? { ...request.headers, "content-length": String(request.body.length) }
            : request.headers,
          agent,
          timeout: 30_000,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on("data", (c: Buffer) => chunks.push(c));
          response.on("end", () =>
            resolve({
              status: response.statusCode ?? 0,
              headers: response.headers,
              body: Buffer.concat(chunks).toString("utf8"),
            }),
          );
          response.on("error", reject);
        },
      );
      outgoing.on("timeout", () => outgoing.destroy(new Error("no answer within 30 s")));
      outgoing.on("error", reject);
      outgoing.end(request.body);
    },
  );
}

describe.each(STORE_DIALECTS)("fuzzing the API on %s", (dialect) => {
  let server: TestServer;
  let pool: Pool;
  beforeAll(async () => {
    server = await startTestServer(dialect);
    const environment = await server.call("POST", "/__api__/v1/environments", {
      body: { name: "ghcr.io/org/fuzz:1" },
    });
    pool = { environmentGuid: environment.body.guid, contentGuids: [], bundleIds: [], taskIds: [] };
    for (const [name, key] of [
      ["fuzz-a", server.keys.publisher],
      ["fuzz-b", server.keys.administrator],
    ] as const) {
      const content = await server.call("POST", "/__api__/v1/content", { key, body: { name } });
      pool.contentGuids.push(content.body.guid);
      const upload = await fetch(`${server.url}/__api__/v1/content/${content.body.guid}/bundles`, {
        method: "POST",
        headers: { Authorization: `Key ${key}` },
        body: tarGzOf({
          "manifest.json": JSON.stringify({ version: 1, metadata: { appmode: "static" } }),
          "index.html": "<p>fuzz</p>",
        }),
      });
      pool.bundleIds.push(((await upload.json()) as { id: string }).id);
    }
    const deploy = await server.call("POST", `/__api__/v1/content/${pool.contentGuids[0]}/deploy`, {
      key: server.keys.publisher,
      body: {},
    });
    pool.taskIds.push(deploy.body.task_id);
    const done = await server.call("GET", `/__api__/v1/tasks/${deploy.body.task_id}?wait=30`);
    expect(done.body.finished).toBe(true);
  }, 120_000);
  afterAll(() => server?.close());

  it(`answers about ${RUNS} generated requests without a 5xx, each error in Connect's shape`, async () => {
    const routes: FuzzRoute[] = server.server.app.declaredRoutes.flatMap((r) =>
      [r.method].flat().map((method) => ({
        method,
        url: r.url,
        role: r.config?.role ?? null,
        body: r.schema?.body as object | undefined,
        querystring: r.schema?.querystring as object | undefined,
      })),
    );
    const perRoute = Math.ceil(RUNS / routes.length);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
    const base = new URL(server.url);
    const statuses = new Map<number, number>();
    try {
      for (const route of routes) {
        await fc.assert(
          fc.asyncProperty(requests(route, pool, server.keys), async (request) => {
            const response = await send(base, agent, request);
            statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
            const what = `${request.method} ${request.path} → ${response.status} ${response.body.slice(0, 300)}`;
            expect(response.status, what).toBeLessThan(500);
            expect(response.headers["x-correlation-id"], what).toBeTruthy();
            if (response.status >= 400 && request.method !== "HEAD") {
              expect(response.headers["content-type"], what).toMatch(/^application\/json/);
              expect(isConnectError(JSON.parse(response.body)), what).toBe(true);
            }
          }),
          { numRuns: perRoute, endOnFailure: true },
        );
      }
    } finally {
      agent.destroy();
    }
    // The run reached past validation: some requests succeeded and each kind of refusal came up.
    expect([...statuses.keys()].some((s) => s < 300)).toBe(true);
    for (const status of [400, 401, 403, 404]) expect(statuses.get(status) ?? 0).toBeGreaterThan(0);
    const ping = await fetch(`${server.url}/__ping__`);
    expect(ping.status).toBe(200);
  }, 600_000);
});
