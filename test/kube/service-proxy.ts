/**
 * kube-proxy for the stand-in: every port of a ClusterIP Service listens on the Service's
 * loopback clusterIP and forwards each connection to a ready endpoint (round robin) from the
 * Service's EndpointSlices. With no ready endpoint the connection is closed at once, as a
 * cluster's REJECT rule makes it fail fast.
 */
import { connect, createServer, type Server, type Socket } from "node:net";
import { resource } from "./resources.js";
import type { Store, StoreEvent } from "./store.js";
import type { KubeObject, Service } from "./types.js";

interface SlicePort {
  name?: string;
  port: number | null;
}

interface Slice extends KubeObject {
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[];
  ports?: SlicePort[];
}

export class ServiceProxy {
  #listeners = new Map<string, Server>();
  #sockets = new Set<Socket>();
  #next = 0;
  #unsubscribe: () => void;

  constructor(readonly store: Store) {
    this.#unsubscribe = store.subscribe((e) => this.#observe(e));
  }

  #observe(event: StoreEvent): void {
    if (event.resource !== resource("services")) return;
    const svc = event.object as Service;
    const uid = svc.metadata.uid!;
    const wanted =
      event.type === "DELETED"
        ? []
        : (svc.spec.ports ?? []).filter(
            (p) =>
              svc.spec.clusterIP &&
              svc.spec.clusterIP !== "None" &&
              (p.protocol ?? "TCP") === "TCP",
          );
    const keys = new Set(
      wanted.map((p) => `${uid}|${svc.spec.clusterIP}|${p.port}|${p.name ?? ""}`),
    );
    for (const [key, server] of this.#listeners)
      if (key.startsWith(`${uid}|`) && !keys.has(key)) {
        server.close();
        this.#listeners.delete(key);
      }
    for (const port of wanted) {
      const key = `${uid}|${svc.spec.clusterIP}|${port.port}|${port.name ?? ""}`;
      if (this.#listeners.has(key)) continue;
      const server = createServer((socket) =>
        this.#forward(socket, svc.metadata.namespace!, svc.metadata.name!, port.name ?? ""),
      );
      server.on("error", (error) =>
        console.error(
          `stand-in service proxy: ${svc.metadata.name} ${svc.spec.clusterIP}:${port.port}: ${error.message}`,
        ),
      );
      server.listen(port.port, svc.spec.clusterIP);
      this.#listeners.set(key, server);
    }
  }

  #forward(client: Socket, namespace: string, service: string, portName: string): void {
    this.#sockets.add(client);
    client.on("close", () => this.#sockets.delete(client));
    const targets: { ip: string; port: number }[] = [];
    for (const slice of this.store.list(resource("endpointslices"), namespace) as Slice[]) {
      if (slice.metadata.labels?.["kubernetes.io/service-name"] !== service) continue;
      const port = slice.ports?.find((p) => (p.name ?? "") === portName)?.port;
      if (!port) continue;
      for (const e of slice.endpoints ?? [])
        if (e.conditions?.ready) targets.push({ ip: e.addresses[0]!, port });
    }
    const target = targets[this.#next++ % Math.max(1, targets.length)];
    if (!target) {
      client.destroy();
      return;
    }
    const upstream = connect(target.port, target.ip);
    this.#sockets.add(upstream);
    upstream.on("close", () => this.#sockets.delete(upstream));
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("error", end);
    upstream.on("error", end);
  }

  close(): void {
    this.#unsubscribe();
    for (const server of this.#listeners.values()) server.close();
    for (const socket of this.#sockets) socket.destroy();
    this.#listeners.clear();
  }
}
