/**
 * A faithful loopback Kubernetes API for tests: `startKubeStandin()` wires the store, the API
 * semantics, the HTTP routes, the controllers (scheduler, Job, garbage collector,
 * EndpointSlices), a Docker kubelet and a Service proxy, and returns handles for tests,
 * including fault injection.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import Docker from "dockerode";
import { stringify } from "yaml";
import { Api } from "./api.js";
import { DaemonSetController } from "./controllers/daemon-set-controller.js";
import { DeploymentController } from "./controllers/deployment-controller.js";
import { EndpointSliceController } from "./controllers/endpoint-slice-controller.js";
import { GarbageCollector } from "./controllers/garbage-collector.js";
import { JobController } from "./controllers/job-controller.js";
import { ReplicaSetController } from "./controllers/replica-set-controller.js";
import { EventRecorder } from "./events.js";
import { Faults } from "./faults.js";
import { LoopbackPool, randomSecondOctet } from "./ip-pool.js";
import { Kubelet } from "./kubelet/kubelet.js";
import { resource } from "./resources.js";
import { handle, type RequestLogEntry } from "./routes.js";
import { type NodeConfig, nodeObject, Scheduler } from "./scheduler.js";
import { ServiceProxy } from "./service-proxy.js";
import { Store } from "./store.js";
import type { KubeObject } from "./types.js";
import type { FieldValidation } from "./unknown-fields.js";
import { WorkQueue } from "./work-queue.js";

export interface KubeStandinOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Where to write a kubeconfig for the stand-in; by default a file in its data folder. */
  kubeconfigPath?: string;
  /** Claim name (or `namespace/claim`) → host folder backing it; other claims get a folder of the stand-in. */
  pv?: Record<string, string>;
  /** Where pod volumes and made claims live; a fresh temporary folder by default, removed on close. */
  dataDir?: string;
  node?: Partial<NodeConfig>;
  /** First delay of image-pull, crash-loop and Job-pod back-offs (the kubelet's 10 s by default). */
  backoffBaseMs?: number;
  backoffMaxMs?: number;
  /** How many writes the watch history holds; resuming from before it is a 410. */
  watchHistory?: number;
  bookmarkIntervalMs?: number;
  docker?: Docker;
  /**
   * fieldValidation for requests that give none. The API server's default is Warn (unknown
   * fields dropped... here kept, with a Warning header); Strict makes a typo in a client's
   * object a 400, which is what a test of an object builder wants.
   */
  fieldValidation?: FieldValidation;
  /** Second octet of the loopback addresses (127.N.x.y) of pods and Services; random by default. */
  addressOctet?: number;
}

export interface KubeStandin {
  url: string;
  kubeconfigPath: string;
  dataDir: string;
  docker: Docker;
  api: Api;
  /** A fresh namespace with its default ServiceAccount. */
  createNamespace(name: string): Promise<void>;
  /** Every request the stand-in received, oldest first (for "watch, not poll" checks). */
  requests: RequestLogEntry[];
  faults: {
    /** The next `count` watches resuming from a resourceVersion get 410 Expired (the informer must relist). */
    expireWatches(count: number): void;
    /** Ends every watch after `seconds` (undefined: honour timeoutSeconds only). */
    cutWatchesAfter(seconds: number | undefined): void;
    /** For `ms`, every request is answered 503 or has its connection reset. */
    refuse(ms: number, mode?: "503" | "reset"): void;
    /** 403 Forbidden for a verb on a resource (`pods`, `pods/log`, `jobs`), as a missing RBAC rule. */
    forbid(verb: string, resource: string, namespace?: string): void;
    allow(verb?: string, resource?: string, namespace?: string): void;
    /** Forgets the watch history: resuming any earlier watch gets 410 Expired. */
    compactWatchHistory(): void;
    /** Evicts a running pod: containers killed, phase Failed, reason Evicted, an Evicted event. */
    evict(namespace: string, pod: string, message?: string): Promise<void>;
  };
  close(): Promise<void>;
}

const DEFAULT_NODE: NodeConfig = {
  name: "standin-node",
  capacity: { cpu: "4", memory: "8Gi", pods: "110", "ephemeral-storage": "100Gi" },
  labels: {},
  taints: [],
};

