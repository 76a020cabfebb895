/**
 * /openapi/v3: just enough of the API server's OpenAPI v3 documents for kubectl to see that
 * every kind supports the `fieldValidation` parameter, so that `kubectl create/apply`
 * validate on the server (here: against the kubernetes-models schemas) instead of failing to
 * download schemas. The documents carry paths and operations, not the type schemas.
 */
import { groupVersions, RESOURCES } from "./resources.js";

function prefix(group: string, version: string): string {
  return group ? `apis/${group}/${version}` : `api/${version}`;
}

export function openapiRoot(): object {
  const paths: Record<string, { serverRelativeURL: string }> = {};
  for (const { group, version } of groupVersions())
    paths[prefix(group, version)] = {
      serverRelativeURL: `/openapi/v3/${prefix(group, version)}?hash=standin`,
    };
  return { paths };
}

export function openapiGroupVersion(path: string): object | undefined {
  const gv = groupVersions().find(({ group, version }) => prefix(group, version) === path);
  if (!gv) return undefined;
  const parameters = ["dryRun", "fieldManager", "fieldValidation", "force"].map((name) => ({
    name,
    in: "query",
    schema: { type: name === "force" ? "boolean" : "string", uniqueItems: true },
  }));
  const paths: Record<string, object> = {};
  for (const r of RESOURCES.filter((x) => x.group === gv.group && x.version === gv.version)) {
    const gvk = { group: r.group, version: r.version, kind: r.kind };
    const base = `/${prefix(r.group, r.version)}${r.namespaced ? "/namespaces/{namespace}" : ""}/${r.plural}`;
    const op = (action: string) => ({
      operationId: `${action}${r.kind}`,
      "x-kubernetes-action": action,
      "x-kubernetes-group-version-kind": gvk,
      parameters,
      responses: { "200": { description: "OK" } },
    });
    paths[base] = { post: op("post"), get: op("list") };
    paths[`${base}/{name}`] = {
      get: op("get"),
      put: op("put"),
      patch: op("patch"),
      delete: op("delete"),
    };
  }
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.33.0" },
    paths,
    components: { schemas: {} },
  };
}
