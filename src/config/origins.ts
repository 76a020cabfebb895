/**
 * The origins browsers reach Slipway at: the dashboard's (which is also the API's), and the
 * separate one content may be served from — one origin for all content, or one subdomain per
 * content item (`https://{guid}.content.example.com`). Pure parsing and matching.
 */

export interface Origin {
  readonly scheme: "http" | "https";
  /** Lower-case host name, without the port. */
  readonly hostname: string;
  /** The port as written, or "" for the scheme's default. */
  readonly port: string;
}

export type ContentOrigin =
  | { readonly kind: "shared"; readonly origin: Origin }
  /** Each content item at `<guid><suffix>`, such as `<guid>.content.example.com`. */
  | {
      readonly kind: "per-content";
      readonly scheme: Origin["scheme"];
      readonly suffix: string;
      readonly port: string;
    };

const DEFAULT_PORT = { http: "80", https: "443" } as const;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Parses `scheme://host[:port]`, nothing more; throws a sentence on anything else. */
export function parseOrigin(raw: string): Origin {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`must be an origin such as https://slipway.example.com, not "${raw}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new Error(`must start with http:// or https://, not "${raw}"`);
  }
  if ((url.pathname !== "/" && url.pathname !== "") || url.search || url.hash || url.username) {
    throw new Error(`must be only scheme://host[:port], with no path, not "${raw}"`);
  }
  return {
    scheme: url.protocol === "https:" ? "https" : "http",
    hostname: url.hostname,
    port: url.port,
  };
}

export function parseContentOrigin(raw: string): ContentOrigin {
  if (!raw.includes("{guid}")) return { kind: "shared", origin: parseOrigin(raw) };
  const match = /^(https?):\/\/\{guid\}(\.[^/:{}]+)(?::(\d{1,5}))?\/?$/.exec(raw);
  if (!match) {
    throw new Error(
      `may hold {guid} only as the whole first label of the host, as in https://{guid}.content.example.com, not "${raw}"`,
    );
  }
  // The sample guid only checks that the rest is a valid host name.
  const sample = parseOrigin(raw.replace("{guid}", "00000000-0000-0000-0000-000000000000"));
  return {
    kind: "per-content",
    scheme: sample.scheme,
    suffix: sample.hostname.slice(36),
    port: sample.port,
  };
}

export function formatOrigin(origin: Origin): string {
  return `${origin.scheme}://${origin.hostname}${origin.port ? `:${origin.port}` : ""}`;
}

/** The origin a content item is served from. */
export function originOfContent(content: ContentOrigin, guid: string): string {
  if (content.kind === "shared") return formatOrigin(content.origin);
  return formatOrigin({
    scheme: content.scheme,
    hostname: `${guid}${content.suffix}`,
    port: content.port,
  });
}

/**
 * Which content a Host header names: "any" for the shared content origin, a guid for a
 * per-content host, or null when the host is not a content host.
 */
export function contentOfHost(
  content: ContentOrigin,
  host: string | undefined,
): "any" | string | null {
  if (!host) return null;
  const scheme = content.kind === "shared" ? content.origin.scheme : content.scheme;
  const { hostname, port } = splitHost(host);
  const given = port === DEFAULT_PORT[scheme] ? "" : port;
  if (content.kind === "shared") {
    return hostname === content.origin.hostname && given === content.origin.port ? "any" : null;
  }
  if (given !== content.port || !hostname.endsWith(content.suffix)) return null;
  const guid = hostname.slice(0, -content.suffix.length);
  return GUID.test(guid) ? guid : null;
}

export function splitHost(host: string): { hostname: string; port: string } {
  const at = host.lastIndexOf(":");
  const bracket = host.lastIndexOf("]");
  if (at > bracket && at >= 0)
    return { hostname: host.slice(0, at).toLowerCase(), port: host.slice(at + 1) };
  return { hostname: host.toLowerCase(), port: "" };
}

/**
 * Why a content origin cannot work beside the dashboard origin, or null. Cookies ignore
 * ports, so a content origin on the dashboard's host name would receive its cookies.
 */
export function originConflict(content: ContentOrigin, dashboard: Origin): string | null {
  const host = content.kind === "shared" ? content.origin.hostname : null;
  if (host === dashboard.hostname) {
    return "ContentOrigin must use another host name than DashboardOrigin: cookies are shared between ports of one host";
  }
  if (content.kind === "per-content" && dashboard.hostname.endsWith(content.suffix)) {
    return "DashboardOrigin must not itself look like a content host under ContentOrigin";
  }
  const scheme = content.kind === "shared" ? content.origin.scheme : content.scheme;
  if (dashboard.scheme === "https" && scheme === "http") {
    return "ContentOrigin must use https when DashboardOrigin does";
  }
  return null;
}
