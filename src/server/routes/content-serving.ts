/**
 * Serves deployed content at its content_url: files for static and rendered content, and a
 * reverse proxy (HTTP and WebSocket) to the process of an application, started on demand.
 */
import type { IncomingHttpHeaders } from "node:http";
import { connect } from "node:net";
import path from "node:path";
import replyFrom from "@fastify/reply-from";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from "fastify";
import type { ContentResolver, ContentTarget } from "../../content/content-resolver.js";
import { ApiError } from "../../errors.js";
import type { Store } from "../../store/database.js";
import { authenticate, SESSION_COOKIE } from "../auth.js";

const PREFIX = /^\/content\/([0-9a-f-]{36})(\/.*)?$/;
const RETRIABLE = new Set(["GET", "HEAD", "OPTIONS"]);

type AppTarget = Extract<ContentTarget, { kind: "app" }>;

export const contentServingRoutes: FastifyPluginAsync<{
  resolver: ContentResolver;
  store: Store;
}> = async (app, { resolver, store }) => {
  await app.register(replyFrom, { undici: { connections: 64, pipelining: 1 } });
  await app.register(fastifyStatic, { root: path.resolve("/"), serve: false });

  app.all(
    "/content/:guid/*",
    { schema: { hide: true }, config: { role: "viewer" } },
    async (request, reply) => {
      const { guid } = request.params as { guid: string };
      const rest = `/${(request.params as { "*": string })["*"] ?? ""}`;
      const target = await resolver.resolve(guid);
      if (target.kind === "files") {
        if (request.method !== "GET" && request.method !== "HEAD") {
          throw new ApiError("badRequest", "Static content only answers GET and HEAD.", {
            status: 405,
          });
        }
        const file = rest.endsWith("/") ? `${rest}${target.index}` : rest;
        return reply.sendFile(file.slice(1), target.root);
      }
      const query = request.url.includes("?") ? request.url.slice(request.url.indexOf("?")) : "";
      const forward = (to: AppTarget, retried: boolean): FastifyReply => {
        reply.raw.once("close", to.release);
        return reply.from(`http://${to.host}:${to.port}${rest}${query}`, {
          rewriteRequestHeaders: (_, headers) => ({
            ...withoutCredentials(headers),
            "x-forwarded-prefix": `/content/${guid}`,
            "x-rsc-request": request.url,
          }),
          onError: (proxied, { error }) => {
            resolver.unreachable(guid, to.runId);
            // A process that died since it was chosen: a request without a body may go to another.
            if (retried || !RETRIABLE.has(request.method)) return proxied.send(error);
            resolver.resolve(guid).then(
              (next) => (next.kind === "app" ? forward(next, true) : proxied.send(error)),
              (failure) => proxied.send(failure),
            );
          },
        });
      };
      return forward(target, false);
    },
  );

  app.get("/content/:guid", { schema: { hide: true }, config: { role: null } }, (request, reply) =>
    reply.redirect(`/content/${(request.params as { guid: string }).guid}/`),
  );

  proxyWebSockets(app, resolver, store);
};

/**
 * The caller's API key and Slipway session are for Slipway alone: content is code that
 * publishers wrote, so it never sees them.
 */
function withoutCredentials(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const { authorization: _, cookie, ...rest } = headers;
  const kept = (cookie ?? "")
    .split(";")
    .map((c) => c.trim())
    .filter((c) => c && !c.startsWith(`${SESSION_COOKIE}=`));
  return kept.length > 0 ? { ...rest, cookie: kept.join("; ") } : rest;
}

/** Hands WebSocket upgrades under /content/<guid>/ to the application's own socket. */
function proxyWebSockets(app: FastifyInstance, resolver: ContentResolver, store: Store): void {
  app.server.on("upgrade", async (request, socket, head) => {
    const match = PREFIX.exec(request.url ?? "");
    if (!match) return socket.destroy();
    try {
      await authenticate(request.headers, store);
      const target = await resolver.resolve(match[1]!);
      if (target.kind !== "app") return socket.destroy();
      socket.once("close", target.release);
      const upstream = connect(target.port, target.host, () => {
        const lines = [`${request.method} ${match[2] ?? "/"} HTTP/${request.httpVersion}`];
        for (const [name, value] of Object.entries(withoutCredentials(request.headers))) {
          for (const one of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${one}`);
        }
        upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
        if (head.length > 0) upstream.write(head);
        socket.pipe(upstream).pipe(socket);
      });
      upstream.on("error", () => socket.destroy());
      socket.on("error", () => upstream.destroy());
    } catch {
      socket.destroy();
    }
  });
}
