/**
 * Serves the web dashboard (built by Vite into dist/web) at /connect/, where Connect's
 * dashboard_url points. Its pages are hash routes, so no server path can shadow the API or
 * content URLs. The dashboard talks only to the public API.
 */
import { existsSync } from "node:fs";
import fastifyStatic from "@fastify/static";
import type { FastifyPluginAsync } from "fastify";
import { declareResponses, PASSTHROUGH_RESPONSES } from "../route-declarations.js";

export const dashboardRoutes: FastifyPluginAsync<{ root: string }> = async (app, { root }) => {
  // The dashboard's files are public: it signs people in. @fastify/static takes no route
  // config, so its routes get their declarations here.
  app.addHook("onRoute", (route) => {
    route.config = { ...route.config, role: route.config?.role ?? null };
  });
  declareResponses(app, PASSTHROUGH_RESPONSES);
  app.get("/", { schema: { hide: true }, config: { role: null } }, (_, reply) =>
    reply.redirect("/connect/"),
  );
  if (!existsSync(root)) {
    app.get("/connect/", { schema: { hide: true }, config: { role: null } }, (_, reply) =>
      reply
        .type("text/plain; charset=utf-8")
        .send("The dashboard is not built: run `npm run build` (npm start does it for you)."),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: "/connect/",
    decorateReply: false,
    index: ["index.html"],
    setHeaders: (response, file) => {
      if (file.endsWith("index.html")) response.setHeader("Cache-Control", "no-cache");
    },
  });
};
