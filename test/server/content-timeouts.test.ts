/**
 * The content's connection_timeout and read_timeout, as the proxy applies them to an ASGI app
 * under uvicorn: an answer that does not start, or pauses, for connection_timeout is cut off
 * (504 in Connect's shape when nothing was sent yet); a WebSocket with no data either way for
 * connection_timeout, or nothing from the client for read_timeout, is closed; one that keeps
 * talking stays open.
 */
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { expectConnectError } from "../support/connect-error.js";
import { deployOnHostPython } from "../support/deploy.js";
import { startTestServer, type TestServer } from "../support/server.js";

const APP = `import asyncio
from urllib.parse import parse_qs

async def app(scope, receive, send):
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    if scope["type"] == "websocket":
        await receive()
        await send({"type": "websocket.accept"})
        if scope["path"] == "/ticks":
            while True:
                await send({"type": "websocket.send", "text": "tick"})
                await asyncio.sleep(0.2)
        while True:
            message = await receive()
            if message["type"] != "websocket.receive":
                return
            await send({"type": "websocket.send", "text": message.get("text")})
    seconds = float(parse_qs(scope["query_string"].decode()).get("s", ["0"])[0])
    start = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
    if scope["path"] == "/pause":
        await send(start)
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        await asyncio.sleep(seconds)
        await send({"type": "http.response.body", "body": b"second"})
        return
    await asyncio.sleep(seconds)
    await send(start)
    await send({"type": "http.response.body", "body": b"late"})
`;

const CONNECTION_TIMEOUT = 3;
const READ_TIMEOUT = 5;
const uvicorn = existsSync("/usr/lib/python3/dist-packages/uvicorn");

describe.skipIf(!uvicorn)(
  "the content's connection and read timeouts",
  { timeout: 120_000 },
  () => {
    let server: TestServer;
    let url: string;
    let auth: Record<string, string>;

    beforeAll(async () => {
      server = await startTestServer("sqlite", (s) => {
        s.Scheduler.IdleTimeout = 3600;
      });
      const item = await deployOnHostPython(server, "timeouts", "python-fastapi", APP, {
        connection_timeout: CONNECTION_TIMEOUT,
        read_timeout: READ_TIMEOUT,
      });
      url = item.content_url;
      auth = { Authorization: `Key ${server.keys.administrator}` };
    }, 180_000);
    afterAll(() => server?.close());

    it("answers 504 in Connect's shape when the app sends nothing for connection_timeout", async () => {
      const quick = await fetch(`${url}slow?s=0.1`, { headers: auth });
      expect(await quick.text()).toBe("late");
      const answer = await fetch(`${url}slow?s=60`, { headers: auth });
      const body = (await answer.json()) as { error: string };
      expectConnectError({ status: answer.status, body, headers: answer.headers }, 504);
      expect(body.error).toMatch(/within 3 s, the content's connection_timeout/);
    });

    it("cuts off an answer that pauses for connection_timeout", async () => {
      const answer = await fetch(`${url}pause?s=60`, { headers: auth });
      expect(answer.status).toBe(200);
      await expect(answer.text()).rejects.toThrow();
      const brief = await fetch(`${url}pause?s=0.1`, { headers: auth });
      expect(await brief.text()).toBe("firstsecond");
    });

    const open = async (path: string) => {
      const socket = new WebSocket(`${url.replace(/^http/, "ws")}${path}`, { headers: auth });
      await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
      const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
      return { socket, closed };
    };

    it("closes a WebSocket with no data either way for connection_timeout", async () => {
      const { socket, closed } = await open("echo");
      const echoed = new Promise((resolve) =>
        socket.once("message", (data) => resolve(String(data))),
      );
      socket.send("hello");
      expect(await echoed).toBe("hello");
      await closed;
    });

    it("closes a WebSocket whose client sends nothing for read_timeout, though the app talks", async () => {
      const opened = Date.now();
      const { socket, closed } = await open("ticks");
      let ticks = 0;
      socket.on("message", () => ticks++);
      await closed;
      // The app's ticks kept it from being idle: the read timeout, the longer one, closed it.
      expect(Date.now() - opened).toBeGreaterThanOrEqual(READ_TIMEOUT * 1000);
      expect(ticks).toBeGreaterThan(1);
    });

    it("keeps a WebSocket open while its client keeps talking, past both timeouts", async () => {
      const { socket, closed } = await open("echo");
      let stillOpen = true;
      void closed.then(() => {
        stillOpen = false;
      });
      let answered = 0;
      socket.on("message", () => answered++);
      const until = Date.now() + (READ_TIMEOUT + 1) * 1000;
      while (Date.now() < until) {
        socket.send("still here");
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(stillOpen).toBe(true);
      expect(answered).toBeGreaterThan(0);
      socket.close();
      await closed;
    });
  },
);
