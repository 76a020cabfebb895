/**
 * Serves deployed content at its content_url: files for static and rendered content, and a
 * reverse proxy (HTTP and WebSocket) to the process of an application, started on demand.
 *
 * Content is code publishers wrote, opened by people signed in to the dashboard, so it must
 * not be able to act as them. Documents of static and rendered content are sandboxed
 * (`sandbox` without `allow-same-origin`: an opaque origin, no cookies, no storage); their
 * own requests carry a content pass in the path instead of the session cookie. Applications
 * beside the dashboard may connect only to their own content URL. With a separate content
 * origin, the dashboard's cookies never reach content at all; a pass in a cookie of that
 * origin lets the visitor in.
 */
import type { IncomingHttpHeaders } from "node:http";
import { connect, type Socket } from "node:net";
import path from "node:path";
import { Readable } from "node:stream";
import fastifyStatic from "@fastify/static";
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from "fastify";
import {
  type ContentLookup,
  type ContentResolver,
  lookupOnce,
} from "../../content/content-resolver.js";
import { ApiError, isApiError } from "../../errors.js";
import type { Store } from "../../store/database.js";
import { findSession } from "../../store/sessions.js";
import type { UserRow } from "../../store/users.js";
import { hashApiKey } from "../../users/api-key.js";
import { type AppForwarder, type AppTarget, ClientGone } from "../app-forwarding.js";
import { authenticate, sessionId } from "../auth.js";
import { issuePass, PASS_COOKIE, PASS_SEGMENT, redeemPass, splitPass } from "../content-pass.js";
import type { ContentSite, HostKind } from "../content-site.js";
import { openToAnyone, refuseViewer } from "../content-visitors.js";
import { filterResponseHeaders, type Headers, withoutCredentials } from "../proxy-headers.js";
import { markContent } from "../security-headers.js";
import { cookieValues, isSecureRequest } from "../session-cookie.js";

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PREFIX = /^\/content\/([0-9a-f-]{36})(\/[^?]*)?(\?.*)?$/;
const PASS_COOKIE_SECONDS = 12 * 3600;

/** Documents of static and rendered content: scripts run, but in an origin of their own. */
export const SANDBOX =
  "sandbox allow-scripts allow-forms allow-popups allow-popups-to-escape-sandbox allow-modals allow-downloads allow-presentation";

export interface ContentServingOptions {
  resolver: ContentResolver;
  store: Store;
  site: ContentSite;
  forwarder: AppForwarder;
}

/** Who may see this content in this request (null: anyone may), and how the answer must go. */
type Access =
  | { kind: "serve"; user: UserRow | null }
  | { kind: "redirect"; to: string; cookie?: string };

