import type { FastifyPluginAsyncTypebox } from "@fastify/type-provider-typebox";
import { Type } from "@sinclair/typebox";
import { ApiError } from "../../errors.js";
import { type AuditLogRow, auditLogPage } from "../../store/audit-logs.js";
import type { Store } from "../../store/database.js";
import { errors } from "./schemas.js";

const Entry = Type.Object({
  id: Type.String(),
  time: Type.String(),
  user_id: Type.Union([Type.String(), Type.Null()]),
  user_guid: Type.Union([Type.String(), Type.Null()]),
  user_description: Type.String(),
  action: Type.String(),
  event_description: Type.String(),
});

const Cursor = Type.Union([Type.String(), Type.Null()]);

const toEntry = (row: AuditLogRow) => ({
  id: String(row.id),
  time: row.time,
  user_id: row.user_guid,
  user_guid: row.user_guid,
  user_description: row.user_description,
  action: row.action,
  event_description: row.event_description,
});

/** A cursor names the id a page starts beyond; opaque to clients, as Connect's are. */
const cursor = (id: number) => Buffer.from(`audit:${id}`).toString("base64url");

function readCursor(text: string, name: string): number {
  const match = /^audit:([1-9][0-9]{0,9})$/.exec(Buffer.from(text, "base64url").toString());
  if (!match || Number(match[1]) > 2_147_483_647) {
    throw new ApiError("invalidParameter", `Invalid ${name} cursor.`, {
      payload: { [name]: text },
    });
  }
  return Number(match[1]);
}

export const auditLogRoutes: FastifyPluginAsyncTypebox<{ store: Store }> = async (
  app,
  { store },
) => {
  app.get(
    "/v1/audit_logs",
    {
      schema: {
        tags: ["audit"],
        summary: "The audit log, paged with cursors",
        querystring: Type.Object({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 20 })),
          previous: Type.Optional(Type.String({ maxLength: 64 })),
          next: Type.Optional(Type.String({ maxLength: 64 })),
          ascOrder: Type.Optional(Type.Boolean({ default: true })),
        }),
        response: {
          200: Type.Object({
            paging: Type.Object({
              cursors: Type.Object({ previous: Cursor, next: Cursor }),
              first: Cursor,
              previous: Cursor,
              next: Cursor,
              last: Cursor,
            }),
            results: Type.Array(Entry),
          }),
          ...errors,
        },
      },
      config: { role: "administrator" },
    },
    async (request) => {
      const { limit = 20, ascOrder = true } = request.query;
      const next = request.query.next && readCursor(request.query.next, "next");
      const previous = request.query.previous && readCursor(request.query.previous, "previous");
      if (next && previous) {
        throw new ApiError("invalidParameter", "Send next or previous, not both.");
      }
      // "Beyond" an id follows the order asked for; a previous page is read backwards.
      const backwards = Boolean(previous);
      const from = next || previous || undefined;
      const readAscending = ascOrder !== backwards;
      const rows = await auditLogPage(store.db, {
        limit,
        ascending: readAscending,
        ...(from === undefined ? {} : readAscending ? { after: from } : { before: from }),
      });
      const more = rows.length > limit;
      const page = rows.slice(0, limit);
      if (backwards) page.reverse();
      const first = page[0];
      const last = page.at(-1);
      const hasNext = backwards ? page.length > 0 : more;
      const hasPrevious = backwards ? more : from !== undefined && page.length > 0;
      const nextCursor = hasNext && last ? cursor(last.id) : null;
      const previousCursor = hasPrevious && first ? cursor(first.id) : null;
      const base = `/__api__/v1/audit_logs?limit=${limit}&ascOrder=${ascOrder}`;
      return {
        paging: {
          cursors: { previous: previousCursor, next: nextCursor },
          first: base,
          previous: previousCursor && `${base}&previous=${previousCursor}`,
          next: nextCursor && `${base}&next=${nextCursor}`,
          last: `${base.replace(`ascOrder=${ascOrder}`, `ascOrder=${!ascOrder}`)}`,
        },
        results: page.map(toEntry),
      };
    },
  );
};
