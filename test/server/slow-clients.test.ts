/**
 * Slow clients over real sockets: trickled headers and bodies are cut off with 408 in
 * Connect's shape and their connections closed, while an upload that keeps moving and a
 * long-poll are left alone, and uploads over the cap are told to come back.
 */
import { randomBytes } from "node:crypto";
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SERVER_LEASE, takeLease } from "../../src/store/leases.js";
import { insertTask } from "../../src/store/tasks.js";
import { tarGzOf } from "../support/bundles.js";
import { expectConnectError } from "../support/connect-error.js";
import { startTestServer, type TestServer } from "../support/server.js";

const MANIFEST = JSON.stringify({ version: 1, metadata: { appmode: "static" } });

interface RawExchange {
  socket: net.Socket;
  /** Everything the server sent, once it closed the connection. */
  closed: Promise<string>;
}

function connect(url: string, head: string): Promise<RawExchange> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => {
      let received = "";
      socket.on("data", (chunk) => {
        received += chunk.toString("utf8");
      });
      const closed = new Promise<string>((done) => socket.on("close", () => done(received)));
      socket.on("error", () => {});
      if (head) socket.write(head);
      resolve({ socket, closed });
    });
    socket.once("error", reject);
  });
}

/** Writes one piece every `everyMs` until told to stop or the server closes the connection. */
function trickle(socket: net.Socket, pieces: Buffer[], everyMs: number): () => void {
  let i = 0;
  const timer = setInterval(() => {
    if (socket.destroyed || i >= pieces.length) return clearInterval(timer);
    socket.write(pieces[i++]!);
  }, everyMs);
  socket.on("close", () => clearInterval(timer));
  return () => clearInterval(timer);
}

function bytes(text: string | Buffer): Buffer[] {
  const all = Buffer.from(text);
  return [...all].map((b) => Buffer.from([b]));
}

function chunks(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) out.push(data.subarray(at, at + size));
  return out;
}

/** The status and parsed JSON body of a raw HTTP/1.1 response. */
function parse(response: string): { status: number; head: string; body: unknown } {
  const [head = "", ...rest] = response.split("\r\n\r\n");
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  const text = rest.join("\r\n\r\n");
  return { status, head, body: text ? JSON.parse(text) : undefined };
}

function post(path: string, key: string, length: number, type = "application/json"): string {
  return [
    `POST ${path} HTTP/1.1`,
    "Host: slipway",
    `Authorization: Key ${key}`,
    `Content-Type: ${type}`,
    `Content-Length: ${length}`,
    "",
    "",
  ].join("\r\n");
}

describe("slow clients", () => {
  let server: TestServer;
  let content: string;
  beforeAll(async () => {
    server = await startTestServer("sqlite", (s) => {
      s.Server.HeadersTimeoutSeconds = 1;
      s.Server.RequestTimeoutSeconds = 1;
      s.Server.BodyIdleTimeoutSeconds = 3;
      s.Bundles.UploadMinBytesPerSecond = 1024;
    });
    content = (
      await server.call("POST", "/__api__/v1/content", {
        key: server.keys.publisher,
        body: { name: "slow" },
      })
    ).body.guid;
  });
  afterAll(() => server?.close());

  it("cuts off 50 connections sending a body at one byte a second, each with 408", async () => {
    const body = JSON.stringify({ name: "never-arrives", title: "x".repeat(60) });
    const exchanges = await Promise.all(
      Array.from({ length: 50 }, () =>
        connect(server.url, post("/__api__/v1/content", server.keys.publisher, body.length)),
      ),
    );
    for (const { socket } of exchanges) trickle(socket, bytes(body), 1000);
    const answers = await Promise.all(exchanges.map((e) => e.closed));
    for (const answer of answers) {
      const response = parse(answer);
      expectConnectError(response, 408, 2);
      expect((response.body as { error: string }).error).toContain("RequestTimeoutSeconds");
      expect(response.head).toMatch(/connection: close/i);
    }
    const list = await server.call("GET", "/__api__/v1/content?name=never-arrives");
    expect(list.body).toEqual([]);
  });

  it("cuts off 50 connections sending their headers at one byte a second", async () => {
    const head = `GET /__api__/v1/user HTTP/1.1\r\nHost: slipway\r\nAuthorization: Key ${server.keys.viewer}\r\n\r\n`;
    const exchanges = await Promise.all(Array.from({ length: 50 }, () => connect(server.url, "")));
    for (const { socket } of exchanges) trickle(socket, bytes(head), 1000);
    for (const answer of await Promise.all(exchanges.map((e) => e.closed))) {
      const response = parse(answer);
      expectConnectError(response, 408, 2);
      expect((response.body as { error: string }).error).toContain("HeadersTimeoutSeconds");
    }
  });

  it("closes connections that never send a byte", async () => {
    const exchanges = await Promise.all(Array.from({ length: 50 }, () => connect(server.url, "")));
    for (const answer of await Promise.all(exchanges.map((e) => e.closed))) {
      expectConnectError(parse(answer), 408, 2);
    }
  });

  it("cuts off an upload that trickles below the minimum rate", async () => {
    const archive = tarGzOf({ "manifest.json": MANIFEST, "index.html": "<p>slow</p>" });
    const exchange = await connect(
      server.url,
      post(
        `/__api__/v1/content/${content}/bundles`,
        server.keys.publisher,
        archive.length,
        "application/gzip",
      ),
    );
    trickle(exchange.socket, bytes(archive), 1000);
    const response = parse(await exchange.closed);
    expectConnectError(response, 408, 2);
    expect((response.body as { error: string }).error).toContain("UploadMinBytesPerSecond");
  });

  it("lets an upload that keeps moving take longer than the request timeout", async () => {
    // Incompressible, so the archive is about as large as its content: ~60 KB in 1 KiB pieces
    // every 50 ms takes about three request-timeout windows, each bringing far over the minimum.
    const archive = tarGzOf({ "manifest.json": MANIFEST, "data.bin": randomBytes(60_000) });
    const exchange = await connect(
      server.url,
      post(
        `/__api__/v1/content/${content}/bundles`,
        server.keys.publisher,
        archive.length,
        "application/gzip",
      ),
    );
    const started = Date.now();
    trickle(exchange.socket, chunks(archive, 1024), 50);
    const answer = await new Promise<string>((resolve) => {
      let text = "";
      exchange.socket.on("data", (c) => {
        text += c.toString("utf8");
        if (/\r\n\r\n\{.*\}$/s.test(text)) resolve(text);
      });
    });
    exchange.socket.destroy();
    const response = parse(answer);
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect((response.body as { size: number }).size).toBe(archive.length);
    // It really did outlast the request timeout, so the window rule, not luck, let it through.
    expect(Date.now() - started).toBeGreaterThan(1000);
  });

  it("keeps long-polls working: a wait longer than every timeout is answered", async () => {
    // A task of another server that is alive: one that is gone would have its task failed.
    await takeLease(server.server.store.db, `${SERVER_LEASE}elsewhere`, "elsewhere", 600_000);
    await insertTask(server.server.store.db, {
      id: "long-poll-task",
      kind: "deploy",
      content_guid: null,
      bundle_id: null,
      user_guid: null,
      created_time: new Date().toISOString(),
      code: 0,
      error: "",
      server_id: "elsewhere",
    });
    const started = Date.now();
    const result = await server.call("GET", "/__api__/v1/tasks/long-poll-task?wait=4");
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ id: "long-poll-task", finished: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(3900);
  });
});

