import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { FastifyReply } from "fastify";
import type { ContentService } from "../../content/content-service.js";
import { type InstalledPackage, lockfile } from "../../content/installed-packages.js";
import { ApiError } from "../../errors.js";
import { findBundle } from "../../store/bundles.js";
import type { Store } from "../../store/database.js";
import { activeBundlePackages } from "../../store/packages.js";
import { roleAtLeast } from "../../users/roles.js";
import { errors, GuidParams } from "./schemas.js";

const Language = Type.Union([Type.Literal("python"), Type.Literal("r")]);

const ContentPackage = Type.Object({
  language: Type.String(),
  language_version: Type.Union([Type.String(), Type.Null()]),
  name: Type.String(),
  version: Type.String(),
  hash: Type.Union([Type.String(), Type.Null()]),
});

const Package = Type.Object({
  ...ContentPackage.properties,
  bundle_id: Type.String(),
  app_id: Type.String(),
  app_guid: Type.String(),
});

const filters = {
  language: Type.Optional(Language),
  name: Type.Optional(Type.String({ maxLength: 255 })),
  version: Type.Optional(Type.String({ maxLength: 255 })),
  hash: Type.Optional(Type.String({ maxLength: 255 })),
};

function matches(
  p: InstalledPackage,
  query: { language?: string; name?: string; version?: string; hash?: string },
): boolean {
  return (
    (query.language === undefined || p.language === query.language) &&
    (query.name === undefined || p.name === query.name) &&
    (query.version === undefined || p.version === query.version) &&
    (query.hash === undefined || p.hash === query.hash)
  );
}

export const packageRoutes: FastifyPluginAsyncTypebox<{
  store: Store;
  content: ContentService;
  slipwayVersion: string;
}> = async (app, { store, content, slipwayVersion }) => {
  const tags = ["packages"];

  /** The packages of a content item's active bundle; 404 until a build recorded them. */
  async function packagesOf(
    guid: string,
    caller: Parameters<ContentService["getBehindTheScenes"]>[0],
  ) {
    const item = await content.getBehindTheScenes(caller, guid);
    const bundle = item.bundle_id === null ? undefined : await findBundle(store.db, item.bundle_id);
    if (!bundle?.packages) {
      throw new ApiError("notFound", `Content ${guid} has no built bundle to list packages of.`, {
        payload: { guid },
      });
    }
    return JSON.parse(bundle.packages) as InstalledPackage[];
  }

  app.get(
    "/v1/packages",
    {
      schema: {
        tags,
        summary: "Packages the active bundles of the content you may see were built with",
        querystring: Type.Object({
          ...filters,
          bundle_id: Type.Optional(Type.String({ maxLength: 32 })),
          app_id: Type.Optional(Type.String({ maxLength: 64 })),
          app_guid: Type.Optional(Type.String({ maxLength: 64 })),
          page_number: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
          page_size: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
        }),
        response: {
          200: Type.Object({
            current_page: Type.Integer(),
            total: Type.Integer(),
            results: Type.Array(Package),
          }),
          ...errors,
        },
      },
      config: { role: "publisher" },
    },
    async (request) => {
      const query = request.query;
      const caller = request.user!;
      const all = [];
      for (const row of await activeBundlePackages(store.db)) {
        if (row.owner_guid !== caller.guid && !roleAtLeast(caller.user_role, "administrator")) {
          continue;
        }
        if (query.bundle_id !== undefined && String(row.bundle_id) !== query.bundle_id) continue;
        const guid = row.content_guid;
        if ((query.app_guid ?? query.app_id ?? guid) !== guid) continue;
        for (const p of JSON.parse(row.packages!) as InstalledPackage[]) {
          if (matches(p, query)) {
            all.push({ ...p, bundle_id: String(row.bundle_id), app_id: guid, app_guid: guid });
          }
        }
      }
      const page = query.page_number ?? 1;
      const size = query.page_size ?? 100;
      return {
        current_page: page,
        total: all.length,
        results: all.slice((page - 1) * size, page * size),
      };
    },
  );

  app.get(
    "/v1/content/:guid/packages",
    {
      schema: {
        tags,
        summary: "Packages the content's active bundle was built with",
        params: GuidParams,
        querystring: Type.Object(filters),
        response: { 200: Type.Array(ContentPackage), ...errors },
      },
      config: { role: "publisher" },
    },
    async (request) =>
      (await packagesOf(request.params.guid, request.user!)).filter((p) =>
        matches(p, request.query),
      ),
  );

  app.get(
    "/v1/content/:guid/lockfile",
    {
      schema: {
        tags,
        summary: "A lockfile of the content's packages: requirements.txt (Python) or renv.lock (R)",
        params: GuidParams,
        response: { 200: Type.String(), ...errors },
      },
      config: { role: "publisher" },
    },
    async (request, reply) => {
      const packages = await packagesOf(request.params.guid, request.user!);
      const language = packages.some((p) => p.language === "python") ? "python" : "r";
      if (!packages.some((p) => p.language === language)) {
        throw new ApiError(
          "notFound",
          `Content ${request.params.guid} was built with no packages.`,
          {
            payload: { guid: request.params.guid },
          },
        );
      }
      const lock = lockfile(packages, language);
      return (reply as FastifyReply)
        .type(lock.type)
        .header("Generated-By", `slipway/${slipwayVersion}`)
        .header("Content-Disposition", `attachment; filename="${lock.fileName}"`)
        .send(lock.text);
    },
  );
};
