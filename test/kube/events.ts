/**
 * Core/v1 Events as the kubelet, scheduler and controllers record them: one object per
 * (object, reason, message), whose count and lastTimestamp grow when it happens again.
 */
import { randomBytes } from "node:crypto";
import { resource } from "./resources.js";
import type { Store } from "./store.js";
import { type EventObject, type KubeObject, now } from "./types.js";

export class EventRecorder {
  constructor(readonly store: Store) {}

  record(
    involved: KubeObject,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
    component: string,
    fieldPath?: string,
  ): void {
    const events = resource("events");
    const namespace = involved.metadata.namespace ?? "default";
    if (!this.store.get(resource("namespaces"), undefined, namespace)) return;
    const existing = this.store.list(events, namespace).find((e) => {
      const ev = e as EventObject;
      return (
        ev.involvedObject.uid === involved.metadata.uid &&
        ev.reason === reason &&
        ev.message === message
      );
    });
    const at = now();
    if (existing) {
      this.store.mutate(events, namespace, existing.metadata.name!, (e) => {
        e.count = ((e.count as number) ?? 1) + 1;
        e.lastTimestamp = at;
        return true;
      });
      return;
    }
    const event: EventObject = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: `${involved.metadata.name}.${randomBytes(8).toString("hex")}`, namespace },
      involvedObject: {
        kind: involved.kind,
        namespace: involved.metadata.namespace,
        name: involved.metadata.name!,
        uid: involved.metadata.uid,
        apiVersion: involved.apiVersion,
        resourceVersion: involved.metadata.resourceVersion,
        ...(fieldPath ? { fieldPath } : {}),
      },
      reason,
      message,
      source: { component, ...(component === "kubelet" ? { host: "standin-node" } : {}) },
      firstTimestamp: at,
      lastTimestamp: at,
      eventTime: null,
      count: 1,
      type,
      reportingComponent: component,
      reportingInstance: component === "kubelet" ? "standin-node" : "",
    };
    this.store.create(events, event);
  }
}
