/**
 * What the content proxy's forwarding keeps, against a real WSGI app under gunicorn (through
 * Slipway's launcher): what reaches the app and what comes back, bodies too large to buffer in
 * both directions, a client that leaves mid-answer, an app that closes connections, with and
 * without finishing its answer, and an app that cannot answer (502 in Connect's shape).
 */
import { createHash, randomUUID } from "node:crypto";
import { existsSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectConnectError } from "../support/connect-error.js";
import { appAddress, deployOnHostPython } from "../support/deploy.js";
import { rawCall as call } from "../support/raw-http.js";
import { startTestServer, type TestServer } from "../support/server.js";

const APP = `import hashlib, json, os, socket, time

CHUNK = 64 * 1024

def block(i):
    return bytes([i % 256]) * CHUNK

def marker(environ):
    token = environ.get("QUERY_STRING", "").partition("token=")[2]
    return os.path.join("/tmp", "slipway-proxy-test-" + token)

def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path == "/echo":
        seen = {k[5:].lower().replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
        digest, size = hashlib.sha256(), 0
        while True:
            data = environ["wsgi.input"].read(CHUNK)
            if not data:
                break
            digest.update(data)
            size += len(data)
        out = json.dumps({"headers": seen, "method": environ["REQUEST_METHOD"], "size": size,
                          "sha256": digest.hexdigest(), "query": environ.get("QUERY_STRING")})
        start_response("201 Created", [
            ("Content-Type", "application/json"),
            ("Set-Cookie", "slipway_session=forged; Path=/"),
            ("Set-Cookie", "theme=dark; Path=/; Domain=example.com"),
            ("X-Correlation-ID", "from-the-app"),
            ("X-App", "yes"),
        ])
        return [out.encode()]
    if path == "/big":
        count = int(environ.get("QUERY_STRING", "").partition("blocks=")[2])
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(count * CHUNK))])
        return (block(i) for i in range(count))
    if path == "/forever":
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        def stream():
            try:
                i = 0
                while True:
                    yield block(i)
                    i += 1
                    time.sleep(0.005)
            finally:
                open(marker(environ), "w").close()
        return stream()
    if path == "/ended":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"yes" if os.path.exists(marker(environ)) else b"no"]
    if path == "/cut":
        start_response("200 OK", [("Content-Type", "application/octet-stream"),
                                  ("Content-Length", str(16 * CHUNK))])
        def cut():
            yield block(0)
            environ["gunicorn.socket"].shutdown(socket.SHUT_RDWR)
        return cut()
    if path == "/bye":
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
        def bye():
            yield b"bye"
            environ["gunicorn.socket"].shutdown(socket.SHUT_RDWR)
        return bye()
    if path == "/drop":
        environ["gunicorn.socket"].shutdown(socket.SHUT_RDWR)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b""]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]
`;

const gunicorn = existsSync("/usr/lib/python3/dist-packages/gunicorn");

