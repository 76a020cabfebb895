/**
 * Discovery documents: the legacy per-group lists kubectl falls back to, the aggregated
 * (apidiscovery.k8s.io/v2) form it asks for first, and /version.
 */
import { discoveryEntries, groupVersions, RESOURCES } from "./resources.js";

export const VERSION_INFO = {
  major: "1",
  minor: "33",
  gitVersion: "v1.33.0-slipway-standin",
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2025-04-23T00:00:00Z",
  goVersion: "go1.24.2",
  compiler: "gc",
  platform: "linux/amd64",
};

export function coreVersions(serverAddress: string): object {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress }],
  };
}

export function groupList(): object {
  const groups = new Map<string, string[]>();
  for (const { group, version } of groupVersions())
    if (group) groups.set(group, [...(groups.get(group) ?? []), version]);
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: [...groups.entries()].map(([name, versions]) => apiGroup(name, versions)),
  };
}

export function apiGroup(name: string, versions = ["v1"]): object {
  const list = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { kind: "APIGroup", apiVersion: "v1", name, versions: list, preferredVersion: list[0] };
}

export function resourceList(group: string, version: string): object | undefined {
  if (!RESOURCES.some((r) => r.group === group && r.version === version)) return undefined;
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group ? `${group}/${version}` : version,
    resources: discoveryEntries(group, version),
  };
}

/** The aggregated form, for clients whose Accept asks for `as=APIGroupDiscoveryList`. */
export function aggregated(core: boolean): object {
  const groups = groupVersions().filter(({ group }) => (core ? group === "" : group !== ""));
  return {
    kind: "APIGroupDiscoveryList",
    apiVersion: "apidiscovery.k8s.io/v2",
    metadata: {},
    items: groups.map(({ group, version }) => ({
      metadata: { name: group, creationTimestamp: null },
      versions: [
        {
          version,
          freshness: "Current",
          resources: RESOURCES.filter((r) => r.group === group && r.version === version).map(
            (r) => {
              const entry = (
                discoveryEntries(group, version) as {
                  name: string;
                  verbs: string[];
                  shortNames?: string[];
                  categories?: string[];
                }[]
              ).find((e) => e.name === r.plural)!;
              const subs = (discoveryEntries(group, version) as { name: string; verbs: string[] }[])
                .filter((e) => e.name.startsWith(`${r.plural}/`))
                .map((e) => ({
                  subresource: e.name.split("/")[1],
                  responseKind: { group, version, kind: e.name.endsWith("/log") ? "" : r.kind },
                  verbs: e.verbs,
                }));
              return {
                resource: r.plural,
                responseKind: { group, version, kind: r.kind },
                scope: r.namespaced ? "Namespaced" : "Cluster",
                singularResource: r.singular,
                verbs: entry.verbs,
                ...(entry.shortNames ? { shortNames: entry.shortNames } : {}),
                ...(entry.categories ? { categories: entry.categories } : {}),
                ...(subs.length ? { subresources: subs } : {}),
              };
            },
          ),
        },
      ],
    })),
  };
}