describe("a body that stalls", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("sqlite", (s) => {
      s.Server.RequestTimeoutSeconds = 30;
      s.Server.BodyIdleTimeoutSeconds = 1;
    });
  });
  afterAll(() => server?.close());

  it("is cut off after the idle timeout, upload or not", async () => {
    const content = (
      await server.call("POST", "/__api__/v1/content", {
        key: server.keys.publisher,
        body: { name: "idle" },
      })
    ).body.guid;
    // A gzip header and nothing more: a start the unpacker can only wait on.
    const gzipHeader = Buffer.from([0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 0x03]);
    for (const [path, type, start] of [
      ["/__api__/v1/content", "application/json", Buffer.alloc(4000, 0x20)],
      [`/__api__/v1/content/${content}/bundles`, "application/gzip", gzipHeader],
    ] as const) {
      const exchange = await connect(server.url, post(path, server.keys.publisher, 10_000, type));
      exchange.socket.write(start);
      const response = parse(await exchange.closed);
      expectConnectError(response, 408, 2);
      expect((response.body as { error: string }).error).toContain("BodyIdleTimeoutSeconds");
    }
  });
});

describe("the upload cap", () => {
  let server: TestServer;
  let content: string;
  beforeAll(async () => {
    // Timeouts long enough that held uploads may pause while the cap is tried.
    server = await startTestServer("sqlite", (s) => {
      s.Server.RequestTimeoutSeconds = 60;
      s.Server.BodyIdleTimeoutSeconds = 60;
      s.Bundles.MaxConcurrentUploads = 2;
    });
    content = (
      await server.call("POST", "/__api__/v1/content", {
        key: server.keys.publisher,
        body: { name: "capped" },
      })
    ).body.guid;
  });
  afterAll(() => server?.close());

  it("refuses an upload over the cap with 503 and Retry-After, and takes one once a slot frees", async () => {
    const big = tarGzOf({ "manifest.json": MANIFEST, "data.bin": randomBytes(40_000) });
    // Three uploads at once, each sending half its body and then waiting: two take the slots,
    // whichever comes third is refused at once.
    const uploads = await Promise.all(
      [0, 1, 2].map(async () => {
        const exchange = await connect(
          server.url,
          post(
            `/__api__/v1/content/${content}/bundles`,
            server.keys.publisher,
            big.length,
            "application/gzip",
          ),
        );
        let text = "";
        const answered = new Promise<string>((resolve) => {
          exchange.socket.on("data", (c) => {
            text += c.toString("utf8");
            if (/\r\n\r\n\{.*\}$/s.test(text)) resolve(text);
          });
        });
        exchange.socket.write(big.subarray(0, 20_000));
        return { ...exchange, answered };
      }),
    );
    const first = await Promise.race(uploads.map((u, i) => u.answered.then((a) => ({ a, i }))));
    const refused = parse(first.a);
    expectConnectError(refused, 503, 1);
    expect(refused.head).toMatch(/^retry-after: \d+$/im);
    expect((refused.body as { error: string }).error).toContain("MaxConcurrentUploads");

    const held = uploads.filter((_, i) => i !== first.i);
    for (const { socket } of held) trickle(socket, chunks(big.subarray(20_000), 2048), 10);
    for (const { answered } of held) expect(parse(await answered).status).toBe(200);
    for (const { socket } of uploads) socket.destroy();
    const after = await fetch(`${server.url}/__api__/v1/content/${content}/bundles`, {
      method: "POST",
      headers: { Authorization: `Key ${server.keys.publisher}` },
      body: tarGzOf({ "manifest.json": MANIFEST, "index.html": "<p>after</p>" }),
    });
    expect(after.status).toBe(200);
  });
});
