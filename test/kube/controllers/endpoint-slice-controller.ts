/**
 * The EndpointSlice controller: one slice per Service with a selector, listing the matching
 * pods that have an address, with ready/serving/terminating conditions from the pods' Ready
 * condition and ports resolved against the pods' named container ports.
 */
import type { Api } from "../api.js";
import { resource } from "../resources.js";
import { matchesMap } from "../selectors.js";
import type { StoreEvent } from "../store.js";
import type { KubeObject, Pod, Service } from "../types.js";
import { WorkQueue } from "../work-queue.js";

const SLICES = resource("endpointslices");
const SERVICES = resource("services");
const PODS = resource("pods");

export class EndpointSliceController {
  #queue: WorkQueue;
  #unsubscribe: () => void;

  constructor(readonly api: Api) {
    this.#queue = new WorkQueue(
      (ns) => this.#sync(ns),
      (ns, error) =>
        console.error(`stand-in endpointslice controller: ${ns}: ${(error as Error).stack}`),
    );
    this.#unsubscribe = api.store.subscribe((e) => this.#observe(e));
  }

  #observe(event: StoreEvent): void {
    if (event.resource === SERVICES || event.resource === PODS)
      this.#queue.add(event.object.metadata.namespace!);
  }

  async #sync(ns: string): Promise<void> {
    const store = this.api.store;
    const pods = store.list(PODS, ns) as Pod[];
    for (const svc of store.list(SERVICES, ns) as Service[]) {
      const selector = svc.spec.selector;
      if (!selector) continue;
      const matching = pods.filter(
        (p) =>
          p.status?.podIP &&
          matchesMap(selector, p.metadata.labels) &&
          p.status.phase !== "Succeeded" &&
          p.status.phase !== "Failed",
      );
      const endpoints = matching.map((p) => {
        const ready = Boolean(
          p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
        );
        const terminating = Boolean(p.metadata.deletionTimestamp);
        return {
          addresses: [p.status!.podIP!],
          conditions: { ready: ready && !terminating, serving: ready, terminating },
          targetRef: { kind: "Pod", namespace: ns, name: p.metadata.name, uid: p.metadata.uid },
          nodeName: p.spec.nodeName,
        };
      });
      const ports = (svc.spec.ports ?? []).map((port) => ({
        name: port.name ?? "",
        port: resolveTargetPort(port.targetPort ?? port.port, matching[0]),
        protocol: port.protocol ?? "TCP",
      }));
      const existing = store
        .list(SLICES, ns)
        .find((s) => s.metadata.ownerReferences?.some((r) => r.uid === svc.metadata.uid));
      const body = { addressType: "IPv4", endpoints, ports };
      if (!existing) {
        const slice: KubeObject = {
          apiVersion: "discovery.k8s.io/v1",
          kind: "EndpointSlice",
          metadata: {
            generateName: `${svc.metadata.name}-`,
            namespace: ns,
            labels: {
              "kubernetes.io/service-name": svc.metadata.name!,
              "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
            },
            ownerReferences: [
              {
                apiVersion: "v1",
                kind: "Service",
                name: svc.metadata.name!,
                uid: svc.metadata.uid!,
                controller: true,
                blockOwnerDeletion: true,
              },
            ],
          },
          ...body,
        };
        await this.api.create(SLICES, ns, slice);
      } else
        store.mutate(SLICES, ns, existing.metadata.name!, (s) => {
          if (
            JSON.stringify({
              addressType: s.addressType,
              endpoints: s.endpoints,
              ports: s.ports,
            }) === JSON.stringify(body)
          )
            return false;
          Object.assign(s, body);
          return true;
        });
    }
  }

  close(): void {
    this.#unsubscribe();
    this.#queue.close();
  }
}

function resolveTargetPort(target: number | string, pod: Pod | undefined): number | null {
  if (typeof target === "number") return target;
  if (/^\d+$/.test(target)) return Number(target);
  for (const c of pod?.spec.containers ?? []) {
    const found = c.ports?.find((p) => p.name === target);
    if (found) return found.containerPort;
  }
  return null;
}
