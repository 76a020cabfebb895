/**
 * Every registered route declares who may call it (config.role; null means public, on
 * purpose) and what it answers (a response schema with Connect's error shape), and the
 * public ones still refuse an invalid key, as Connect does.
 */
import { randomUUID } from "node:crypto";
import type { FastifyInstance, RouteOptions } from "fastify";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildApp } from "../../src/server/app.js";
import { openStore } from "../../src/store/database.js";
import { FakeRunner } from "../runners/fake-backend.js";
import { expectConnectError } from "../support/connect-error.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { freshDatabase } from "../support/stores.js";

/** What is missing from a route's declarations, one line per route that lacks something. */
function undeclared(routes: readonly RouteOptions[]): string[] {
  return routes.flatMap((route) => {
    const name = `${[route.method].flat().join(",")} ${route.url}`;
    const missing: string[] = [];
    if (route.config?.role === undefined) missing.push("config.role");
    const response = (route.schema?.response ?? {}) as Record<string, unknown>;
    if (Object.keys(response).length === 0) missing.push("a response schema");
    else if (!response["4xx"] || !response["5xx"]) missing.push("4xx and 5xx error responses");
    return missing.length > 0 ? [`${name}: no ${missing.join(", no ")}`] : [];
  });
}

/** A concrete path for a route's pattern: parameters filled in, a wildcard given a file. */
function concrete(url: string): string {
  return url
    .replace(/:guid/g, randomUUID())
    .replace(/:id/g, "1")
    .replace(/:runtime/g, "python")
    .replace(/\*$/, "index.html");
}

const FORBIDDEN_METHODS = new Set(["TRACE", "CONNECT", "TRACK"]);

describe("the route walk", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it("finds every route declaring its role and its responses", () => {
    const routes = server.server.app.declaredRoutes;
    const urls = routes.map((r) => r.url);
    // The walk sees all of them: API, Slipway's own, content, the dashboard.
    expect(urls).toEqual(
      expect.arrayContaining([
        "/__ping__",
        "/__api__/server_settings",
        "/__api__/v1/content/:guid/bundles",
        "/__api__/slipway/v1/session",
        "/content/:guid/*",
        "/",
      ]),
    );
    // The dashboard: its files through @fastify/static once built, a note before that.
    expect(urls.filter((u) => u.startsWith("/connect/")).length).toBeGreaterThan(0);
    expect(routes.length).toBeGreaterThan(25);
    expect(undeclared(routes)).toEqual([]);
  });

  it("answers an invalid key with 401, code 30, on every public route", async () => {
    const publicRoutes = server.server.app.declaredRoutes.filter((r) => r.config?.role === null);
    expect(publicRoutes.length).toBeGreaterThanOrEqual(6);
    for (const route of publicRoutes) {
      // fetch cannot send the methods a browser may never use (TRACE, CONNECT).
      for (const method of [route.method].flat().filter((m) => !FORBIDDEN_METHODS.has(m))) {
        const path = concrete(route.url);
        for (const key of ["bogus", server.keys.revoked]) {
          const response = await fetch(`${server.url}${path}`, {
            method,
            headers: { Authorization: `Key ${key}` },
            redirect: "manual",
          });
          const body = method === "HEAD" ? null : await response.json();
          expect(response.status, `${method} ${path}`).toBe(401);
          if (body !== null) expectConnectError({ status: response.status, body }, 401, 30);
        }
        // Content URLs decide who may enter per content item; every other public route is open.
        if (route.url.startsWith("/content/")) continue;
        const anonymous = await fetch(`${server.url}${path}`, { method, redirect: "manual" });
        expect(anonymous.status, `${method} ${path} without a key`).not.toBe(401);
      }
    }
  });

  it("still serves public routes to a valid key of any role", async () => {
    for (const key of [server.keys.viewer, server.keys.publisher, server.keys.administrator]) {
      const settings = await server.call("GET", "/__api__/server_settings", { key });
      expect(settings.status).toBe(200);
    }
  });
});

describe("a route that declares nothing", () => {
  let app: FastifyInstance;
  let close: () => Promise<void>;
  beforeAll(async () => {
    const database = await freshDatabase("sqlite");
    const store = await openStore(database.settings);
    app = await buildApp({
      store,
      settings: database.settings,
      logger: pino({ level: "silent" }),
      slipwayVersion: "test",
      runner: new FakeRunner(),
      serverId: "route-walk-test",
    });
    app.get("/__api__/v1/forgotten", async () => ({ secret: "nobody should read this" }));
    await app.ready();
    close = async () => {
      await app.close();
      await store.close();
      await database.drop();
    };
  });
  afterAll(() => close?.());

  it("is found by the walk", () => {
    expect(undeclared(app.declaredRoutes)).toEqual([
      "GET /__api__/v1/forgotten: no config.role, no a response schema",
      "HEAD /__api__/v1/forgotten: no config.role, no a response schema",
    ]);
  });

  it("is closed to everyone, whatever key they send", async () => {
    const anonymous = await app.inject({ method: "GET", url: "/__api__/v1/forgotten" });
    expectConnectError({ status: anonymous.statusCode, body: anonymous.json() }, 403, 22);
    expect(anonymous.body).not.toContain("nobody should read this");
  });

  it("leaves unknown paths answered as 404", async () => {
    const missing = await app.inject({ method: "GET", url: "/__api__/v1/nothing-here" });
    expectConnectError({ status: missing.statusCode, body: missing.json() }, 404, 4);
  });
});
