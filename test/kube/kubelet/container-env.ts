/**
 * A container's environment as the kubelet builds it: service links, envFrom, env in order
 * with $(VAR) references to earlier variables, the downward API (fieldRef, resourceFieldRef)
 * and ConfigMap/Secret keys. A missing object or key is a CreateContainerConfigError, with
 * the kubelet's message.
 */
import type { V1Container } from "@kubernetes/client-node";
import { parseQuantity } from "../quantity.js";
import type { KubeObject, Pod } from "../types.js";

export class ContainerConfigError extends Error {}

export interface EnvSources {
  configMap(namespace: string, name: string): KubeObject | undefined;
  secret(namespace: string, name: string): KubeObject | undefined;
  /** Services of the namespace, for the docker-link style variables of enableServiceLinks. */
  services(namespace: string): KubeObject[];
  apiServer: { host: string; port: number };
}

export function containerEnv(
  pod: Pod,
  container: V1Container,
  sources: EnvSources,
): Record<string, string> {
  const ns = pod.metadata.namespace!;
  const env: Record<string, string> = {};
  if (pod.spec.enableServiceLinks !== false)
    for (const svc of sources.services(ns)) Object.assign(env, serviceLinks(svc));
  // Under host networking the engine would leave the host's name here; a pod's hostname is its name.
  env.HOSTNAME = pod.spec.hostname ?? pod.metadata.name!;
  env.KUBERNETES_SERVICE_HOST = sources.apiServer.host;
  env.KUBERNETES_SERVICE_PORT = String(sources.apiServer.port);
  env.KUBERNETES_PORT = `tcp://${sources.apiServer.host}:${sources.apiServer.port}`;
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    if (!ref?.name) continue;
    const isSecret = Boolean(from.secretRef);
    const object = isSecret ? sources.secret(ns, ref.name) : sources.configMap(ns, ref.name);
    if (!object) {
      if (ref.optional) continue;
      throw new ContainerConfigError(
        `${isSecret ? "secret" : "configmap"} "${ref.name}" not found`,
      );
    }
    for (const [k, v] of Object.entries(dataOf(object, isSecret)))
      env[`${from.prefix ?? ""}${k}`] = v;
  }
  for (const item of container.env ?? []) {
    if (item.value !== undefined) {
      env[item.name] = expand(item.value, env);
      continue;
    }
    const from = item.valueFrom;
    if (!from) {
      env[item.name] = "";
      continue;
    }
    if (from.fieldRef) env[item.name] = fieldRef(pod, from.fieldRef.fieldPath);
    else if (from.resourceFieldRef)
      env[item.name] = resourceField(
        container,
        from.resourceFieldRef.resource,
        from.resourceFieldRef.divisor,
      );
    else {
      const ref = from.configMapKeyRef ?? from.secretKeyRef!;
      const isSecret = Boolean(from.secretKeyRef);
      const kindName = isSecret ? "secret" : "configmap";
      const object = isSecret ? sources.secret(ns, ref.name!) : sources.configMap(ns, ref.name!);
      if (!object) {
        if (ref.optional) continue;
        throw new ContainerConfigError(`${kindName} "${ref.name}" not found`);
      }
      const value = dataOf(object, isSecret)[ref.key];
      if (value === undefined) {
        if (ref.optional) continue;
        throw new ContainerConfigError(
          `couldn't find key ${ref.key} in ${isSecret ? "Secret" : "ConfigMap"} ${ns}/${ref.name}`,
        );
      }
      env[item.name] = value;
    }
  }
  return env;
}

function dataOf(object: KubeObject, secret: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  if (secret) {
    for (const [k, v] of Object.entries((object.data as Record<string, string>) ?? {}))
      out[k] = Buffer.from(v, "base64").toString("utf8");
    Object.assign(out, (object.stringData as Record<string, string>) ?? {});
  } else {
    Object.assign(out, (object.data as Record<string, string>) ?? {});
    for (const [k, v] of Object.entries((object.binaryData as Record<string, string>) ?? {}))
      out[k] = Buffer.from(v, "base64").toString("utf8");
  }
  return out;
}

export function fieldRef(pod: Pod, path: string): string {
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (m) return (m[1] === "labels" ? pod.metadata.labels : pod.metadata.annotations)?.[m[2]!] ?? "";
  switch (path) {
    case "metadata.name":
      return pod.metadata.name!;
    case "metadata.namespace":
      return pod.metadata.namespace!;
    case "metadata.uid":
      return pod.metadata.uid!;
    case "spec.nodeName":
      return pod.spec.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec.serviceAccountName ?? "";
    case "status.hostIP":
      return pod.status?.hostIP ?? "";
    case "status.hostIPs":
      return (pod.status?.hostIPs ?? []).map((i) => i.ip).join(",");
    case "status.podIP":
      return pod.status?.podIP ?? "";
    case "status.podIPs":
      return (pod.status?.podIPs ?? []).map((i) => i.ip).join(",");
  }
  throw new ContainerConfigError(`unsupported fieldPath: ${path}`);
}

function resourceField(container: V1Container, name: string, divisor: string | undefined): string {
  const [kind, res] = name.split(".") as ["limits" | "requests", string];
  const raw = container.resources?.[kind]?.[res];
  const value = raw === undefined ? 0 : parseQuantity(raw);
  const d = divisor ? parseQuantity(divisor) : 1;
  return String(Math.ceil(value / d));
}

/** `$(VAR)` becomes the variable's value when it is defined; `$$(VAR)` is a literal `$(VAR)`. */
export function expand(text: string, env: Record<string, string>): string {
  return text.replace(
    /\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g,
    (whole, name: string | undefined) => {
      if (whole === "$$") return "$";
      return name !== undefined && Object.hasOwn(env, name) ? env[name]! : whole;
    },
  );
}

function serviceLinks(svc: KubeObject): Record<string, string> {
  const spec = svc.spec as {
    clusterIP?: string;
    ports?: { name?: string; port: number; protocol?: string }[];
  };
  if (!spec.clusterIP || spec.clusterIP === "None" || !spec.ports?.length) return {};
  const prefix = svc.metadata.name!.toUpperCase().replace(/-/g, "_");
  const first = spec.ports[0]!;
  const out: Record<string, string> = {
    [`${prefix}_SERVICE_HOST`]: spec.clusterIP,
    [`${prefix}_SERVICE_PORT`]: String(first.port),
    [`${prefix}_PORT`]: `${(first.protocol ?? "TCP").toLowerCase()}://${spec.clusterIP}:${first.port}`,
  };
  for (const p of spec.ports) {
    const proto = (p.protocol ?? "TCP").toLowerCase();
    const base = `${prefix}_PORT_${p.port}_${proto.toUpperCase()}`;
    if (p.name)
      out[`${prefix}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, "_")}`] = String(p.port);
    out[base] = `${proto}://${spec.clusterIP}:${p.port}`;
    out[`${base}_PROTO`] = proto;
    out[`${base}_PORT`] = String(p.port);
    out[`${base}_ADDR`] = spec.clusterIP;
  }
  return out;
}
