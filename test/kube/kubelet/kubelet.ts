/**
 * The node agent: runs a PodWorker for every pod bound to the node, stops and removes pods
 * being deleted (after their grace period), evicts on request, and serves their logs.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { V1Container } from "@kubernetes/client-node";
import type { LoopbackPool } from "../ip-pool.js";
import type { LogRequest } from "../request.js";
import { resource } from "../resources.js";
import { badRequest, StatusError } from "../status-error.js";
import type { StoreEvent } from "../store.js";
import type { KubeObject, Pod } from "../types.js";
import { streamLogs } from "./logs.js";
import { PodWorker, type WorkerContext } from "./pod-worker.js";

export class Kubelet {
  #workers = new Map<string, PodWorker>();
  #unsubscribe: () => void;

  constructor(
    readonly ctx: WorkerContext,
    readonly podIPs: LoopbackPool,
  ) {
    this.#unsubscribe = ctx.store.subscribe((event) => this.#observe(event));
  }

  #observe(event: StoreEvent): void {
    const plural = event.resource.plural;
    if ((plural === "configmaps" || plural === "secrets") && event.type !== "DELETED") {
      const changed = {
        kind: plural,
        namespace: event.object.metadata.namespace!,
        name: event.object.metadata.name!,
      } as const;
      for (const worker of this.#workers.values()) void worker.refreshVolumes(changed);
      return;
    }
    if (plural !== "pods") return;
    const pod = event.object as Pod;
    const uid = pod.metadata.uid!;
    const worker = this.#workers.get(uid);
    if (event.type === "DELETED") {
      if (worker) void this.#remove(worker, 0, false);
      return;
    }
    if (pod.spec.nodeName !== this.ctx.nodeName) return;
    if (!worker) {
      if (pod.metadata.deletionTimestamp) {
        queueMicrotask(() => this.#finalize(pod));
        return;
      }
      if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return;
      const started = new PodWorker(pod, this.podIPs.allocate(), this.ctx);
      this.#workers.set(uid, started);
      queueMicrotask(() => started.start());
      return;
    }
    worker.update(pod);
    if (pod.metadata.deletionTimestamp && !worker.stopping)
      void this.#remove(worker, pod.metadata.deletionGracePeriodSeconds ?? 30, true);
  }

  async #remove(worker: PodWorker, graceSeconds: number, finalize: boolean): Promise<void> {
    await worker.stop(graceSeconds);
    await worker.cleanup();
    this.podIPs.release(worker.podIP);
    this.#workers.delete(worker.uid);
    if (finalize) {
      const pod = this.ctx.store.list(resource("pods")).find((p) => p.metadata.uid === worker.uid);
      if (pod) this.#finalize(pod);
    }
  }

  #finalize(pod: KubeObject): void {
    const current = this.ctx.store.get(
      resource("pods"),
      pod.metadata.namespace,
      pod.metadata.name!,
    );
    if (
      current &&
      current.metadata.uid === pod.metadata.uid &&
      current.metadata.deletionTimestamp &&
      !current.metadata.finalizers?.length
    )
      this.ctx.store.remove(resource("pods"), pod.metadata.namespace, pod.metadata.name!);
  }

  /** Evicts a pod as the kubelet does under node pressure: containers killed, phase Failed, reason Evicted. */
  async evict(namespace: string, name: string, message: string): Promise<void> {
    const pod = this.ctx.store.get(resource("pods"), namespace, name);
    const worker = pod && this.#workers.get(pod.metadata.uid!);
    if (!pod || !worker) throw new Error(`pod ${namespace}/${name} is not running on the node`);
    this.ctx.events.record(pod, "Warning", "Evicted", message, "kubelet");
    await worker.stop(0, message);
  }

  async logs(
    object: KubeObject,
    request: LogRequest,
    res: ServerResponse,
    req: IncomingMessage,
  ): Promise<void> {
    const pod = object as Pod;
    const all: V1Container[] = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
    let name = request.container;
    if (!name) {
      if (pod.spec.containers.length !== 1)
        throw badRequest(
          `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${pod.spec.containers.map((c) => c.name).join(" ")}]${pod.spec.initContainers?.length ? ` or one of the init containers: [${pod.spec.initContainers.map((c) => c.name).join(" ")}]` : ""}`,
        );
      name = pod.spec.containers[0]!.name;
    }
    if (!all.some((c) => c.name === name))
      throw badRequest(`container ${name} is not valid for pod ${pod.metadata.name}`);
    const runs = this.#workers.get(pod.metadata.uid!)?.runs.get(name) ?? [];
    const id = request.previous ? runs[runs.length - 2] : runs[runs.length - 1];
    if (!id) {
      if (request.previous)
        throw badRequest(
          `previous terminated container "${name}" in pod "${pod.metadata.name}" not found`,
        );
      const statuses = [
        ...(pod.status?.initContainerStatuses ?? []),
        ...(pod.status?.containerStatuses ?? []),
      ];
      const state = statuses.find((s) => s.name === name)?.state;
      const reason = state && "waiting" in state ? state.waiting.reason : "ContainerCreating";
      throw badRequest(
        `container "${name}" in pod "${pod.metadata.name}" is waiting to start: ${reason}`,
      );
    }
    try {
      await streamLogs(this.ctx.docker, id, request, res, req);
    } catch (error) {
      if (res.headersSent) return;
      throw new StatusError(
        500,
        "InternalError",
        `Get container logs: ${(error as Error).message}`,
      );
    }
  }

  /** Stops every pod and removes their containers. */
  async close(): Promise<void> {
    this.#unsubscribe();
    await Promise.all(
      [...this.#workers.values()].map(async (w) => {
        await w.stop(0);
        await w.cleanup();
      }),
    );
    this.#workers.clear();
  }
}