describe.skipIf(!gunicorn)("the content proxy's forwarding", () => {
  let server: TestServer;
  let url: string;
  let guid: string;
  let key: Record<string, string>;

  beforeAll(async () => {
    server = await startTestServer("sqlite", (s) => {
      s.Scheduler.IdleTimeout = 3600;
    });
    const item = await deployOnHostPython(server, "proxy-forwarding", "python-api", APP);
    url = item.content_url;
    guid = item.guid;
    key = { Authorization: `Key ${server.keys.publisher}` };
  }, 180_000);
  afterAll(() => server?.close());

  it("forwards the request without credentials or hop-by-hop headers, and filters the answer", async () => {
    const answer = await call(`${url}echo?x=1&y=%20`, {
      method: "POST",
      headers: {
        ...key,
        Cookie: "slipway_session=secret; theme=light",
        Connection: "keep-alive, X-Private",
        "X-Private": "for the proxy only",
        "X-Correlation-ID": "given-by-client",
        "X-RSC-Request": "/forged",
        "Content-Type": "text/plain",
      },
      body: Buffer.from("hello app"),
    });
    expect(answer.status).toBe(201);
    const seen = JSON.parse(answer.body.toString());
    expect(seen.method).toBe("POST");
    expect(seen.query).toBe("x=1&y=%20");
    expect(seen.size).toBe(9);
    expect(seen.headers.authorization).toBeUndefined();
    expect(seen.headers.cookie).toBe("theme=light");
    expect(seen.headers["x-private"]).toBeUndefined();
    expect(seen.headers["x-forwarded-prefix"]).toBe(`/content/${guid}`);
    expect(seen.headers["x-rsc-request"]).toBe(`/content/${guid}/echo?x=1&y=%20`);
    expect(seen.headers.host).toBe(await appAddress(server.server.store.db, guid));
    expect(seen.headers["x-correlation-id"]).toBe("given-by-client");
    // The app's Set-Cookie: never Slipway's cookie, and others kept to the content URL.
    expect(answer.headers["set-cookie"]).toEqual([`theme=dark; Path=/content/${guid}/`]);
    expect(answer.headers["x-correlation-id"]).toBe("given-by-client");
    expect(answer.headers["x-app"]).toBe("yes");
    expect(answer.headers["x-content-type-options"]).toBe("nosniff");
    expect(answer.headers["x-frame-options"]).toBeUndefined();
    expect(answer.headers["content-security-policy"]).toMatch(/^connect-src /);
  });

  it("streams a large request body to the app and a large answer back, intact", async () => {
    const upload = Buffer.alloc(24 * 1024 * 1024);
    for (let i = 0; i < upload.length; i += 4096) upload.writeUInt32BE(i, i);
    const echoed = await call(`${url}echo`, {
      method: "PUT",
      headers: { ...key, "Content-Type": "application/octet-stream" },
      body: upload,
    });
    expect(echoed.status).toBe(201);
    const seen = JSON.parse(echoed.body.toString());
    expect(seen.size).toBe(upload.length);
    expect(seen.sha256).toBe(createHash("sha256").update(upload).digest("hex"));

    const blocks = 512; // 32 MB
    const big = await call(`${url}big?blocks=${blocks}`, { headers: key });
    expect(big.status).toBe(200);
    expect(big.headers["content-length"]).toBe(String(blocks * 64 * 1024));
    expect(big.body.length).toBe(blocks * 64 * 1024);
    for (const i of [0, 1, 255, 256, blocks - 1]) expect(big.body[i * 64 * 1024]).toBe(i % 256);
  });

  it("stops the app's answer when the client leaves mid-way, and serves on", async () => {
    const token = randomUUID();
    await new Promise<void>((resolve, reject) => {
      const outgoing = httpRequest(`${url}forever?token=${token}`, { headers: key }, (response) => {
        let received = 0;
        response.on("data", (chunk: Buffer) => {
          received += chunk.length;
          if (received > 256 * 1024) {
            outgoing.destroy();
            resolve();
          }
        });
      });
      outgoing.on("error", (error) => (outgoing.destroyed ? undefined : reject(error)));
      outgoing.end();
    });
    const deadline = Date.now() + 30_000;
    let ended = "no";
    while (ended !== "yes" && Date.now() < deadline) {
      ended = (await call(`${url}ended?token=${token}`, { headers: key })).body.toString();
      if (ended !== "yes") await sleep(50);
    }
    expect(ended).toBe("yes");
    expect((await call(url, { headers: key })).body.toString()).toBe("hello");
  });

  it("keeps serving an app that closes each connection after answering", async () => {
    for (let i = 0; i < 30; i++) {
      const answer = await call(`${url}bye`, { headers: key });
      expect(answer.status).toBe(200);
      expect(answer.body.toString()).toBe("bye");
    }
  });

  it("cuts the client off when the app closes the connection mid-answer", async () => {
    const outcome = await fetch(`${url}cut`, { headers: key })
      .then(async (response) => `read ${(await response.arrayBuffer()).byteLength} bytes`)
      .catch((error: Error) => `failed: ${error.message}`);
    // Never a shorter answer that looks complete.
    expect(outcome).toBe("failed: terminated");
    expect((await call(url, { headers: key })).body.toString()).toBe("hello");
  });

  it("answers 502 in Connect's shape when the app closes without answering", async () => {
    const answer = await fetch(`${url}drop`, { method: "POST", headers: key, body: "x" });
    const body = (await answer.json()) as { error: string };
    expectConnectError({ status: answer.status, body, headers: answer.headers }, 502);
    expect(body.error).toMatch(/did not answer/);
    expect(answer.headers.get("x-correlation-id")).toBeTruthy();
  });
});
