/**
 * Watches: a long 200 response of newline-delimited `{type, object}` events, resumed from a
 * resource version out of the store's history (410 Expired as an ERROR event when the history
 * no longer reaches back), with bookmarks, and closed at `timeoutSeconds` or when the fault
 * injector cuts it.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { withType } from "./api.js";
import type { ResourceType } from "./resources.js";
import {
  matchesFields,
  matchesRequirements,
  parseFieldSelector,
  parseLabelSelector,
} from "./selectors.js";
import { expired } from "./status-error.js";
import type { Store, StoreEvent } from "./store.js";
import type { KubeObject } from "./types.js";

export interface WatchRequest {
  type: ResourceType;
  namespace: string | undefined;
  resourceVersion?: string;
  labelSelector?: string;
  fieldSelector?: string;
  timeoutSeconds?: number;
  allowWatchBookmarks: boolean;
  sendInitialEvents: boolean;
}

export interface WatchOptions {
  /** Longest a watch stays open when the client gives no timeoutSeconds. */
  defaultTimeoutSeconds: number;
  bookmarkIntervalMs: number;
  /** When set, every watch is ended after this many seconds (the cut-watches fault). */
  cutAfterSeconds: () => number | undefined;
  /** True when this resumed watch must get 410 Expired (the expire-watches fault). */
  forceExpiry: () => boolean;
  /** Server-side printing (`kubectl get -w`): each object sent as a one-row Table. */
  asTable?: (object: KubeObject) => object;
}

export function serveWatch(
  req: IncomingMessage,
  res: ServerResponse,
  store: Store,
  watch: WatchRequest,
  options: WatchOptions,
): void {
  const labels = parseLabelSelector(watch.labelSelector);
  const fields = parseFieldSelector(watch.fieldSelector, watch.type.kind);
  const matches = (o: KubeObject) =>
    (!watch.type.namespaced ||
      watch.namespace === undefined ||
      o.metadata.namespace === watch.namespace) &&
    matchesRequirements(labels, o.metadata.labels) &&
    matchesFields(fields, o);
  res.writeHead(200, {
    "content-type": "application/json",
    "transfer-encoding": "chunked",
    "cache-control": "no-cache",
  });
  res.flushHeaders();
  const send = (type: string, object: unknown) =>
    res.write(`${JSON.stringify({ type, object })}\n`);
  const sendObject = (type: string, object: KubeObject) =>
    send(type, options.asTable ? options.asTable(object) : object);

  let pending: StoreEvent[] = [];
  let ready = false;
  let lastSent = store.resourceVersion;
  const deliver = (event: StoreEvent) => {
    if (event.resource !== watch.type) return;
    lastSent = event.rv;
    const now = matches(event.object);
    const before = event.old ? matches(event.old) : false;
    // As the API server's watch cache does: an object leaving the selection is DELETED for this watcher.
    if (event.type === "MODIFIED" && before !== now)
      sendObject(now ? "ADDED" : "DELETED", withType(watch.type, event.object));
    else if (now) sendObject(event.type, withType(watch.type, event.object));
  };
  const unsubscribe = store.subscribe((event) => (ready ? deliver(event) : pending.push(event)));

  const rv = watch.resourceVersion;
  if (!rv || rv === "0") {
    for (const o of store.list(watch.type, watch.namespace))
      if (matches(o)) sendObject("ADDED", withType(watch.type, o));
    if (watch.sendInitialEvents && watch.allowWatchBookmarks)
      send("BOOKMARK", bookmark(watch.type, store.resourceVersion, true));
  } else {
    const since = store.eventsSince(Number(rv));
    if (!since || Number.isNaN(Number(rv)) || options.forceExpiry()) {
      send(
        "ERROR",
        expired(`too old resource version: ${rv} (${store.oldestResumableVersion})`).body(),
      );
      unsubscribe();
      res.end();
      return;
    }
    for (const e of since) deliver(e);
  }
  for (const e of pending) if (e.rv > lastSent) deliver(e);
  pending = [];
  ready = true;

  const timers: NodeJS.Timeout[] = [];
  const finish = () => {
    for (const t of timers) clearTimeout(t);
    unsubscribe();
    if (!res.writableEnded) res.end();
  };
  const opened = Date.now();
  timers.push(setTimeout(finish, (watch.timeoutSeconds ?? options.defaultTimeoutSeconds) * 1000));
  // The cut-watches fault also reaches watches opened before it was set.
  timers.push(
    setInterval(() => {
      const cut = options.cutAfterSeconds();
      if (cut !== undefined && Date.now() - opened >= cut * 1000) finish();
    }, 100),
  );
  if (watch.allowWatchBookmarks) {
    const tick = setInterval(
      () => send("BOOKMARK", bookmark(watch.type, store.resourceVersion, false)),
      options.bookmarkIntervalMs,
    );
    timers.push(tick);
  }
  req.on("close", finish);
  res.on("close", finish);
}

function bookmark(type: ResourceType, rv: number, initialEventsEnd: boolean): object {
  return {
    kind: type.kind,
    apiVersion: type.group ? `${type.group}/${type.version}` : type.version,
    metadata: {
      resourceVersion: String(rv),
      ...(initialEventsEnd ? { annotations: { "k8s.io/initial-events-end": "true" } } : {}),
    },
  };
}
