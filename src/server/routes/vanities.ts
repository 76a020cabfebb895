/**
 * Vanity URLs: a path of Slipway's own host that serves one content item. A request under it
 * is redirected (307, keeping the method and body) to the content URL, so the content is
 * served with all the protections of its content URL. Paths are unique, none is a prefix of
 * another, and none shadows Slipway's own paths.
 */
import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import type { ContentService } from "../../content/content-service.js";
import { Vanity } from "../../content/tag-model.js";
import { ApiError } from "../../errors.js";
import type { Store } from "../../store/database.js";
import type { UserRow } from "../../store/users.js";
import {
  clashingVanities,
  deleteVanities,
  findVanity,
  listVanities,
  putVanity,
  type VanityRow,
  vanitiesAt,
} from "../../store/vanities.js";
import { roleAtLeast } from "../../users/roles.js";
import { errors, GuidParams } from "./schemas.js";

/** First segments Slipway itself answers, or may answer: never a vanity. */
const RESERVED = new Set(["content", "connect", "metrics", "favicon.ico", "robots.txt"]);
const SEGMENT = /^[A-Za-z0-9_.~-]+$/;
const MAX_PATH = 512;

/** The path with a slash at each end, or why it cannot be a vanity. */
export function vanityPath(text: string): { path: string } | { problem: string } {
  const segments = text.split("/").filter((s) => s !== "");
  if (segments.length === 0) return { problem: "it names no path" };
  if (text.length > MAX_PATH) return { problem: `it is longer than ${MAX_PATH} characters` };
  for (const segment of segments) {
    if (segment === "." || segment === "..") return { problem: `it contains "${segment}"` };
    if (!SEGMENT.test(segment)) {
      return { problem: `"${segment}" may hold only letters, digits, '-', '_', '.' and '~'` };
    }
  }
  const first = segments[0]!;
  if (first.startsWith("__") || RESERVED.has(first.toLowerCase())) {
    return { problem: `/${first}/ is one of Slipway's own paths` };
  }
  return { path: `/${segments.join("/")}/` };
}

/** The content guid and the rest of the path, when the request is under a vanity. */
export async function resolveVanity(
  store: Store,
  url: string,
): Promise<{ guid: string; rest: string } | null> {
  const [pathname = "/", query] = url.split(/\?(.*)/s, 2);
  const segments = pathname.split("/").filter((s) => s !== "");
  if (segments.length === 0 || segments.length > 64) return null;
  const prefixes = segments.map((_, i) => `/${segments.slice(0, i + 1).join("/")}/`);
  const [found] = await vanitiesAt(store.db, prefixes);
  if (!found) return null;
  const rest = `${pathname}/`.startsWith(found.path)
    ? pathname.slice(Math.min(found.path.length, pathname.length))
    : "";
  return { guid: found.content_guid, rest: rest + (query === undefined ? "" : `?${query}`) };
}

export const vanityRoutes: FastifyPluginAsyncTypebox<{
  store: Store;
  content: ContentService;
}> = async (app, { store, content }) => {
  const tags = ["content"];
  const toVanity = (row: VanityRow) => ({ ...row });

  app.get(
    "/v1/vanities",
    {
      schema: {
        tags,
        summary: "Every vanity URL of content the caller may see",
        response: { 200: Type.Array(Vanity), ...errors },
      },
      config: { role: "viewer" },
    },
    async (request) => {
      const rows = await listVanities(store.db);
      if (roleAtLeast(request.user!.user_role, "administrator")) return rows.map(toVanity);
      const visible = new Set((await content.list(request.user!, {})).map(({ row }) => row.guid));
      return rows.filter((v) => visible.has(v.content_guid)).map(toVanity);
    },
  );

  app.get(
    "/v1/content/:guid/vanity",
    {
      schema: {
        tags,
        summary: "The content's vanity URL",
        params: GuidParams,
        response: { 200: Vanity, ...errors },
      },
      config: { role: "viewer" },
    },
    async (request) => {
      await content.getViewable(request.user!, request.params.guid);
      const row = await findVanity(store.db, request.params.guid);
      if (!row) {
        throw new ApiError("notFound", `Content ${request.params.guid} has no vanity URL.`, {
          payload: { content_guid: request.params.guid },
        });
      }
      return toVanity(row);
    },
  );

  app.put(
    "/v1/content/:guid/vanity",
    {
      schema: {
        tags,
        summary:
          "Give the content a vanity URL; force (administrators) takes it from other content",
        params: GuidParams,
        body: Type.Object({
          path: Type.String({ minLength: 1, maxLength: 1024 }),
          force: Type.Optional(Type.Boolean()),
        }),
        response: { 200: Vanity, ...errors },
      },
      config: { role: "publisher" },
    },
    async (request) => {
      await content.getEditable(request.user!, request.params.guid);
      const checked = vanityPath(request.body.path);
      if ("problem" in checked) {
        throw new ApiError(
          "invalidParameter",
          `The vanity path "${request.body.path}" cannot be used: ${checked.problem}.`,
          { payload: { path: request.body.path } },
        );
      }
      const force = request.body.force === true;
      if (force) assertAdministrator(request.user!);
      try {
        return toVanity(
          await store.db.transaction().execute(async (trx) => {
            const clashes = await clashingVanities(trx, request.params.guid, checked.path);
            if (clashes.length > 0 && !force) {
              throw new ApiError(
                "invalidParameter",
                `The vanity path ${checked.path} ${clashes.some((c) => c.path === checked.path) ? "is taken" : `overlaps ${clashes.map((c) => c.path).join(", ")}`} by other content.`,
                { status: 409, payload: { path: checked.path } },
              );
            }
            await deleteVanities(
              trx,
              clashes.map((c) => c.content_guid),
            );
            return putVanity(trx, request.params.guid, checked.path);
          }),
        );
      } catch (error) {
        if (store.dialect.isUniqueViolation(error)) {
          throw new ApiError("invalidParameter", `The vanity path ${checked.path} is taken.`, {
            status: 409,
            payload: { path: checked.path },
          });
        }
        throw error;
      }
    },
  );

  app.delete(
    "/v1/content/:guid/vanity",
    {
      schema: {
        tags,
        summary: "Remove the content's vanity URL",
        params: GuidParams,
        response: { 204: Type.Null(), ...errors },
      },
      config: { role: "publisher" },
    },
    async (request, reply) => {
      await content.getEditable(request.user!, request.params.guid);
      if (!(await findVanity(store.db, request.params.guid))) {
        throw new ApiError("notFound", `Content ${request.params.guid} has no vanity URL.`);
      }
      await deleteVanities(store.db, [request.params.guid]);
      return reply.status(204).send(null);
    },
  );
};

function assertAdministrator(user: UserRow): void {
  if (!roleAtLeast(user.user_role, "administrator")) {
    throw new ApiError(
      "permissionDenied",
      "Only administrators may take a vanity path from other content (force).",
    );
  }
}
