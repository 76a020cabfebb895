/**
 * Headers that keep the dashboard and the API out of content's reach, on every response
 * that is not content: nothing may frame them (so content cannot overlay or script them), a
 * window they open in is cut off from whoever opened it, and other origins cannot embed their
 * responses. A content host answers nothing but content.
 */
import type { FastifyInstance, FastifyReply } from "fastify";
import { ApiError } from "../errors.js";
import type { ContentSite } from "./content-site.js";

const served = new WeakSet<FastifyReply>();

/** What every answer that is not content carries. */
export const NOT_CONTENT_HEADERS = {
  "X-Frame-Options": "DENY",
  "Content-Security-Policy": "frame-ancestors 'none'",
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Resource-Policy": "same-origin",
};

/** Marks a reply as content: content sets its own policy and may be framed. */
export function markContent(reply: FastifyReply): void {
  served.add(reply);
}

export function registerSecurityHeaders(app: FastifyInstance, site: ContentSite): void {
  app.addHook("onRequest", async (request) => {
    if (site.hostOf(request.headers).kind !== "content") return;
    const path = request.url.split("?")[0]!;
    if (!path.startsWith("/content/") && path !== "/__ping__") {
      throw new ApiError("notFound", "This host serves content only: the dashboard is elsewhere.");
    }
  });
  app.addHook("onSend", async (_request, reply) => {
    reply.header("X-Content-Type-Options", "nosniff");
    if (!served.has(reply)) reply.headers(NOT_CONTENT_HEADERS);
  });
}
