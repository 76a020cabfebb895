import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  filterResponseHeaders,
  requestHeadersForApp,
  rewriteSetCookie,
  withoutCredentials,
} from "./proxy-headers.js";

const prefix = "/content/00000000-0000-0000-0000-000000000001/";
const rules = {
  prefix,
  requestUrl: `http://slipway.example${prefix}page`,
  ownHosts: ["slipway.example", "dashboard.example"],
};

describe("an application's Set-Cookie", () => {
  it("may never set Slipway's cookies, __Host- cookies or cookies for other hosts", () => {
    for (const value of [
      "slipway_session=evil; Path=/",
      "__Host-slipway_session=evil; Path=/; Secure",
      "__Secure-Slipway_content=evil; Path=/; Secure",
      "slipway_content=evil",
      "__Host-app=1; Path=/; Secure",
      "=nameless",
    ]) {
      expect(rewriteSetCookie(value, prefix), value).toBeNull();
    }
    expect(rewriteSetCookie("session=abc; Domain=example; Path=/; HttpOnly", prefix)).toBe(
      `session=abc; Path=${prefix}; HttpOnly`,
    );
  });

  it("keeps a path inside the content URL and moves any other into it", () => {
    expect(rewriteSetCookie(`a=1; Path=${prefix}sub/`, prefix)).toBe(`a=1; Path=${prefix}sub/`);
    expect(rewriteSetCookie(`a=1; Path=${prefix.slice(0, -1)}`, prefix)).toBe(
      `a=1; Path=${prefix.slice(0, -1)}`,
    );
    expect(rewriteSetCookie("a=1; Path=/__api__/", prefix)).toBe(`a=1; Path=${prefix}`);
    expect(
      rewriteSetCookie("a=1; Path=/content/00000000-0000-0000-0000-000000000002/", prefix),
    ).toBe(`a=1; Path=${prefix}`);
    expect(rewriteSetCookie("a=1; Secure; SameSite=Strict", prefix)).toBe(
      `a=1; Path=${prefix}; Secure; SameSite=Strict`,
    );
  });

  it("always comes out without Domain and with a Path under the content URL", () => {
    fc.assert(
      fc.property(fc.string(), (value) => {
        const out = rewriteSetCookie(value, prefix);
        if (out === null) return;
        expect(out.toLowerCase()).not.toMatch(/;\s*domain/);
        const path = /;\s*Path=([^;]*)/.exec(out)![1]!;
        expect(path.startsWith(prefix) || `${path}/` === prefix).toBe(true);
        expect(out.split(";")[0]!.toLowerCase()).not.toMatch(/^\s*(__host-|__secure-)?slipway_/);
      }),
    );
  });
});

describe("an application's response headers", () => {
  it("withholds Slipway's own and host-wide headers and keeps Slipway's policy beside the application's", () => {
    const filtered = filterResponseHeaders(
      {
        "x-correlation-id": "forged",
        "X-Content-Type-Options": "sniff",
        "clear-site-data": '"cookies"',
        "service-worker-allowed": "/",
        "strict-transport-security": "max-age=1; includeSubDomains",
        "content-security-policy": "script-src 'self'",
        "x-frame-options": "SAMEORIGIN",
        "content-type": "text/html",
        "set-cookie": ["slipway_session=evil; Path=/", "ok=1; Path=/"],
      },
      { ...rules, csp: "connect-src http://slipway.example/content/x/" },
    );
    expect(filtered).toEqual({
      ok: true,
      headers: {
        "content-security-policy": [
          "connect-src http://slipway.example/content/x/",
          "script-src 'self'",
        ],
        "x-frame-options": "SAMEORIGIN",
        "content-type": "text/html",
        "set-cookie": [`ok=1; Path=${prefix}`],
      },
    });
  });

  it("refuses a redirect to Slipway's own hosts outside the content URL, not one elsewhere", () => {
    const location = (to: string) => filterResponseHeaders({ location: to }, rules);
    expect(location("/__api__/slipway/v1/session")).toEqual({
      ok: false,
      location: "/__api__/slipway/v1/session",
    });
    expect(location("http://dashboard.example/connect/").ok).toBe(false);
    expect(location("../other/").ok).toBe(false);
    expect(location("next").ok).toBe(true);
    expect(location(`${prefix}done`).ok).toBe(true);
    expect(location("https://elsewhere.example/").ok).toBe(true);
  });
});

describe("a request's headers for the application", () => {
  const request = {
    host: "slipway.example",
    authorization: "Key secret",
    cookie: "slipway_session=s; theme=dark; __Host-slipway_session=t; lang=en",
    connection: "keep-alive, X-Private",
    "x-private": "1",
    "keep-alive": "timeout=5",
    te: "trailers",
    "content-length": "0",
    accept: "text/html",
  };

  it("carries neither credentials nor the client's connection headers, and adds Slipway's", () => {
    expect(requestHeadersForApp(request, { "x-rsc-request": "/content/x/" }, false)).toEqual({
      host: "slipway.example",
      cookie: "theme=dark; lang=en",
      accept: "text/html",
      "x-rsc-request": "/content/x/",
    });
    expect(requestHeadersForApp(request, {}, true)).toMatchObject({ "content-length": "0" });
    expect(requestHeadersForApp({ cookie: "slipway_session=s", accept: "*/*" }, {}, false)).toEqual(
      { accept: "*/*" },
    );
  });

  it("for a WebSocket, keeps the upgrade's connection headers and drops only credentials", () => {
    const upgrade = { ...request, connection: "Upgrade", upgrade: "websocket" };
    const { authorization: _, cookie: __, ...rest } = upgrade;
    expect(withoutCredentials(upgrade)).toEqual({ ...rest, cookie: "theme=dark; lang=en" });
  });
});

describe("an application's connection headers", () => {
  const answer = {
    connection: "keep-alive, X-Hop",
    "x-hop": "1",
    "keep-alive": "timeout=2",
    "transfer-encoding": "chunked",
    "content-type": "text/plain",
  };

  it("stay on its connection, but a WebSocket handshake keeps its own", () => {
    expect(filterResponseHeaders(answer, rules)).toEqual({
      ok: true,
      headers: { "content-type": "text/plain" },
    });
    const handshake = { connection: "Upgrade", upgrade: "websocket" };
    expect(filterResponseHeaders(handshake, { ...rules, handshake: true })).toEqual({
      ok: true,
      headers: handshake,
    });
  });
});