export const contentServingRoutes: FastifyPluginAsync<ContentServingOptions> = async (
  app,
  { resolver, store, site, forwarder },
) => {
  await app.register(fastifyStatic, { root: path.resolve("/"), serve: false });
  // An application's request bodies are its own business: any type goes through unparsed.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", (_request, payload, done) => done(null, payload));

  app.all(
    "/content/:guid/*",
    { schema: { hide: true }, config: { role: null } },
    async (request, reply) => {
      const { guid } = request.params as { guid: string };
      const host = site.hostOf(request.headers);
      if (
        !GUID.test(guid) ||
        (host.kind === "content" && host.guid !== "any" && host.guid !== guid)
      ) {
        throw new ApiError("notFound", `No content ${guid} on this host.`);
      }
      const full = `/${(request.params as { "*": string })["*"] ?? ""}`;
      const { pass, rest } = splitPass(full);
      const query = request.url.includes("?") ? request.url.slice(request.url.indexOf("?")) : "";
      // `/_bundle{id}/` previews a draft bundle; the rest of its path is the draft's own.
      const preview = /^\/_bundle([1-9][0-9]{0,9})(\/.*)?$/.exec(rest);
      const draft = preview ? Number(preview[1]) : null;
      if (preview && preview[2] === undefined) {
        return reply.redirect(`/content/${guid}/_bundle${draft}/${query}`, 302);
      }
      const row = lookupOnce(store, guid);
      const ask = { request, guid, host, pass, rest, query, row };
      const access = await decide(ask, () => resolver.servedAs(guid, draft, row));
      if (access.kind === "redirect") {
        if (access.cookie) reply.header("Set-Cookie", access.cookie);
        return reply.redirect(access.to, 302);
      }
      const refusal = await refuseViewer(store, access.user, guid, row);
      if (refusal) {
        if (!wantsPage(request)) throw refusal;
        return reply.status(403).type("text/html; charset=utf-8").send(NOT_ALLOWED);
      }
      if (draft !== null) await resolver.checkPreview(access.user, guid, row);
      const inner = preview ? preview[2]! : rest;
      const target = await resolver.resolve(guid, draft, row);
      markContent(reply);
      if (target.kind === "files") {
        if (request.method !== "GET" && request.method !== "HEAD") {
          throw new ApiError("badRequest", "Static content only answers GET and HEAD.", {
            status: 405,
          });
        }
        reply.header("Content-Security-Policy", SANDBOX);
        const file = inner.endsWith("/") ? `${inner}${target.index}` : inner;
        return reply.sendFile(file.slice(1), target.root);
      }
      try {
        const answer = await forwarder.answer({
          guid,
          draft,
          request: request.raw,
          encrypted: request.protocol === "https",
          response: reply.raw,
          pathAndQuery: inner + query,
          // Fastify reads a body only for methods that carry one (and not GET or HEAD).
          body: request.body instanceof Readable ? request.body : undefined,
          target,
          elapsedSeconds: () => reply.elapsedTime / 1000,
        });
        return reply.code(answer.status).headers(answer.headers).send(answer.body);
      } catch (error) {
        if (error instanceof ClientGone) return reply;
        throw error;
      }
    },
  );

  app.get("/content/:guid", { schema: { hide: true }, config: { role: null } }, (request, reply) =>
    reply.redirect(`/content/${(request.params as { guid: string }).guid}/`),
  );

  /**
   * The rules of the module comment, in order: keys are for programs and work anywhere;
   * the dashboard's session works beside the dashboard; passes work in paths (documents) and
   * in the content origin's cookie (applications).
   */
  async function decide(
    ask: {
      request: FastifyRequest;
      guid: string;
      host: HostKind;
      pass: string | null;
      rest: string;
      query: string;
      row: ContentLookup;
    },
    servedAs: () => Promise<"files" | "app">,
  ): Promise<Access> {
    const { request, guid, host, pass, rest, query, row } = ask;
    const { headers } = request;
    const navigable = request.method === "GET" || request.method === "HEAD";
    const here = (p: string | null) =>
      `/content/${guid}${p ? `/${PASS_SEGMENT}/${p}` : ""}${rest}${query}`;
    if (headers.authorization) {
      // The auth hook has checked the key already, for every route.
      return { kind: "serve", user: request.user ?? (await authenticate(headers, store, "GET")) };
    }
    if (host.kind === "dashboard") {
      const cookie = sessionId(headers);
      if (cookie) {
        const session = await findSession(store.db, hashApiKey(cookie));
        if (!session || session.user.locked) {
          throw new ApiError("authenticationRequired", "Your session has ended: sign in again.");
        }
        const own = issuePass({ idHash: hashApiKey(cookie), csrfToken: session.csrf_token }, guid);
        const elsewhere = site.originFor(guid);
        if (elsewhere) {
          if (!navigable) throw mustNavigate();
          return { kind: "redirect", to: `${elsewhere}${here(own)}` };
        }
        if ((await servedAs()) === "app") {
          return pass
            ? { kind: "redirect", to: here(null) }
            : { kind: "serve", user: session.user };
        }
        if (pass === own) return { kind: "serve", user: session.user };
        if (!navigable) throw mustNavigate();
        return { kind: "redirect", to: here(own) };
      }
      if (pass) {
        const holder = await redeemPass(store, pass, guid);
        if (holder && (await servedAs()) === "files") return { kind: "serve", user: holder.user };
      }
      if (await openToAnyone(row)) return { kind: "serve", user: null };
      if (wantsPage(request)) return { kind: "redirect", to: signInThenBack(here(null)) };
      return { kind: "serve", user: await authenticate(headers, store, "GET") };
    }
    // A content host: only passes count here.
    if (pass) {
      const holder = await redeemPass(store, pass, guid);
      if (holder) {
        if ((await servedAs()) === "files") return { kind: "serve", user: holder.user };
        return { kind: "redirect", to: here(null), cookie: passCookie(guid, pass, headers) };
      }
    } else {
      for (const value of cookieValues(headers, PASS_COOKIE)) {
        const holder = await redeemPass(store, value, guid);
        if (!holder) continue;
        if ((await servedAs()) === "app") return { kind: "serve", user: holder.user };
        if (navigable) return { kind: "redirect", to: here(value) };
      }
    }
    if (await openToAnyone(row)) return { kind: "serve", user: null };
    const signIn = site.dashboardUrl(`/content/${guid}${rest}${query}`);
    if (navigable && signIn) return { kind: "redirect", to: signIn };
    throw new ApiError("authenticationRequired", "Open the content from the dashboard to sign in.");
  }

  proxyWebSockets(app, resolver, store, site);
};

