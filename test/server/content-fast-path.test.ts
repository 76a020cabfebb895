/**
 * The content fast path answers exactly as the content route does. Two servers run the same
 * app (a WSGI app under gunicorn, through Slipway's launcher): one with the fast path, one
 * with every request through Fastify's content route. Each request of a table goes to both,
 * and the answers (status, headers, body, what reached the app) must be the same once the
 * servers' own addresses and guids are set aside. The fast server's counter of requests it
 * took shows which went the fast way; the other's stays at zero.
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appAddress, createContent, deployOnHostPython } from "../support/deploy.js";
import { type RawAnswer, rawCall } from "../support/raw-http.js";
import { startTestServer, type TestServer } from "../support/server.js";

const APP = `import json

def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path.startswith("/status/"):
        start_response(path[8:] + " Whatever", [("Content-Type", "text/plain")])
        return [b"as asked"]
    if path == "/away":
        start_response("302 Found", [("Location", "/__api__/v1/users")])
        return [b""]
    if path == "/empty":
        start_response("204 No Content", [])
        return []
    seen = {k[5:].lower().replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
    out = json.dumps({"method": environ["REQUEST_METHOD"], "path": path,
                      "query": environ.get("QUERY_STRING"), "headers": seen}, sort_keys=True)
    start_response("200 OK", [
        ("Content-Type", "application/json"),
        ("Set-Cookie", "slipway_session=forged; Path=/"),
        ("Set-Cookie", "theme=dark; Path=/; Domain=example.com"),
        ("X-Correlation-ID", "from-the-app"),
        ("X-App", "yes"),
    ])
    return [out.encode()]
`;

interface Side {
  server: TestServer;
  /** Its log, a parsed line each. */
  log: LogLine[];
  guid: string;
  /** The app's own address, which the app sees as its Host. */
  upstream: string;
  /** Open to anyone, for anonymous requests. */
  openGuid: string;
  openUpstream: string;
  /** Created, never deployed. */
  undeployedGuid: string;
}

interface LogLine {
  correlation_id?: string;
  msg: string;
  req: Record<string, unknown>;
  res: Record<string, unknown>;
  responseTime: number;
  [field: string]: unknown;
}

interface Case {
  name: string;
  method?: string;
  /** Under the content URL, from its trailing slash. */
  path: string;
  key?: "administrator" | "publisher" | "viewer" | "revoked" | "bogus" | "none";
  /** Which item: the signed-in users' app (the default), one open to all, or one not deployed. */
  item?: "open" | "undeployed";
  headers?: Record<string, string>;
  body?: string;
  /** Whether the fast path takes it (the rest are the content route's). */
  fast: boolean;
}

