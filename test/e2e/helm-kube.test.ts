/**
 * The chart installed as an administrator installs it: the seed's Kubernetes values (image names
 * changed) rendered by the real helm, applied by the real kubectl (`--server-side
 * --validate=false`) to the loopback Kubernetes API, whose kubelet runs the server pod from the
 * server image built offline by deploy/images/build.sh, on PostgreSQL with the seed's password
 * from the chart's Secret. Then an environment is added by changing `executionEnvironments` and
 * applying again: the running server picks it up from the ConfigMap, with no restart and no
 * rollout. Metrics are scraped through the chart's Service.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { CHART, FIXTURES } from "../helm/helm.js";
import { type KubeStandin, startKubeStandin } from "../kube/standin.js";
import { tarGz } from "../support/bundles.js";
import { ensureDebianImage } from "../support/debian-image.js";
import { manifestEntry } from "../support/deploy.js";
import { contentInitImage, engineAvailable } from "../support/images.js";
import { kubeTools } from "../support/kube-tools.js";
import { unavailable } from "../support/requirements.js";
import { freshDatabase, type TestDatabase } from "../support/stores.js";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../..", import.meta.url));
const NAMESPACE = "slipway";
const RELEASE = "rel";
const FULLNAME = "rel-slipway";
const IMAGE = "localhost/slipway-test/helm-server";
const TAG = String(process.pid);
/** Where the server pod reads the stand-in's kubeconfig (a cluster without in-cluster tokens). */
const KUBECONFIG_DIR = "/etc/slipway-kube";

/**
 * Deploying into content pods needs the Kubernetes runner wired into the server; until it is,
 * the seed's `backends.kubernetes.enabled` runs nothing and that test waits for it.
 */
const KUBERNETES_RUNNER = readFileSync(
  fileURLToPath(new URL("../../src/server/runner-choice.ts", import.meta.url)),
  "utf8",
).includes("KubernetesRunner");

const skip = unavailable(
  "The chart on the Kubernetes stand-in",
  engineAvailable() ??
    (process.env.SLIPWAY_TEST_POSTGRES_URL
      ? undefined
      : "SLIPWAY_TEST_POSTGRES_URL is not set (.ci/start-postgres.sh starts one)"),
);

interface Environment {
  name: string;
  title?: string;
  python?: { installations: { path: string; version: string }[] };
}

interface Pod {
  metadata: { uid: string; deletionTimestamp?: string };
  spec: { securityContext: { runAsNonRoot?: boolean } };
  status: { containerStatuses: { restartCount: number }[] };
}

