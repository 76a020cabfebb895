/**
 * The kinds the stand-in serves, as the API server's discovery documents describe them.
 * Everything generic (routes, store, discovery, validation) is driven by this table.
 */
export interface ResourceType {
  /** "" for the core group. */
  group: string;
  version: string;
  plural: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Has a /status subresource: the main endpoint ignores status, /status ignores the rest. */
  status?: boolean;
  /** Verbs other than the full set (create-only reviews). */
  verbs?: string[];
}

const ALL_VERBS = [
  "create",
  "delete",
  "deletecollection",
  "get",
  "list",
  "patch",
  "update",
  "watch",
];

export const RESOURCES: readonly ResourceType[] = [
  core("namespaces", "Namespace", false, { shortNames: ["ns"], status: true }),
  core("nodes", "Node", false, { shortNames: ["no"], status: true }),
  core("pods", "Pod", true, { shortNames: ["po"], categories: ["all"], status: true }),
  core("services", "Service", true, { shortNames: ["svc"], categories: ["all"], status: true }),
  core("persistentvolumeclaims", "PersistentVolumeClaim", true, {
    shortNames: ["pvc"],
    status: true,
  }),
  core("configmaps", "ConfigMap", true, { shortNames: ["cm"] }),
  core("secrets", "Secret", true),
  core("serviceaccounts", "ServiceAccount", true, { shortNames: ["sa"] }),
  core("events", "Event", true, { shortNames: ["ev"] }),
  group("batch", "jobs", "Job", true, { categories: ["all"], status: true }),
  group("apps", "deployments", "Deployment", true, {
    shortNames: ["deploy"],
    categories: ["all"],
    status: true,
  }),
  group("apps", "replicasets", "ReplicaSet", true, {
    shortNames: ["rs"],
    categories: ["all"],
    status: true,
  }),
  group("apps", "daemonsets", "DaemonSet", true, {
    shortNames: ["ds"],
    categories: ["all"],
    status: true,
  }),
  group("discovery.k8s.io", "endpointslices", "EndpointSlice", true),
  group("rbac.authorization.k8s.io", "roles", "Role", true),
  group("rbac.authorization.k8s.io", "rolebindings", "RoleBinding", true),
  group("rbac.authorization.k8s.io", "clusterroles", "ClusterRole", false),
  group("rbac.authorization.k8s.io", "clusterrolebindings", "ClusterRoleBinding", false),
  group("authorization.k8s.io", "selfsubjectaccessreviews", "SelfSubjectAccessReview", false, {
    verbs: ["create"],
  }),
];

function core(
  plural: string,
  kind: string,
  namespaced: boolean,
  extra: Partial<ResourceType> = {},
): ResourceType {
  return group("", plural, kind, namespaced, extra);
}

function group(
  name: string,
  plural: string,
  kind: string,
  namespaced: boolean,
  extra: Partial<ResourceType> = {},
): ResourceType {
  return {
    group: name,
    version: "v1",
    plural,
    singular: kind.toLowerCase(),
    kind,
    namespaced,
    ...extra,
  };
}

export function apiVersionOf(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

/** `jobs.batch`, `pods`: the name the API server uses in its messages. */
export function qualifiedName(type: ResourceType): string {
  return type.group ? `${type.plural}.${type.group}` : type.plural;
}

/** `Job.batch`, `Pod`: the kind as it appears in a 422's message. */
export function qualifiedKind(type: ResourceType): string {
  return type.group ? `${type.kind}.${type.group}` : type.kind;
}

export function findResource(
  groupName: string,
  version: string,
  plural: string,
): ResourceType | undefined {
  return RESOURCES.find(
    (r) => r.group === groupName && r.version === version && r.plural === plural,
  );
}

export function resource(plural: string): ResourceType {
  const found = RESOURCES.find((r) => r.plural === plural);
  if (!found) throw new Error(`unknown resource ${plural}`);
  return found;
}

/** The verbs and subresources each kind lists in discovery. */
export function discoveryEntries(groupName: string, version: string): object[] {
  const entries: object[] = [];
  for (const type of RESOURCES.filter((r) => r.group === groupName && r.version === version)) {
    entries.push({
      name: type.plural,
      singularName: type.singular,
      namespaced: type.namespaced,
      kind: type.kind,
      verbs:
        type.verbs ??
        (type.kind === "Node" ? ["get", "list", "watch", "patch", "update"] : ALL_VERBS),
      ...(type.shortNames ? { shortNames: type.shortNames } : {}),
      ...(type.categories ? { categories: type.categories } : {}),
    });
    if (type.status)
      entries.push({
        name: `${type.plural}/status`,
        singularName: "",
        namespaced: type.namespaced,
        kind: type.kind,
        verbs: ["get", "patch", "update"],
      });
    if (type.plural === "pods")
      entries.push({
        name: "pods/log",
        singularName: "",
        namespaced: true,
        kind: "Pod",
        verbs: ["get"],
      });
  }
  return entries;
}

export function groupVersions(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const r of RESOURCES)
    seen.set(`${r.group}/${r.version}`, { group: r.group, version: r.version });
  return [...seen.values()];
}
