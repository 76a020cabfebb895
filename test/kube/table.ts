/**
 * Server-side printing: the `meta.k8s.io/v1 Table` that `kubectl get` asks for, with the
 * columns kubectl shows for the kinds Slipway uses and NAME/AGE for the rest.
 */
import type { KubeObject } from "./types.js";

interface Column {
  name: string;
  type: string;
  format?: string;
  cell: (o: KubeObject) => string | number;
}

const name: Column = {
  name: "Name",
  type: "string",
  format: "name",
  cell: (o) => o.metadata.name ?? "",
};
const age: Column = {
  name: "Age",
  type: "string",
  cell: (o) => ageOf(o.metadata.creationTimestamp),
};

type Any = Record<string, unknown> & {
  status?: Record<string, unknown> & {
    containerStatuses?: {
      ready: boolean;
      restartCount: number;
      state: Record<string, { reason?: string }>;
    }[];
  };
  spec?: Record<string, unknown>;
};

const COLUMNS: Record<string, Column[]> = {
  Pod: [
    name,
    {
      name: "Ready",
      type: "string",
      cell: (o) => {
        const s = (o as Any).status?.containerStatuses ?? [];
        return `${s.filter((c) => c.ready).length}/${((o as Any).spec?.containers as unknown[])?.length ?? 0}`;
      },
    },
    { name: "Status", type: "string", cell: (o) => podStatus(o as Any) },
    {
      name: "Restarts",
      type: "string",
      cell: (o) =>
        String(
          ((o as Any).status?.containerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0),
        ),
    },
    age,
  ],
  Job: [
    name,
    { name: "Status", type: "string", cell: (o) => jobStatus(o as Any) },
    {
      name: "Completions",
      type: "string",
      cell: (o) => `${(o as Any).status?.succeeded ?? 0}/${(o as Any).spec?.completions ?? 1}`,
    },
    age,
  ],
  Service: [
    name,
    { name: "Type", type: "string", cell: (o) => String((o as Any).spec?.type ?? "") },
    {
      name: "Cluster-IP",
      type: "string",
      cell: (o) => String((o as Any).spec?.clusterIP ?? "<none>"),
    },
    {
      name: "Port(s)",
      type: "string",
      cell: (o) =>
        (((o as Any).spec?.ports as { port: number; protocol: string }[]) ?? [])
          .map((p) => `${p.port}/${p.protocol}`)
          .join(","),
    },
    age,
  ],
  Event: [
    { name: "Last Seen", type: "string", cell: (o) => ageOf(o.lastTimestamp as string) },
    { name: "Type", type: "string", cell: (o) => String(o.type) },
    { name: "Reason", type: "string", cell: (o) => String(o.reason) },
    {
      name: "Object",
      type: "string",
      cell: (o) => {
        const i = o.involvedObject as { kind: string; name: string };
        return `${i.kind.toLowerCase()}/${i.name}`;
      },
    },
    { name: "Message", type: "string", cell: (o) => String(o.message) },
  ],
};

export function toTable(
  objects: KubeObject[],
  resourceVersion: string,
  includeObject: string | undefined,
): object {
  const kind = objects[0]?.kind ?? "";
  const columns = COLUMNS[kind] ?? [name, age];
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: { resourceVersion },
    columnDefinitions: columns.map((c, i) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? "",
      description: c.name,
      priority: i === 0 ? 0 : 0,
    })),
    rows: objects.map((o) => ({
      cells: columns.map((c) => c.cell(o)),
      object:
        includeObject === "Object"
          ? o
          : includeObject === "None"
            ? undefined
            : { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: o.metadata },
    })),
  };
}

function podStatus(pod: Any): string {
  const meta = (pod as unknown as KubeObject).metadata;
  if (meta.deletionTimestamp) return "Terminating";
  const status = pod.status ?? {};
  if (status.reason) return String(status.reason);
  const init =
    (status.initContainerStatuses as
      | { state: Record<string, { reason?: string; exitCode?: number }> }[]
      | undefined) ?? [];
  for (const [i, c] of init.entries()) {
    if (c.state.terminated && c.state.terminated.exitCode !== 0)
      return `Init:${c.state.terminated.reason ?? "Error"}`;
    if (c.state.waiting && c.state.waiting.reason !== "PodInitializing")
      return `Init:${c.state.waiting.reason}`;
    if (!c.state.terminated) return `Init:${i}/${init.length}`;
  }
  for (const c of status.containerStatuses ?? []) {
    const state = c.state.waiting ?? c.state.terminated;
    if (
      state?.reason &&
      !(c.state.terminated && state.reason === "Completed" && status.phase === "Running")
    )
      return state.reason;
  }
  return String(status.phase ?? "Pending");
}

function jobStatus(job: Any): string {
  const conditions = (job.status?.conditions as { type: string; status: string }[]) ?? [];
  if (conditions.some((c) => c.type === "Complete" && c.status === "True")) return "Complete";
  if (conditions.some((c) => c.type === "Failed" && c.status === "True")) return "Failed";
  return "Running";
}

function ageOf(timestamp: string | undefined): string {
  if (!timestamp) return "<unknown>";
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(timestamp)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 3600 * 2) return `${Math.floor(s / 60)}m`;
  if (s < 86400 * 2) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}