async function until<T>(
  what: string,
  attempt: () => Promise<T | undefined>,
  ms = 180_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const result = await attempt();
      if (result !== undefined) return result;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${String(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe.skipIf(skip)("the chart on the Kubernetes stand-in", { timeout: 900_000 }, () => {
  let standin: KubeStandin;
  let database: TestDatabase;
  let work: string;
  let seed: { executionEnvironments: Environment[] };
  let overrides: Record<string, unknown>;
  let kubectl: string;
  let helm: string;
  let url: string;
  let key: string;

  const kube = async (...args: string[]) =>
    (await run(kubectl, ["--kubeconfig", standin.kubeconfigPath, "-n", NAMESPACE, ...args])).stdout;

  /** `helm template` of the seed with the test's overrides, then `kubectl apply` of the result. */
  const install = async (environments: unknown[]) => {
    const values = path.join(work, "overrides.yaml");
    await writeFile(values, stringify({ ...overrides, executionEnvironments: environments }));
    const { stdout: manifests } = await run(
      helm,
      [
        "template",
        RELEASE,
        CHART,
        "--namespace",
        NAMESPACE,
        "-f",
        path.join(FIXTURES, "seed-kubernetes-values.yaml"),
        "-f",
        values,
      ],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    const file = path.join(work, "manifests.yaml");
    await writeFile(file, manifests);
    return kube("apply", "--server-side", "--validate=false", "-f", file);
  };

  const api = async (route: string) => {
    const response = await fetch(`${url}${route}`, { headers: { Authorization: `Key ${key}` } });
    if (response.status !== 200) throw new Error(`${route}: ${response.status}`);
    return response.json() as Promise<unknown>;
  };

  const serverPod = async () => {
    const pods = JSON.parse(
      await kube("get", "pods", "-l", `app.kubernetes.io/instance=${RELEASE}`, "-o", "json"),
    ).items as Pod[];
    return pods.filter((p) => !p.metadata.deletionTimestamp);
  };

  beforeAll(async () => {
    ({ kubectl, helm } = await kubeTools());
    const { stdout } = await run(
      `${root}deploy/images/build.sh`,
      ["server", "--tag", `${IMAGE}:${TAG}`],
      { cwd: root, maxBuffer: 64 * 1024 * 1024 },
    );
    expect(stdout.trim().split("\n").pop()).toBe(`${IMAGE}:${TAG}`);
    database = await freshDatabase("postgres");
    work = await mkdtemp(path.join(tmpdir(), "slipway-helm-e2e-"));
    const shared = path.join(work, "shared");
    await run("mkdir", ["-p", shared]);
    // The server runs as 10001; the claim's folder is the volume an NFS export would be.
    await chmod(shared, 0o777);
    standin = await startKubeStandin({
      backoffBaseMs: 300,
      pv: { [`${NAMESPACE}/${FULLNAME}-shared-storage`]: shared },
    });
    await standin.createNamespace(NAMESPACE);
    await kube(
      "create",
      "secret",
      "generic",
      "kubeconfig",
      `--from-file=config=${standin.kubeconfigPath}`,
    );
    const init = contentInitImage();
    const at = init.lastIndexOf(":");
    seed = parse(await readFile(path.join(FIXTURES, "seed-kubernetes-values.yaml"), "utf8"));
    overrides = {
      image: { repository: IMAGE, tag: TAG, imagePullPolicy: "Never" },
      config: {
        Postgres: { URL: database.settings.Postgres.URL },
        Kubernetes: { Kubeconfig: `${KUBECONFIG_DIR}/config` },
      },
      backends: {
        kubernetes: {
          enabled: true,
          defaultInitContainer: {
            repository: init.slice(0, at),
            tag: init.slice(at + 1),
            imagePullPolicy: "Never",
          },
        },
      },
      prometheus: { enabled: true },
      pod: {
        // Pods of the stand-in share the host's network: each listens on its own loopback address.
        env: [
          { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
          { name: "SLIPWAY_SERVER_ADDRESS", value: "$(POD_IP):3939" },
          { name: "SLIPWAY_METRICS_PROMETHEUSLISTEN", value: "$(POD_IP):3232" },
        ],
        volumes: [{ name: "kubeconfig", secret: { secretName: "kubeconfig" } }],
        volumeMounts: [{ name: "kubeconfig", mountPath: KUBECONFIG_DIR, readOnly: true }],
      },
    };
  }, 900_000);

  afterAll(async () => {
    await standin?.close();
    await database?.drop();
    if (work) await rm(work, { recursive: true, force: true });
    await run("docker", ["rmi", "-f", `${IMAGE}:${TAG}`]).catch(() => undefined);
  });

  it("installs the seed's values with kubectl and serves the seed's environments", async () => {
    const applied = await install(seed.executionEnvironments);
    expect(applied).toContain(`deployment.apps/${FULLNAME} serverside-applied`);
    await kube("rollout", "status", `deployment/${FULLNAME}`, "--timeout=300s");
    const pods = await serverPod();
    expect(pods).toHaveLength(1);
    const pod = pods[0]!;
    expect(pod.spec.securityContext.runAsNonRoot).toBe(true);

    const service = JSON.parse(await kube("get", "service", FULLNAME, "-o", "json"));
    url = `http://${service.spec.clusterIP}:80`;
    expect((await fetch(`${url}/__ping__`)).status).toBe(200);

    key = await until("the administrator's key in the server's log", async () => {
      const log = await kube("logs", `deployment/${FULLNAME}`);
      return /API key is\s+(\S+)/.exec(log)?.[1];
    });
    const environments = await until("the seed's environments", async () => {
      const list = (await api("/__api__/v1/environments")) as Environment[];
      return list.length > 0 ? list : undefined;
    });
    expect(environments.map((e) => e.name)).toEqual(seed.executionEnvironments.map((e) => e.name));
    expect(environments[0]).toMatchObject({
      title: "Custom Runtime",
      python: { installations: [{ version: "3.14.3", path: "/opt/python/3.14.3/bin/python3" }] },
    });

    // The seed's password went to the Secret and reached the server as a variable, not a file.
    const configMaps = await kube("get", "configmaps", "-o", "json");
    expect(configMaps).not.toContain("<PASSWORD>");
    const secret = JSON.parse(await kube("get", "secret", `${FULLNAME}-settings`, "-o", "json"));
    expect(Buffer.from(secret.data.SLIPWAY_POSTGRES_PASSWORD, "base64").toString()).toBe(
      "<PASSWORD>",
    );

    const metrics = await fetch(`http://${service.spec.clusterIP}:3232/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toContain("slipway_tasks_total");
  });

  const added = {
    name: "localhost/slipway/content:py3.12",
    title: "Python 3.12",
    matching: "any",
    python: { installations: [{ path: "/opt/python/3.12.8/bin/python3", version: "3.12.8" }] },
  };

  it("adds an environment when executionEnvironments change, live, with no restart", async () => {
    const before = (await serverPod())[0]!;
    const deployment = JSON.parse(await kube("get", "deployment", FULLNAME, "-o", "json"));
    await install([...seed.executionEnvironments, added]);
    const environments = await until("the added environment", async () => {
      const list = (await api("/__api__/v1/environments")) as Environment[];
      return list.some((e) => e.name === added.name) ? list : undefined;
    });
    expect(environments.map((e) => e.name)).toEqual([
      ...seed.executionEnvironments.map((e) => e.name),
      added.name,
    ]);
    // The same pod, never restarted, and no new rollout of the Deployment.
    const pods = await serverPod();
    expect(pods).toHaveLength(1);
    const after = pods[0]!;
    expect(after.metadata.uid).toBe(before.metadata.uid);
    expect(after.status.containerStatuses[0]!.restartCount).toBe(0);
    const again = JSON.parse(await kube("get", "deployment", FULLNAME, "-o", "json"));
    expect(again.metadata.generation).toBe(deployment.metadata.generation);
  });

  it.skipIf(!KUBERNETES_RUNNER)(
    "deploys through that server into a content pod, in an environment added live",
    async () => {
      const debian = ensureDebianImage();
      await install([
        ...seed.executionEnvironments,
        added,
        { name: debian.name, title: "Debian", python: { installations: [debian.python] } },
      ]);
      await until("the Debian environment", async () => {
        const list = (await api("/__api__/v1/environments")) as Environment[];
        return list.some((e) => e.name === debian.name) ? true : undefined;
      });
      const call = async (method: string, route: string, body: unknown, type: string) => {
        const response = await fetch(`${url}${route}`, {
          method,
          headers: { Authorization: `Key ${key}`, "Content-Type": type },
          body: type === "application/json" ? JSON.stringify(body) : (body as Buffer),
        });
        return {
          status: response.status,
          body: (await response.json()) as {
            guid: string;
            content_url: string;
            id: string;
            task_id: string;
          },
        };
      };
      const item = await call(
        "POST",
        "/__api__/v1/content",
        { name: "in-a-pod" },
        "application/json",
      );
      expect(item.status).toBe(200);
      const guid = item.body.guid;
      const bundle = await call(
        "POST",
        `/__api__/v1/content/${guid}/bundles`,
        tarGz([
          manifestEntry({
            metadata: { appmode: "python-api", entrypoint: "app:app" },
            python: { version: debian.python.version },
            environment: { image: debian.name, environment_management: { python: false } },
          }),
          {
            path: "app.py",
            content:
              'def app(environ, start_response):\n    start_response("200 OK", [("Content-Type", "text/plain")])\n    return [b"from a pod"]\n',
          },
        ]),
        "application/gzip",
      );
      expect(bundle.status).toBe(200);
      const started = await call(
        "POST",
        `/__api__/v1/content/${guid}/deploy`,
        { bundle_id: bundle.body.id },
        "application/json",
      );
      expect(started.status).toBe(202);
      const task = await until(
        "the deploy",
        async () => {
          const t = (await api(`/__api__/v1/tasks/${started.body.task_id}?wait=5`)) as {
            finished: boolean;
            code: number;
            output: string[];
          };
          return t.finished ? t : undefined;
        },
        600_000,
      );
      expect(task.code, task.output.join("\n")).toBe(0);
      const answer = await fetch(item.body.content_url, {
        headers: { Authorization: `Key ${key}` },
      });
      expect(await answer.text()).toBe("from a pod");
      const jobs = JSON.parse(await kube("get", "jobs", "-o", "json")).items as {
        metadata: { labels?: Record<string, string> };
      }[];
      expect(jobs.some((j) => Object.values(j.metadata.labels ?? {}).includes(guid))).toBe(true);
      const service = JSON.parse(await kube("get", "service", FULLNAME, "-o", "json"));
      const metrics = await (await fetch(`http://${service.spec.clusterIP}:3232/metrics`)).text();
      expect(metrics).toMatch(/slipway_app_start_duration_seconds_count\{result="ready"\} [1-9]/);
    },
  );
});