export async function startKubeStandin(options: KubeStandinOptions = {}): Promise<KubeStandin> {
  const ownData = !options.dataDir;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(tmpdir(), "slipway-kube-standin-")));
  await mkdir(dataDir, { recursive: true });
  const octet = options.addressOctet ?? randomSecondOctet();
  const docker = options.docker ?? new Docker();
  const store = new Store(options.watchHistory);
  const serviceIPs = new LoopbackPool(octet, [200, 250]);
  const api = new Api(store, {
    allocateClusterIP: () => serviceIPs.allocate(),
    ...(options.fieldValidation ? { fieldValidation: options.fieldValidation } : {}),
  });
  const faults = new Faults();
  const events = new EventRecorder(store);
  const node: NodeConfig = {
    ...DEFAULT_NODE,
    ...options.node,
    capacity: { ...DEFAULT_NODE.capacity, ...options.node?.capacity },
  };
  const backoffBaseMs = options.backoffBaseMs ?? 10_000;
  const instance = `${process.pid}-${octet}-${Date.now()}`;

  store.create(resource("nodes"), nodeObject(node) as KubeObject);
  const bootstrap = (ns: string) => {
    if (!store.get(resource("serviceaccounts"), ns, "default"))
      store.create(resource("serviceaccounts"), {
        apiVersion: "v1",
        kind: "ServiceAccount",
        metadata: { name: "default", namespace: ns },
      });
  };
  for (const ns of ["default", "kube-system", "kube-public", "kube-node-lease"])
    await api.create(resource("namespaces"), undefined, { metadata: { name: ns } });
  const unsubscribe = store.subscribe((e) => {
    if (e.type === "ADDED" && e.resource.plural === "namespaces")
      queueMicrotask(() => bootstrap(e.object.metadata.name!));
    if (e.type === "ADDED" && e.resource.plural === "persistentvolumeclaims")
      queueMicrotask(() => bindClaim(e.object));
    if (e.resource.plural === "pods" || e.resource.plural === "persistentvolumeclaims")
      scheduling.add("schedule");
  });
  for (const ns of ["default", "kube-system", "kube-public", "kube-node-lease"]) bootstrap(ns);

  const bindClaim = (claim: KubeObject) => {
    store.mutate(
      resource("persistentvolumeclaims"),
      claim.metadata.namespace,
      claim.metadata.name!,
      (o) => {
        const spec = o.spec as {
          accessModes?: string[];
          resources?: { requests?: { storage?: string } };
          volumeName?: string;
        };
        spec.volumeName ??= `pvc-${o.metadata.uid}`;
        o.status = {
          phase: "Bound",
          accessModes: spec.accessModes ?? ["ReadWriteOnce"],
          capacity: { storage: spec.resources?.requests?.storage ?? "1Gi" },
        };
        return true;
      },
    );
  };
  const claimFolder = async (ns: string, claim: string) => {
    const dir =
      options.pv?.[`${ns}/${claim}`] ??
      options.pv?.[claim] ??
      path.join(dataDir, "claims", ns, claim);
    await mkdir(dir, { recursive: true, mode: 0o777 });
    return dir;
  };

  const scheduler = new Scheduler(api, events, node);
  const scheduling = new WorkQueue(
    () => scheduler.schedulePending(),
    (_k, error) => console.error(`stand-in scheduler: ${(error as Error).stack}`),
  );
  const jobs = new JobController(api, events, backoffBaseMs);
  const gc = new GarbageCollector(api, 2000);
  const slices = new EndpointSliceController(api);
  const daemons = new DaemonSetController(api, events);
  const replicaSets = new ReplicaSetController(api, events);
  const deployments = new DeploymentController(api, events);
  const proxy = new ServiceProxy(store);

  const sockets = new Set<Socket>();
  const requests: RequestLogEntry[] = [];
  let address = "";
  const lookups = {
    configMap: (ns: string, name: string) => store.get(resource("configmaps"), ns, name),
    secret: (ns: string, name: string) => store.get(resource("secrets"), ns, name),
  };
  const kubelet = new Kubelet(
    {
      docker,
      store,
      events,
      envSources: {
        ...lookups,
        services: (ns) => store.list(resource("services"), ns),
        get apiServer() {
          const u = new URL(address);
          return { host: u.hostname, port: Number(u.port) };
        },
      },
      volumeSources: {
        ...lookups,
        claim: (ns, name) => store.get(resource("persistentvolumeclaims"), ns, name),
        claimFolder,
      },
      dataDir,
      nodeName: node.name,
      instance,
      backoffBaseMs,
      backoffMaxMs: options.backoffMaxMs ?? 300_000,
    },
    new LoopbackPool(octet, [1, 99]),
  );

  const server: Server = createServer((req, res) => {
    void handle(req, res, {
      api,
      faults,
      serverAddress: () => address.replace(/^http:\/\//, ""),
      logs: (pod, request, response, request2) => kubelet.logs(pod, request, response, request2),
      watchDefaults: {
        defaultTimeoutSeconds: 1800,
        bookmarkIntervalMs: options.bookmarkIntervalMs ?? 5000,
      },
      onRequest: (entry) => requests.push(entry),
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", resolve);
  });
  const bound = server.address() as { address: string; port: number };
  address = `http://${bound.address}:${bound.port}`;
  const kubeconfigPath = options.kubeconfigPath ?? path.join(dataDir, "kubeconfig");
  await writeFile(kubeconfigPath, kubeconfig(address));

  return {
    url: address,
    kubeconfigPath,
    dataDir,
    docker,
    api,
    async createNamespace(name) {
      await api.create(resource("namespaces"), undefined, { metadata: { name } });
      bootstrap(name);
    },
    requests,
    faults: {
      expireWatches: (count) => faults.expireWatches(count),
      cutWatchesAfter: (seconds) => {
        faults.cutWatchesAfterSeconds = seconds;
      },
      refuse: (ms, mode) => faults.refuse(ms, mode),
      forbid: (verb, res, namespace) => faults.forbid({ verb, resource: res, namespace }),
      allow: (verb, res, namespace) =>
        faults.allow(verb && res ? { verb, resource: res, namespace } : undefined),
      compactWatchHistory: () => store.compact(),
      evict: (namespace, pod, message) =>
        kubelet.evict(
          namespace,
          pod,
          message ??
            "The node was low on resource: memory. Threshold quantity: 100Mi, available: 51200Ki. ",
        ),
    },
    async close() {
      unsubscribe();
      scheduling.close();
      jobs.close();
      gc.close();
      slices.close();
      daemons.close();
      replicaSets.close();
      deployments.close();
      proxy.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await kubelet.close();
      const leftovers = await docker.listContainers({
        all: true,
        filters: { label: [`slipway.kube-standin=${instance}`] },
      });
      for (const c of leftovers)
        await docker
          .getContainer(c.Id)
          .remove({ force: true })
          .catch(() => undefined);
      if (ownData) await rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
    },
  };
}

export function kubeconfig(server: string): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "standin", cluster: { server, "insecure-skip-tls-verify": true } }],
    users: [{ name: "standin", user: { token: "standin" } }],
    contexts: [
      { name: "standin", context: { cluster: "standin", user: "standin", namespace: "default" } },
    ],
    "current-context": "standin",
  });
}
