/**
 * Where content lives for browsers: beside the dashboard (the default), on one separate
 * content origin, or on one origin per content item. Requests are told apart by their Host.
 */
import type { IncomingHttpHeaders } from "node:http";
import {
  type ContentOrigin,
  contentOfHost,
  formatOrigin,
  originOfContent,
  parseContentOrigin,
  parseOrigin,
} from "../config/origins.js";
import type { Settings } from "../config/settings.js";
import { isSecureRequest } from "./session-cookie.js";

export type HostKind = { kind: "dashboard" } | { kind: "content"; guid: "any" | string };

export class ContentSite {
  /** The separate content origin, when there is one. */
  readonly content: ContentOrigin | null;
  /** The dashboard's origin as configured, when it is. */
  readonly dashboard: string | null;

  constructor(server: Pick<Settings["Server"], "ContentOrigin" | "DashboardOrigin">) {
    this.content = server.ContentOrigin ? parseContentOrigin(server.ContentOrigin) : null;
    this.dashboard = server.DashboardOrigin
      ? formatOrigin(parseOrigin(server.DashboardOrigin))
      : null;
  }

  hostOf(headers: IncomingHttpHeaders): HostKind {
    const guid = this.content ? contentOfHost(this.content, headers.host) : null;
    return guid ? { kind: "content", guid } : { kind: "dashboard" };
  }

  /** The origin the browser used for this request, as the browser sees it. */
  requestOrigin(headers: IncomingHttpHeaders, encrypted: boolean): string {
    const kind = this.hostOf(headers);
    if (kind.kind === "dashboard" && this.dashboard) return this.dashboard;
    return `${isSecureRequest(headers, encrypted) ? "https" : "http"}://${headers.host ?? "localhost"}`;
  }

  /** The URL of a content item, for API responses and the dashboard's links. */
  contentUrl(guid: string, requestBase: string): string {
    return `${this.originFor(guid) ?? requestBase}/content/${guid}/`;
  }

  /** The separate origin a content item is served from, if there is one. */
  originFor(guid: string): string | null {
    return this.content && originOfContent(this.content, guid);
  }

  /** Where a content visitor without a content pass signs in and comes back from. */
  dashboardUrl(path: string): string | null {
    return this.dashboard && `${this.dashboard}${path}`;
  }
}