/** The dashboard's sign-in, which sends the visitor back to `path` once they are signed in. */
function signInThenBack(path: string): string {
  return `/connect/?${new URLSearchParams({ return: path })}`;
}

const NOT_ALLOWED = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not allowed</title></head><body><h1>You do not have access to this content</h1><p>Ask its owner to add you, or <a href="/connect/">sign in as someone else</a>.</p></body></html>`;

/** A browser opening a page, rather than a program or a page's own request. */
function wantsPage(request: FastifyRequest): boolean {
  return (
    (request.method === "GET" || request.method === "HEAD") &&
    (request.headers.accept ?? "").includes("text/html")
  );
}

function mustNavigate(): ApiError {
  return new ApiError("badRequest", "Open this content with GET first.", { status: 405 });
}

function passCookie(guid: string, pass: string, headers: IncomingHttpHeaders): string {
  const secure = isSecureRequest(headers) ? "; Secure" : "";
  return `${PASS_COOKIE}=${pass}; Path=/content/${guid}/; HttpOnly; SameSite=Lax; Max-Age=${PASS_COOKIE_SECONDS}${secure}`;
}

/**
 * Hands WebSocket upgrades under /content/<guid>/ to the application's own socket, after the
 * same checks as a page of the application, and filters the application's handshake answer
 * as any other response (it may carry Set-Cookie too).
 */
function proxyWebSockets(
  app: FastifyInstance,
  resolver: ContentResolver,
  store: Store,
  site: ContentSite,
): void {
  app.server.on("upgrade", async (request, socket: Socket, head) => {
    const match = PREFIX.exec(request.url ?? "");
    if (!match) return socket.destroy();
    try {
      const guid = match[1]!;
      const row = lookupOnce(store, guid);
      const host = site.hostOf(request.headers);
      if (host.kind === "content" && host.guid !== "any" && host.guid !== guid) throw refused();
      if (!sameOrigin(request.headers)) throw refused();
      let visitor: UserRow | null = null;
      if (request.headers.authorization || host.kind === "dashboard") {
        if (site.content && !request.headers.authorization) throw refused();
        const anonymous = !request.headers.authorization && !sessionId(request.headers);
        if (!anonymous || !(await openToAnyone(row))) {
          visitor = await authenticate(request.headers, store, "GET");
        }
      } else {
        const passes = cookieValues(request.headers, PASS_COOKIE);
        const holders = await Promise.all(passes.map((p) => redeemPass(store, p, guid)));
        const holder = holders.find(Boolean);
        if (holder) visitor = holder.user;
        else if (!(await openToAnyone(row))) throw refused();
      }
      if (await refuseViewer(store, visitor, guid, row)) throw refused();
      const sub = /^\/_bundle([1-9][0-9]{0,9})(\/.*)?$/.exec(match[2] ?? "/");
      const draft = sub ? Number(sub[1]) : null;
      if (draft !== null) await resolver.checkPreview(visitor, guid, row);
      const target = await resolver.resolve(guid, draft, row);
      if (target.kind !== "app") return socket.destroy();
      socket.once("close", target.release);
      const prefix = draft === null ? `/content/${guid}/` : `/content/${guid}/_bundle${draft}/`;
      const inner = sub ? (sub[2] ?? "/") : (match[2] ?? "/");
      const upstream = connect(target.port, target.host, () => {
        const lines = [`${request.method} ${inner}${match[3] ?? ""} HTTP/${request.httpVersion}`];
        for (const [name, value] of Object.entries(withoutCredentials(request.headers))) {
          for (const one of Array.isArray(value) ? value : [value]) lines.push(`${name}: ${one}`);
        }
        upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
        if (head.length > 0) upstream.write(head);
        forwardHandshake(upstream, socket, prefix);
      });
      upstream.on("error", () => socket.destroy());
      socket.on("error", () => upstream.destroy());
      socket.on("close", () => upstream.destroy());
      cutWhenQuiet(socket, target.timeouts);
    } catch (error) {
      if (!isApiError(error)) app.log.warn({ err: error }, "WebSocket upgrade failed");
      socket.destroy();
    }
  });
}

/**
 * Ends a WebSocket whose connection passes `idleMs` with no data either way (everything the
 * application sends is written to the client's socket, so its inactivity is both directions'),
 * or `readMs` with nothing from the client; its application socket goes with it.
 */
function cutWhenQuiet(client: Socket, { idleMs, readMs }: AppTarget["timeouts"]): void {
  if (idleMs > 0) {
    client.setTimeout(idleMs);
    client.once("timeout", () => client.destroy());
  }
  if (readMs > 0) {
    const timer = setTimeout(() => client.destroy(), readMs);
    client.on("data", () => timer.refresh());
    client.once("close", () => clearTimeout(timer));
  }
}

function refused(): ApiError {
  return new ApiError("permissionDenied", "WebSocket refused.");
}

/** A browser's WebSocket from another origin is refused: it would ride on this origin's cookies. */
function sameOrigin(headers: IncomingHttpHeaders): boolean {
  if (headers.origin === undefined) return true;
  try {
    return new URL(headers.origin).host === headers.host;
  } catch {
    return false;
  }
}

/** Reads the application's handshake answer, filters its headers, then joins the sockets. */
function forwardHandshake(upstream: Socket, client: Socket, prefix: string): void {
  let buffered = Buffer.alloc(0);
  const onData = (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    const end = buffered.indexOf("\r\n\r\n");
    if (end < 0) {
      if (buffered.length > 64 * 1024) client.destroy();
      return;
    }
    upstream.off("data", onData);
    const [status = "", ...lines] = buffered.subarray(0, end).toString("latin1").split("\r\n");
    const headers: Headers = {};
    for (const line of lines) {
      const at = line.indexOf(":");
      if (at <= 0) continue;
      const name = line.slice(0, at).trim().toLowerCase();
      const value = line.slice(at + 1).trim();
      const before = headers[name];
      headers[name] = before === undefined ? value : [...[before].flat().map(String), value];
    }
    const filtered = filterResponseHeaders(headers, {
      prefix,
      requestUrl: `http://upstream${prefix}`,
      ownHosts: [],
      handshake: true,
    });
    const kept = filtered.ok ? filtered.headers : {};
    const out = [status];
    for (const [name, value] of Object.entries(kept)) {
      for (const one of [value].flat()) out.push(`${name}: ${one}`);
    }
    client.write(`${out.join("\r\n")}\r\n\r\n`);
    const remainder = buffered.subarray(end + 4);
    if (remainder.length > 0) client.write(remainder);
    upstream.pipe(client);
    client.pipe(upstream);
  };
  upstream.on("data", onData);
}
