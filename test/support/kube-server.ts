/**
 * A real server on the Kubernetes runner against the loopback stand-in, as the chart deploys
 * it: the shared claim is the server's own DataDir, and the Debian test image is the one
 * environment. Shared by the end-to-end tests of content on Kubernetes.
 */
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { expect } from "vitest";
import { resource } from "../kube/resources.js";
import { type KubeStandin, startKubeStandin } from "../kube/standin.js";
import type { KubeObject } from "../kube/types.js";
import { debianImageUnavailable, ensureDebianImage } from "./debian-image.js";
import { contentInitImage, engineAvailable } from "./images.js";
import { startTestServer, type TestServer } from "./server.js";

export const NAMESPACE = "slipway-content";
export const CLAIM = "slipway-shared-storage";

/** Why a server on the stand-in cannot run here (no engine, no Debian image), or undefined. */
export function kubeServerUnavailable(): string | undefined {
  return engineAvailable() ?? debianImageUnavailable();
}

export interface KubeServer {
  standin: KubeStandin;
  server: TestServer;
  /** A GET of a content URL as the viewer. */
  get(url: string): Promise<Response>;
  /** The Jobs the stand-in holds for the content, of one kind (build, render, run). */
  jobsOf(guid: string, kind: string): KubeObject[];
  close(): Promise<void>;
}

export async function startKubeServer(): Promise<KubeServer> {
  const debian = ensureDebianImage();
  const init = contentInitImage();
  const pv: Record<string, string> = {};
  const standin = await startKubeStandin({
    backoffBaseMs: 300,
    pv,
    node: { capacity: { memory: "8Gi", cpu: "4" } },
  });
  let server: TestServer | undefined;
  try {
    await standin.createNamespace(NAMESPACE);
    await standin.api.create(resource("persistentvolumeclaims"), NAMESPACE, {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      metadata: { name: CLAIM },
      spec: { accessModes: ["ReadWriteMany"], resources: { requests: { storage: "10Gi" } } },
    });
    server = await startTestServer("sqlite", (s) => {
      // The claim is the server's own data folder, as the chart mounts it.
      pv[CLAIM] = s.Server.DataDir;
      s.Kubernetes.Enabled = true;
      s.Kubernetes.Kubeconfig = standin.kubeconfigPath;
      s.Kubernetes.Namespace = NAMESPACE;
      s.Kubernetes.DataDirPVCName = CLAIM;
      s.Kubernetes.InitContainerImage = init;
      s.Python.FindLinks = [path.join(s.Server.DataDir, "wheels")];
      s.Python.SystemSitePackages = true;
    });
    await mkdir(path.join(server.settings.Server.DataDir, "wheels"), { recursive: true });
    const created = await server.call("POST", "/__api__/v1/environments", {
      body: {
        name: debian.name,
        title: "Debian bookworm",
        python: { installations: [debian.python] },
        r: { installations: [debian.r] },
      },
    });
    expect(created.status).toBe(200);
  } catch (error) {
    await server?.close();
    await standin.close();
    throw error;
  }
  const running = server;
  return {
    standin,
    server: running,
    get: (url) => fetch(url, { headers: { Authorization: `Key ${running.keys.viewer}` } }),
    jobsOf: (guid, kind) =>
      standin.api.store
        .list(resource("jobs"), NAMESPACE)
        .filter(
          (j) =>
            j.metadata.labels?.["slipway.io/content"] === guid &&
            j.metadata.labels?.["slipway.io/kind"] === kind,
        ),
    close: async () => {
      await running.close();
      await standin.close();
    },
  };
}