const CASES: Case[] = [
  { name: "a GET with a key", path: "echo?x=1&y=%20z", key: "administrator", fast: true },
  { name: "a viewer's key", path: "echo", key: "viewer", fast: true },
  { name: "HEAD", method: "HEAD", path: "echo", key: "publisher", fast: true },
  { name: "DELETE", method: "DELETE", path: "echo", key: "publisher", fast: true },
  { name: "OPTIONS", method: "OPTIONS", path: "echo", key: "publisher", fast: true },
  {
    name: "Slipway's cookies beside the app's, with a key",
    path: "echo",
    key: "publisher",
    headers: { Cookie: "slipway_session=abc; theme=light; slipway_content=x" },
    fast: true,
  },
  {
    name: "hop-by-hop headers",
    path: "echo",
    key: "publisher",
    headers: { Connection: "keep-alive, x-secret", "X-Secret": "1", TE: "trailers" },
    fast: true,
  },
  {
    name: "the client's correlation id",
    path: "echo",
    key: "publisher",
    headers: { "X-Correlation-ID": "fast-path-1" },
    fast: true,
  },
  { name: "an app's 500", path: "status/500", key: "publisher", fast: true },
  { name: "an app's 204", path: "empty", key: "publisher", fast: true },
  { name: "a redirect outside the content", path: "away", key: "publisher", fast: true },
  { name: "the content's root", path: "", key: "publisher", fast: true },
  { name: "anonymous, content open to all", path: "echo", key: "none", item: "open", fast: true },
  {
    name: "anonymous with the app's cookie, open content",
    path: "echo",
    key: "none",
    item: "open",
    headers: { Cookie: "theme=light" },
    fast: true,
  },
  {
    name: "content that is not deployed",
    path: "echo",
    key: "publisher",
    item: "undeployed",
    fast: true,
  },
  { name: "a revoked key", path: "echo", key: "revoked", fast: false },
  { name: "a key that is not one", path: "echo", key: "bogus", fast: false },
  { name: "no key, signed-in content", path: "echo", key: "none", fast: false },
  {
    name: "a browser without a session",
    path: "echo",
    key: "none",
    headers: { Accept: "text/html" },
    fast: false,
  },
  {
    name: "a session cookie that is no session, open content",
    path: "echo",
    key: "none",
    item: "open",
    headers: { Cookie: "slipway_session=nothing" },
    fast: false,
  },
  { name: "an escaped path", path: "a%20b", key: "publisher", fast: false },
  { name: "an empty segment", path: "a//b", key: "publisher", fast: false },
  { name: "a NUL in the query", path: "echo?x=%00", key: "publisher", fast: false },
  {
    name: "a body",
    method: "POST",
    path: "echo",
    key: "publisher",
    body: "hello",
    headers: { "Content-Type": "text/plain" },
    fast: false,
  },
  { name: "a draft preview", path: "_bundle1/echo", key: "publisher", fast: false },
  { name: "a pass segment", path: "__pass__/x/echo", key: "publisher", fast: false },
];

/** What must match: the answer with this side's addresses, guids and per-request ids named. */
function normalized(answer: RawAnswer, side: Side, givenId: boolean): string {
  const { date: _, "x-correlation-id": id, "keep-alive": _k, ...headers } = answer.headers;
  const text = JSON.stringify({
    status: answer.status,
    id: givenId ? id : typeof id,
    headers: Object.entries(headers).sort(([a], [b]) => a.localeCompare(b)),
    body: answer.body.toString(),
  });
  return text
    .replaceAll(side.guid, "GUID")
    .replaceAll(side.openGuid, "GUID")
    .replaceAll(side.undeployedGuid, "GUID")
    .replaceAll(side.upstream, "UPSTREAM")
    .replaceAll(side.openUpstream, "UPSTREAM")
    .replaceAll(new URL(side.server.url).host, "SLIPWAY")
    .replace(/"request_id":"[^"]*"/g, "");
}

async function directCount(server: TestServer): Promise<number> {
  const text = await (await fetch(`${server.server.metricsUrl}/metrics`)).text();
  return Number(/^slipway_content_requests_direct_total (\d+)/m.exec(text)?.[1] ?? Number.NaN);
}

const gunicorn = existsSync("/usr/lib/python3/dist-packages/gunicorn");

