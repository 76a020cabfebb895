/** The environment and installations a bundle was built with, recorded on the bundle. */
import type { Selection } from "../environments/selection.js";

export interface Pick {
  environment: {
    guid: string;
    name: string;
    title: string | null;
    cluster_name: string;
    supervisor: string | null;
  } | null;
  installations: Partial<Record<"python" | "r" | "quarto", { version: string; path: string }>>;
}

export function toPick(selection: Selection): Pick {
  const environment = selection.environment;
  return {
    environment: environment && {
      guid: environment.guid,
      name: environment.name,
      title: environment.title,
      cluster_name: environment.cluster_name ?? "Kubernetes",
      supervisor: environment.supervisor ?? null,
    },
    installations: selection.installations,
  };
}
