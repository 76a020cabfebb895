import { createReadStream } from "node:fs";
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyReply } from "fastify";
import { type BundleService, toBundle } from "../../content/bundle-service.js";
import type { ContentService } from "../../content/content-service.js";
import { Bundle } from "../../content/model.js";
import { ApiError, isApiError } from "../../errors.js";
import type { Store } from "../../store/database.js";
import type { UploadSlots } from "../upload-slots.js";
import { isMultipart, uploadMultipart } from "./bundle-multipart.js";
import { errors, GuidParams, RowId } from "./schemas.js";

const BundleParams = Type.Object({ guid: GuidParams.properties.guid, id: RowId });

export const bundleRoutes: FastifyPluginAsyncTypebox<{
  content: ContentService;
  bundles: BundleService;
  uploads: UploadSlots;
  store: Store;
}> = async (app, { content, bundles, uploads, store }) => {
  const tags = ["bundles"];

  // Clients upload the archive as application/gzip, as raw bytes with no Content-Type, or
  // chunked with neither length nor type: take any of them as a stream, unparsed.
  app.addContentTypeParser("*", (_request, payload, done) => done(null, payload));
  app.removeContentTypeParser(["application/json", "text/plain"]);
  app.addContentTypeParser(["application/json", "text/plain"], (_request, payload, done) =>
    done(null, payload),
  );

  app.post(
    "/v1/content/:guid/bundles",
    {
      schema: {
        tags,
        summary: "Upload a bundle (a gzip tar with manifest.json at its top)",
        params: GuidParams,
        headers: Type.Object({ "x-content-checksum": Type.Optional(Type.String()) }),
        response: { 200: Bundle, ...errors },
      },
      config: { role: "publisher", upload: true },
    },
    async (request, reply) => {
      const item = await content.getEditable(request.user!, request.params.guid);
      if (request.body === undefined) {
        throw new ApiError(
          "badRequest",
          "The request has no body: send the bundle, a gzip tar, as the body.",
        );
      }
      const release = uploads.acquire();
      const checksum = request.headers["x-content-checksum"];
      try {
        const bundle = await (isMultipart(request)
          ? uploadMultipart(request, store, item, bundles, checksum)
          : bundles.upload(item, request.body as NodeJS.ReadableStream as never, checksum)
        ).catch((error: unknown) => {
          // A body over the size limit is not read to its end, so the connection cannot be
          // reused: close it once answered, as Fastify does for its own body limit.
          if (isApiError(error) && error.status === 413) reply.header("connection", "close");
          throw error;
        });
        return toBundle(bundle, item.bundle_id);
      } finally {
        release();
      }
    },
  );

  app.get(
    "/v1/content/:guid/bundles",
    {
      schema: {
        tags,
        summary: "List bundles, newest first",
        params: GuidParams,
        response: { 200: Type.Array(Bundle), ...errors },
      },
      config: { role: "publisher" },
    },
    async (request) => {
      const item = await content.getBehindTheScenes(request.user!, request.params.guid);
      return (await bundles.list(item.guid)).map((b) => toBundle(b, item.bundle_id));
    },
  );

  app.get(
    "/v1/content/:guid/bundles/:id",
    {
      schema: {
        tags,
        summary: "Get one bundle",
        params: BundleParams,
        response: { 200: Bundle, ...errors },
      },
      config: { role: "publisher" },
    },
    async (request) => {
      const item = await content.getBehindTheScenes(request.user!, request.params.guid);
      return toBundle(await bundles.get(item.guid, Number(request.params.id)), item.bundle_id);
    },
  );

  app.get(
    "/v1/content/:guid/bundles/:id/download",
    {
      schema: {
        tags,
        summary: "Download the bundle archive as uploaded",
        params: BundleParams,
        response: { 200: Type.Any(), ...errors },
      },
      config: { role: "publisher" },
    },
    async (request, reply) => {
      const item = await content.getBehindTheScenes(request.user!, request.params.guid);
      const bundle = await bundles.get(item.guid, Number(request.params.id));
      return (reply as FastifyReply)
        .type("application/gzip")
        .header("Content-Disposition", `attachment; filename="bundle-${bundle.id}.tar.gz"`)
        .send(createReadStream(bundles.archivePath(bundle)));
    },
  );

  app.delete(
    "/v1/content/:guid/bundles/:id",
    {
      schema: {
        tags,
        summary: "Delete a bundle other than the active one",
        params: BundleParams,
        response: { 204: Type.Null(), ...errors },
      },
      config: { role: "publisher" },
    },
    async (request, reply) => {
      const item = await content.getEditable(request.user!, request.params.guid);
      await bundles.remove(item, Number(request.params.id));
      return reply.status(204).send(null);
    },
  );
};