describe.skipIf(!gunicorn)("the content fast path", () => {
  let fast: Side;
  let routed: Side;

  async function side(contentFastPath: boolean): Promise<Side> {
    const log: LogLine[] = [];
    const server = await startTestServer(
      "sqlite",
      (s) => {
        s.Scheduler.IdleTimeout = 3600;
        s.Metrics.PrometheusListen = "127.0.0.1:0";
        s.Server.LogLevel = "info";
      },
      {
        serverOptions: {
          contentFastPath,
          logDestination: { write: (text) => void log.push(JSON.parse(text)) },
        },
      },
    );
    const item = await deployOnHostPython(server, "fast-path", "python-api", APP);
    const open = await deployOnHostPython(server, "fast-path-open", "python-api", APP, {
      access_type: "all",
    });
    return {
      server,
      log,
      guid: item.guid,
      upstream: await appAddress(server.server.store.db, item.guid),
      openGuid: open.guid,
      openUpstream: await appAddress(server.server.store.db, open.guid),
      undeployedGuid: (await createContent(server, "fast-path-undeployed")).guid,
    };
  }

  beforeAll(async () => {
    [fast, routed] = await Promise.all([side(true), side(false)]);
  }, 240_000);
  afterAll(async () => {
    await fast?.server.close();
    await routed?.server.close();
  });

  async function ask(s: Side, c: Case): Promise<string> {
    const headers: Record<string, string> = { ...c.headers };
    const key =
      c.key === "bogus" ? "Bearer nothing" : c.key && c.key !== "none" ? s.server.keys[c.key] : "";
    if (key) headers.Authorization = key.startsWith("Bearer") ? key : `Key ${key}`;
    const guid =
      c.item === "open" ? s.openGuid : c.item === "undeployed" ? s.undeployedGuid : s.guid;
    const answer = await rawCall(`${s.server.url}/content/${guid}/${c.path}`, {
      method: c.method,
      headers,
      body: c.body,
    });
    return normalized(answer, s, c.headers?.["X-Correlation-ID"] !== undefined);
  }

  for (const c of CASES) {
    it(`${c.name}: the same answer either way${c.fast ? ", taken by the fast path" : ""}`, async () => {
      const [before, routedBefore] = await Promise.all([
        directCount(fast.server),
        directCount(routed.server),
      ]);
      const [viaFast, viaRoute] = await Promise.all([ask(fast, c), ask(routed, c)]);
      expect(viaFast).toBe(viaRoute);
      expect(await directCount(fast.server)).toBe(before + (c.fast ? 1 : 0));
      expect(await directCount(routed.server)).toBe(routedBefore);
    });
  }

  it("logs one line per request as the content route does, with the request, answer and id", async () => {
    const lines = await Promise.all(
      [fast, routed].map(async (s, i) => {
        const id = `fast-path-log-${i}`;
        const answer = await rawCall(`${s.server.url}/content/${s.guid}/echo?a=1`, {
          headers: { Authorization: `Key ${s.server.keys.publisher}`, "X-Correlation-ID": id },
        });
        expect(answer.status).toBe(200);
        const mine = s.log.filter((line) => line.correlation_id === id);
        expect(mine).toHaveLength(1);
        return mine[0]!;
      }),
    );
    const [viaFast, viaRoute] = lines.map((line) => ({
      ...line,
      time: typeof line.time,
      pid: typeof line.pid,
      correlation_id: typeof line.correlation_id,
      responseTime: typeof line.responseTime,
      req: {
        ...line.req,
        host: typeof line.req.host,
        remotePort: typeof line.req.remotePort,
        url: typeof line.req.url,
      },
    }));
    expect(viaFast).toEqual(viaRoute);
    expect(viaFast).toMatchObject({
      msg: "request completed",
      level: 30,
      req: { method: "GET", remoteAddress: "127.0.0.1" },
      res: { statusCode: 200 },
    });
    expect(lines[0]!.req.url).toBe(`/content/${fast.guid}/echo?a=1`);
    expect(lines[0]!.responseTime).toBeGreaterThan(0);
  });
});

describe.skipIf(!gunicorn)("the content fast path behind a trusted proxy", () => {
  let server: TestServer;
  let url: string;

  beforeAll(async () => {
    server = await startTestServer("sqlite", (s) => {
      s.Scheduler.IdleTimeout = 3600;
      s.Metrics.PrometheusListen = "127.0.0.1:0";
      s.Server.TrustedProxies = ["127.0.0.1"];
    });
    url = (await deployOnHostPython(server, "fast-path-proxied", "python-api", APP)).content_url;
  }, 180_000);
  afterAll(() => server?.close());

  it("leaves requests to the route, which reads the scheme the proxy forwarded", async () => {
    const answer = await rawCall(`${url}echo`, {
      headers: {
        Authorization: `Key ${server.keys.publisher}`,
        "X-Forwarded-Proto": "http, https",
      },
    });
    expect(answer.status).toBe(200);
    expect(answer.headers["content-security-policy"]).toContain("connect-src https://");
    expect(await directCount(server)).toBe(0);
  });
});
