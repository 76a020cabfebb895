/**
 * The server's log as an operator reads it: one JSON line per request, written as it is
 * answered, with the method, URL, status, time taken and the request's correlation id; a
 * refusal adds its own line with the same id.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "../support/server.js";

interface Line {
  msg: string;
  level: number;
  correlation_id?: string;
  req?: { method: string; url: string };
  res?: { statusCode: number };
  responseTime?: number;
}

describe("the request log", () => {
  const lines: Line[] = [];
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(
      "sqlite",
      (s) => {
        s.Server.LogLevel = "info";
      },
      { serverOptions: { logDestination: { write: (text) => void lines.push(JSON.parse(text)) } } },
    );
  });
  afterAll(() => server?.close());

  const about = (id: string) => lines.filter((line) => line.correlation_id === id);

  it("has one line per answered request, with what was asked, the answer and the id", async () => {
    const got = await server.call("GET", "/__api__/server_settings", {
      headers: { "X-Correlation-ID": "answered-1" },
    });
    expect(got.status).toBe(200);
    const [line, ...more] = about("answered-1");
    expect(more).toEqual([]);
    expect(line).toMatchObject({
      msg: "request completed",
      level: 30,
      req: { method: "GET", url: "/__api__/server_settings" },
      res: { statusCode: 200 },
    });
    expect(line!.responseTime).toBeGreaterThan(0);
  });

  it("adds the refusal's own line to a refused request's, under the same id", async () => {
    const got = await server.call("GET", "/__api__/v1/users", {
      key: null,
      headers: { "X-Correlation-ID": "refused-1" },
    });
    expect(got.status).toBe(401);
    expect(about("refused-1").map((line) => line.msg)).toEqual([
      "request refused",
      "request completed",
    ]);
    expect(about("refused-1")[1]).toMatchObject({ res: { statusCode: 401 } });
  });
});
