/**
 * Pods made real: every state asserted here was produced by the Docker engine (exit codes,
 * OOM kills, pulls from a registry, files in host folders, answers over the Service's
 * loopback address), through the stand-in's kubelet.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  BatchV1Api,
  CoreV1Api,
  type CoreV1Event,
  KubeConfig,
  type V1Job,
  type V1Pod,
} from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureImage, hostPythonVersion, registryImage } from "../support/images.js";
import { resource } from "./resources.js";
import { type KubeStandin, startKubeStandin } from "./standin.js";
import { engineMissing, eventually } from "./test-support.js";

const missing = engineMissing();

describe.skipIf(Boolean(missing))(
  "pods on the stand-in's Docker kubelet",
  { timeout: 180_000 },
  () => {
    let standin: KubeStandin;
    let core: CoreV1Api;
    let batch: BatchV1Api;
    let shared: string;
    let busybox: string;
    let python: string;
    const pythonBin = () => `/opt/python/${hostPythonVersion()}/bin/python3`;

    beforeAll(async () => {
      busybox = ensureImage("empty");
      python = ensureImage("full");
      shared = await mkdtemp(path.join(tmpdir(), "slipway-standin-pv-"));
      standin = await startKubeStandin({
        backoffBaseMs: 300,
        backoffMaxMs: 2000,
        pv: { "shared-data": shared },
      });
      const kc = new KubeConfig();
      kc.loadFromFile(standin.kubeconfigPath);
      core = kc.makeApiClient(CoreV1Api);
      batch = kc.makeApiClient(BatchV1Api);
    }, 180_000);
    afterAll(async () => {
      await standin?.close();
      if (shared) await rm(shared, { recursive: true, force: true });
    });

    const pod = (name: string, ns: string) => core.readNamespacedPod({ name, namespace: ns });
    const jobPods = async (ns: string, job: string) =>
      (await core.listNamespacedPod({ namespace: ns, labelSelector: `job-name=${job}` })).items;
    const events = async (ns: string, name: string): Promise<CoreV1Event[]> =>
      (
        await core.listNamespacedEvent({
          namespace: ns,
          fieldSelector: `involvedObject.name=${name}`,
        })
      ).items;
    const finished = (ns: string, name: string) =>
      eventually(
        `job ${name} to finish`,
        async () => {
          const job = await batch.readNamespacedJob({ namespace: ns, name });
          return job.status?.conditions?.find(
            (c) => (c.type === "Complete" || c.type === "Failed") && c.status === "True",
          )
            ? job
            : undefined;
        },
        120_000,
      );
    const waitingReason = (p: V1Pod) => p.status?.containerStatuses?.[0]?.state?.waiting?.reason;

    it("runs init containers first: one copies a runtime into an emptyDir that the main container uses", async () => {
      await standin.createNamespace("init");
      await core.createNamespacedConfigMap({
        namespace: "init",
        body: {
          metadata: { name: "settings" },
          data: { greeting: "hi", "app.conf": "port = 8080\n" },
        },
      });
      await core.createNamespacedSecret({
        namespace: "init",
        body: { metadata: { name: "creds" }, stringData: { token: "s3cr3t" } },
      });
      const job: V1Job = {
        metadata: { name: "runtime" },
        spec: {
          backoffLimit: 0,
          template: {
            metadata: { labels: { tier: "content" } },
            spec: {
              restartPolicy: "Never",
              volumes: [
                { name: "runtime", emptyDir: {} },
                { name: "conf", configMap: { name: "settings" } },
              ],
              initContainers: [
                {
                  name: "content-init",
                  image: busybox,
                  command: [
                    "sh",
                    "-c",
                    "mkdir -p /mnt/runtime/bin && busybox cp /bin/busybox /mnt/runtime/bin/busybox && echo copied > /mnt/runtime/marker",
                  ],
                  volumeMounts: [{ name: "runtime", mountPath: "/mnt/runtime" }],
                },
                {
                  name: "second-init",
                  image: busybox,
                  command: [
                    "sh",
                    "-c",
                    "cat /mnt/runtime/marker >> /mnt/runtime/order && echo second >> /mnt/runtime/order",
                  ],
                  volumeMounts: [{ name: "runtime", mountPath: "/mnt/runtime" }],
                },
              ],
              containers: [
                {
                  name: "main",
                  image: busybox,
                  workingDir: "/opt/runtime",
                  command: ["sh", "-c"],
                  args: [
                    "./bin/busybox echo ran $(GREETING); cat order; echo ip=$POD_IP name=$POD_NAME ns=$POD_NS tier=$TIER token=$TOKEN; cat /etc/app/app.conf; ./bin/busybox id -u; ./bin/busybox touch /etc/app/x 2>/dev/null || echo read-only",
                  ],
                  securityContext: {
                    runAsUser: 1234,
                    runAsGroup: 1234,
                    allowPrivilegeEscalation: false,
                    capabilities: { drop: ["ALL"] },
                  },
                  env: [
                    {
                      name: "GREETING",
                      valueFrom: { configMapKeyRef: { name: "settings", key: "greeting" } },
                    },
                    { name: "TOKEN", valueFrom: { secretKeyRef: { name: "creds", key: "token" } } },
                    { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
                    { name: "POD_NAME", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                    {
                      name: "POD_NS",
                      valueFrom: { fieldRef: { fieldPath: "metadata.namespace" } },
                    },
                    {
                      name: "TIER",
                      valueFrom: { fieldRef: { fieldPath: "metadata.labels['tier']" } },
                    },
                  ],
                  volumeMounts: [
                    { name: "runtime", mountPath: "/opt/runtime" },
                    { name: "conf", mountPath: "/etc/app", readOnly: true },
                  ],
                },
              ],
            },
          },
        },
      };
      await batch.createNamespacedJob({ namespace: "init", body: job });
      const done = await finished("init", "runtime");
      expect(done.status).toMatchObject({
        succeeded: 1,
        conditions: expect.arrayContaining([
          expect.objectContaining({ type: "Complete", reason: "CompletionsReached" }),
        ]),
      });
      const [p] = await jobPods("init", "runtime");
      expect(p!.status!.phase).toBe("Succeeded");
      expect(
        p!.status!.initContainerStatuses!.map((s) => [
          s.name,
          s.state?.terminated?.reason,
          s.state?.terminated?.exitCode,
        ]),
      ).toEqual([
        ["content-init", "Completed", 0],
        ["second-init", "Completed", 0],
      ]);
      const initEnd = Date.parse(
        p!.status!.initContainerStatuses![1]!.state!.terminated!.finishedAt as unknown as string,
      );
      expect(
        Date.parse(
          p!.status!.containerStatuses![0]!.state!.terminated!.startedAt as unknown as string,
        ),
      ).toBeGreaterThanOrEqual(initEnd);
      const ip = p!.status!.podIP!;
      expect(ip).toMatch(/^127\.\d+\.\d+\.\d+$/);
      const log = await core.readNamespacedPodLog({
        namespace: "init",
        name: p!.metadata!.name!,
        container: "main",
      });
      expect(log).toBe(
        `ran hi\ncopied\nsecond\nip=${ip} name=${p!.metadata!.name} ns=init tier=content token=s3cr3t\nport = 8080\n1234\nread-only\n`,
      );
      const initLog = await core.readNamespacedPodLog({
        namespace: "init",
        name: p!.metadata!.name!,
        container: "content-init",
      });
      expect(initLog).toBe("");
      const reasons = (await events("init", p!.metadata!.name!)).map(
        (e) => `${e.reason} ${e.involvedObject.fieldPath ?? ""}`,
      );
      expect(reasons).toEqual(
        expect.arrayContaining([
          "Started spec.initContainers{content-init}",
          "Started spec.initContainers{second-init}",
          "Started spec.containers{main}",
        ]),
      );
    });

    it("backs a claim with the host folder given for it, through subPath mounts", async () => {
      await standin.createNamespace("pv");
      await core.createNamespacedPersistentVolumeClaim({
        namespace: "pv",
        body: {
          metadata: { name: "shared-data" },
          spec: { accessModes: ["ReadWriteMany"], resources: { requests: { storage: "1Gi" } } },
        },
      });
      await batch.createNamespacedJob({
        namespace: "pv",
        body: {
          metadata: { name: "writer" },
          spec: {
            backoffLimit: 0,
            template: {
              spec: {
                restartPolicy: "Never",
                volumes: [{ name: "data", persistentVolumeClaim: { claimName: "shared-data" } }],
                containers: [
                  {
                    name: "w",
                    image: busybox,
                    command: ["sh", "-c", "echo written by $HOSTNAME > /data/out.txt"],
                    volumeMounts: [{ name: "data", mountPath: "/data", subPath: "jobs/writer" }],
                  },
                ],
              },
            },
          },
        },
      });
      await finished("pv", "writer");
      const [p] = await jobPods("pv", "writer");
      expect(await readFile(path.join(shared, "jobs/writer/out.txt"), "utf8")).toBe(
        `written by ${p!.metadata!.name}\n`,
      );
    });

    it("reaches an app through its Service's clusterIP from the host, across two pods on one port", async () => {
      await standin.createNamespace("web");
      for (const name of ["web-a", "web-b"])
        await core.createNamespacedPod({
          namespace: "web",
          body: {
            metadata: { name, labels: { app: "web" } },
            spec: {
              containers: [
                {
                  name: "http",
                  image: python,
                  command: [
                    "sh",
                    "-c",
                    `mkdir -p /srv && echo ${name} > /srv/who && cd /srv && exec ${pythonBin()} -m http.server 8080 --bind $POD_IP`,
                  ],
                  env: [{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }],
                  ports: [{ name: "http", containerPort: 8080 }],
                  readinessProbe: { httpGet: { path: "/who", port: "http" }, periodSeconds: 1 },
                },
              ],
            },
          },
        });
      const svc = await core.createNamespacedService({
        namespace: "web",
        body: {
          metadata: { name: "web" },
          spec: {
            selector: { app: "web" },
            ports: [{ name: "http", port: 80, targetPort: "http" }],
          },
        },
      });
      const clusterIP = svc.spec!.clusterIP!;
      const ready = await eventually(
        "both pods ready",
        async () => {
          const pods = (
            await core.listNamespacedPod({ namespace: "web", labelSelector: "app=web" })
          ).items;
          return pods.every((x) =>
            x.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"),
          )
            ? pods
            : undefined;
        },
        90_000,
      );
      expect(new Set(ready.map((x) => x.status!.podIP)).size).toBe(2);
      const answers = new Set<string>();
      for (let i = 0; i < 6; i++)
        answers.add((await (await fetch(`http://${clusterIP}/who`)).text()).trim());
      expect([...answers].sort()).toEqual(["web-a", "web-b"]);
      // http.server as PID 1 ignores SIGTERM, so (as on a cluster) only the grace period ends it.
      await core.deleteNamespacedPod({ namespace: "web", name: "web-a", gracePeriodSeconds: 1 });
      await eventually(
        "web-a gone",
        async () => (await core.listNamespacedPod({ namespace: "web" })).items.length === 1,
        60_000,
      );
      const slices = await eventually("the slice to drop web-a", async () => {
        const s = standin.api.list(resource("endpointslices"), "web", {
          labelSelector: "kubernetes.io/service-name=web",
        });
        const endpoints = (s.items[0]?.endpoints as { targetRef: { name: string } }[]) ?? [];
        return endpoints.length === 1 ? endpoints : undefined;
      });
      expect(slices[0]!.targetRef.name).toBe("web-b");
      for (let i = 0; i < 3; i++)
        expect((await (await fetch(`http://${clusterIP}/who`)).text()).trim()).toBe("web-b");
      const killing = (await events("web", "web-a")).find((e) => e.reason === "Killing");
      expect(killing?.message).toBe("Stopping container http");
    }, 120_000);

    it("reports a pull failure as ErrImagePull, then ImagePullBackOff, with the engine's message", async () => {
      await standin.createNamespace("pull");
      const image = "127.0.0.1:5000/slipway-test/does-not-exist:1";
      await core.createNamespacedPod({
        namespace: "pull",
        body: { metadata: { name: "nope" }, spec: { containers: [{ name: "c", image }] } },
      });
      const backoff = await eventually("ImagePullBackOff", async () => {
        const p = await pod("nope", "pull");
        return waitingReason(p) === "ImagePullBackOff" ? p : undefined;
      });
      expect(backoff.status!.phase).toBe("Pending");
      expect(backoff.status!.containerStatuses![0]!.state!.waiting!.message).toMatch(
        new RegExp(`^Back-off pulling image "${image.replace(/[.]/g, "\\.")}": ErrImagePull: .+`),
      );
      const evs = await events("pull", "nope");
      const failed = evs.filter((e) => e.reason === "Failed").map((e) => e.message!);
      expect(failed).toEqual(
        expect.arrayContaining(["Error: ErrImagePull", "Error: ImagePullBackOff"]),
      );
      expect(failed.some((m) => m.startsWith(`Failed to pull image "${image}": `))).toBe(true);
      expect(evs.filter((e) => e.reason === "Pulling").map((e) => e.message)).toContain(
        `Pulling image "${image}"`,
      );
      expect(evs.find((e) => e.reason === "BackOff")?.message).toBe(
        `Back-off pulling image "${image}"`,
      );
    });

    it("pulls from the loopback registry when the image is absent, and honours pull policy Never", async () => {
      const remote = registryImage("empty");
      if (!remote) {
        if (process.env.CI)
          throw new Error(
            "no registry at 127.0.0.1:5000 (bash .ci/install-container-engine.sh starts one)",
          );
        console.warn("registry pull test skipped: no registry at 127.0.0.1:5000");
        return;
      }
      await standin.createNamespace("registry");
      await core.createNamespacedPod({
        namespace: "registry",
        body: {
          metadata: { name: "pulled" },
          spec: {
            restartPolicy: "Never",
            containers: [
              {
                name: "c",
                image: remote,
                imagePullPolicy: "IfNotPresent",
                command: ["echo", "pulled ok"],
              },
            ],
          },
        },
      });
      await eventually(
        "the pulled pod to succeed",
        async () => (await pod("pulled", "registry")).status?.phase === "Succeeded",
        120_000,
      );
      const pulled = (await events("registry", "pulled")).find((e) => e.reason === "Pulled");
      expect(pulled?.message).toMatch(
        new RegExp(`^Successfully pulled image "${remote.replace(/[.]/g, "\\.")}" in [\\d.]+s`),
      );
      await core.createNamespacedPod({
        namespace: "registry",
        body: {
          metadata: { name: "never" },
          spec: {
            containers: [
              { name: "c", image: "localhost/slipway-test/not-here:1", imagePullPolicy: "Never" },
            ],
          },
        },
      });
      const never = await eventually("ErrImageNeverPull", async () => {
        const p = await pod("never", "registry");
        return waitingReason(p) === "ErrImageNeverPull" ? p : undefined;
      });
      expect(never.status!.containerStatuses![0]!.state!.waiting!.message).toBe(
        'Container image "localhost/slipway-test/not-here:1" is not present with pull policy of Never',
      );
    }, 180_000);

    it("reports an OOM kill as terminated.reason OOMKilled, and fails the Job past its backoffLimit", async () => {
      await standin.createNamespace("oom");
      await batch.createNamespacedJob({
        namespace: "oom",
        body: {
          metadata: { name: "hog" },
          spec: {
            backoffLimit: 0,
            template: {
              spec: {
                restartPolicy: "Never",
                containers: [
                  {
                    name: "hog",
                    image: python,
                    command: [
                      pythonBin(),
                      "-c",
                      "x = bytearray(300 * 1024 * 1024); print('survived')",
                    ],
                    resources: { limits: { memory: "48Mi" } },
                  },
                ],
              },
            },
          },
        },
      });
      const job = await finished("oom", "hog");
      expect(job.status!.conditions!.find((c) => c.type === "Failed")).toMatchObject({
        status: "True",
        reason: "BackoffLimitExceeded",
        message: "Job has reached the specified backoff limit",
      });
      expect(job.status!.failed).toBe(1);
      const [p] = await jobPods("oom", "hog");
      expect(p!.status!.phase).toBe("Failed");
      expect(p!.status!.containerStatuses![0]!.state!.terminated).toMatchObject({
        reason: "OOMKilled",
        exitCode: 137,
      });
    });

    it("keeps a failed container's last log lines as its message (FallbackToLogsOnError) and retries to backoffLimit", async () => {
      await standin.createNamespace("fail");
      await batch.createNamespacedJob({
        namespace: "fail",
        body: {
          metadata: { name: "boom" },
          spec: {
            backoffLimit: 1,
            template: {
              spec: {
                restartPolicy: "Never",
                containers: [
                  {
                    name: "c",
                    image: busybox,
                    command: ["sh", "-c", "echo something broke >&2; exit 3"],
                    terminationMessagePolicy: "FallbackToLogsOnError",
                  },
                ],
              },
            },
          },
        },
      });
      const job = await finished("fail", "boom");
      expect(job.status!.failed).toBe(2);
      const pods = await jobPods("fail", "boom");
      expect(pods).toHaveLength(2);
      for (const p of pods)
        expect(p.status!.containerStatuses![0]!.state!.terminated).toMatchObject({
          exitCode: 3,
          reason: "Error",
          message: "something broke\n",
        });
    });

    it("holds a container in CreateContainerConfigError until its Secret exists", async () => {
      await standin.createNamespace("config");
      await core.createNamespacedPod({
        namespace: "config",
        body: {
          metadata: { name: "waits" },
          spec: {
            restartPolicy: "Never",
            containers: [
              {
                name: "c",
                image: busybox,
                command: ["sh", "-c", "echo key=$KEY"],
                env: [{ name: "KEY", valueFrom: { secretKeyRef: { name: "later", key: "k" } } }],
              },
            ],
          },
        },
      });
      const held = await eventually("CreateContainerConfigError", async () => {
        const p = await pod("waits", "config");
        return waitingReason(p) === "CreateContainerConfigError" ? p : undefined;
      });
      expect(held.status!.containerStatuses![0]!.state!.waiting!.message).toBe(
        'secret "later" not found',
      );
      await core.createNamespacedSecret({
        namespace: "config",
        body: { metadata: { name: "later" }, stringData: { k: "v" } },
      });
      await eventually(
        "the pod to run",
        async () => (await pod("waits", "config")).status?.phase === "Succeeded",
      );
      expect(await core.readNamespacedPodLog({ namespace: "config", name: "waits" })).toBe(
        "key=v\n",
      );
    });

    it("fails a Job past activeDeadlineSeconds and stops its pod", async () => {
      await standin.createNamespace("deadline");
      await batch.createNamespacedJob({
        namespace: "deadline",
        body: {
          metadata: { name: "slow" },
          spec: {
            activeDeadlineSeconds: 2,
            backoffLimit: 0,
            template: {
              spec: {
                restartPolicy: "Never",
                terminationGracePeriodSeconds: 1,
                containers: [{ name: "c", image: busybox, command: ["sleep", "60"] }],
              },
            },
          },
        },
      });
      const job = await finished("deadline", "slow");
      expect(job.status!.conditions!.find((c) => c.type === "Failed")).toMatchObject({
        reason: "DeadlineExceeded",
        message: "Job was active longer than specified deadline",
      });
      await eventually(
        "the pod to go",
        async () => (await jobPods("deadline", "slow")).length === 0,
        60_000,
      );
    });

    it("restarts a crashing container with back-off (CrashLoopBackOff) and counts restarts", async () => {
      await standin.createNamespace("crash");
      await core.createNamespacedPod({
        namespace: "crash",
        body: {
          metadata: { name: "crasher" },
          spec: {
            restartPolicy: "OnFailure",
            containers: [
              { name: "c", image: busybox, command: ["sh", "-c", "echo attempt; exit 1"] },
            ],
          },
        },
      });
      const looping = await eventually(
        "two restarts",
        async () => {
          const p = await pod("crasher", "crash");
          const s = p.status?.containerStatuses?.[0];
          return s && s.restartCount >= 2 ? p : undefined;
        },
        90_000,
      );
      const s = looping.status!.containerStatuses![0]!;
      expect(looping.status!.phase).toBe("Running");
      expect(s.lastState?.terminated).toMatchObject({ exitCode: 1, reason: "Error" });
      const backoff = (await events("crash", "crasher")).find((e) => e.reason === "BackOff");
      expect(backoff?.message).toMatch(
        /^Back-off restarting failed container c in pod crasher_crash\(/,
      );
      const previous = await core.readNamespacedPodLog({
        namespace: "crash",
        name: "crasher",
        previous: true,
      });
      expect(previous).toBe("attempt\n");
    });

    it("drives Ready from exec and tcpSocket readiness probes, and refuses a root image under runAsNonRoot", async () => {
      await standin.createNamespace("probes");
      await core.createNamespacedPod({
        namespace: "probes",
        body: {
          metadata: { name: "probed" },
          spec: {
            containers: [
              {
                name: "exec",
                image: busybox,
                command: ["sh", "-c", "sleep 1; echo ok > /tmp/ready; sleep 600"],
                readinessProbe: { exec: { command: ["cat", "/tmp/ready"] }, periodSeconds: 1 },
              },
              {
                name: "tcp",
                image: python,
                command: [pythonBin(), "-m", "http.server", "8181", "--bind", "$(POD_IP)"],
                env: [{ name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }],
                readinessProbe: { tcpSocket: { port: 8181 }, periodSeconds: 1 },
              },
            ],
          },
        },
      });
      const ready = await eventually(
        "both probes to pass",
        async () => {
          const p = await pod("probed", "probes");
          return p.status?.conditions?.find((c) => c.type === "Ready")?.status === "True"
            ? p
            : undefined;
        },
        90_000,
      );
      expect(ready.status!.containerStatuses!.map((c) => c.ready)).toEqual([true, true]);
      await core.deleteNamespacedPod({
        namespace: "probes",
        name: "probed",
        gracePeriodSeconds: 1,
      });
      await core.createNamespacedPod({
        namespace: "probes",
        body: {
          metadata: { name: "rooted" },
          spec: {
            securityContext: { runAsNonRoot: true },
            containers: [{ name: "c", image: busybox, command: ["true"] }],
          },
        },
      });
      const refused = await eventually("CreateContainerConfigError", async () => {
        const p = await pod("rooted", "probes");
        return waitingReason(p) === "CreateContainerConfigError" ? p : undefined;
      });
      expect(refused.status!.containerStatuses![0]!.state!.waiting!.message).toMatch(
        /^container has runAsNonRoot and image will run as root/,
      );
    });

    it("deletes a finished Job ttlSecondsAfterFinished later, with its pods", async () => {
      await standin.createNamespace("ttl");
      await batch.createNamespacedJob({
        namespace: "ttl",
        body: {
          metadata: { name: "brief" },
          spec: {
            ttlSecondsAfterFinished: 1,
            template: {
              spec: {
                restartPolicy: "Never",
                containers: [{ name: "c", image: busybox, command: ["echo", "done"] }],
              },
            },
          },
        },
      });
      await eventually(
        "the Job and its pod to go",
        async () => {
          const [jobs, pods] = await Promise.all([
            batch.listNamespacedJob({ namespace: "ttl" }),
            core.listNamespacedPod({ namespace: "ttl" }),
          ]);
          return jobs.items.length === 0 && pods.items.length === 0;
        },
        60_000,
      );
    });

    it("reports a command that cannot start as terminated with reason StartError", async () => {
      await standin.createNamespace("start");
      await core.createNamespacedPod({
        namespace: "start",
        body: {
          metadata: { name: "nocmd" },
          spec: {
            restartPolicy: "Never",
            containers: [{ name: "c", image: busybox, command: ["/no/such/binary"] }],
          },
        },
      });
      const failed = await eventually("the pod to fail", async () => {
        const p = await pod("nocmd", "start");
        return p.status?.phase === "Failed" ? p : undefined;
      });
      expect(failed.status!.containerStatuses![0]!.state!.terminated).toMatchObject({
        exitCode: 128,
        reason: "StartError",
      });
      expect(failed.status!.containerStatuses![0]!.state!.terminated!.message).toContain(
        "/no/such/binary",
      );
    });

    it("deletes in the foreground: the Job stays, marked, until its running pod is gone", async () => {
      await standin.createNamespace("fg");
      await batch.createNamespacedJob({
        namespace: "fg",
        body: {
          metadata: { name: "long" },
          spec: {
            template: {
              spec: {
                restartPolicy: "Never",
                terminationGracePeriodSeconds: 2,
                containers: [{ name: "c", image: busybox, command: ["sleep", "600"] }],
              },
            },
          },
        },
      });
      await eventually(
        "running",
        async () => (await jobPods("fg", "long"))[0]?.status?.phase === "Running",
      );
      await batch.deleteNamespacedJob({
        namespace: "fg",
        name: "long",
        propagationPolicy: "Foreground",
      });
      const marked = await batch.readNamespacedJob({ namespace: "fg", name: "long" });
      expect(marked.metadata!.deletionTimestamp).toBeTruthy();
      expect(marked.metadata!.finalizers).toContain("foregroundDeletion");
      await eventually(
        "the Job to go after its pod",
        async () => (await batch.listNamespacedJob({ namespace: "fg" })).items.length === 0,
        60_000,
      );
      expect(await jobPods("fg", "long")).toEqual([]);
    });

    it("runs a DaemonSet's pod on the node, replaces it when the template changes, and removes it with the set", async () => {
      await standin.createNamespace("ds");
      const body = (tag: string) => ({
        apiVersion: "apps/v1",
        kind: "DaemonSet",
        metadata: { name: "prepull" },
        spec: {
          selector: { matchLabels: { app: "prepull" } },
          template: {
            metadata: { labels: { app: "prepull", tag } },
            spec: {
              containers: [{ name: "hold", image: busybox, command: ["sleep", "600"] }],
              terminationGracePeriodSeconds: 1,
            },
          },
        },
      });
      const dsPath = "/apis/apps/v1/namespaces/ds/daemonsets";
      const created = await fetch(`${standin.url}${dsPath}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body("one")),
      });
      expect(created.status).toBe(201);
      const status = () =>
        standin.api.get(resource("daemonsets"), "ds", "prepull").status as {
          numberReady?: number;
          updatedNumberScheduled?: number;
        };
      await eventually("the set's pod to be ready", () => status().numberReady === 1);
      const first = (
        await core.listNamespacedPod({ namespace: "ds", labelSelector: "app=prepull" })
      ).items[0]!;
      expect(first.metadata!.ownerReferences![0]).toMatchObject({
        kind: "DaemonSet",
        name: "prepull",
      });
      const patched = await fetch(`${standin.url}${dsPath}/prepull`, {
        method: "PATCH",
        headers: { "content-type": "application/merge-patch+json" },
        body: JSON.stringify({ spec: { template: { metadata: { labels: { tag: "two" } } } } }),
      });
      expect(patched.status).toBe(200);
      const second = await eventually(
        "a replacement pod",
        async () => {
          const pods = (
            await core.listNamespacedPod({ namespace: "ds", labelSelector: "app=prepull,tag=two" })
          ).items;
          return pods[0]?.status?.phase === "Running" ? pods[0] : undefined;
        },
        90_000,
      );
      expect(second.metadata!.name).not.toBe(first.metadata!.name);
      const refused = await fetch(`${standin.url}${dsPath}/prepull`, {
        method: "PATCH",
        headers: { "content-type": "application/merge-patch+json" },
        body: JSON.stringify({ spec: { template: { spec: { restartPolicy: "Never" } } } }),
      });
      expect(refused.status).toBe(422);
      await fetch(`${standin.url}${dsPath}/prepull`, { method: "DELETE" });
      await eventually(
        "the pods to go",
        async () => (await core.listNamespacedPod({ namespace: "ds" })).items.length === 0,
        60_000,
      );
    });

    it("evicts a running pod: containers killed, phase Failed, reason Evicted, an Evicted event", async () => {
      await standin.createNamespace("evict");
      await core.createNamespacedPod({
        namespace: "evict",
        body: {
          metadata: { name: "victim" },
          spec: { containers: [{ name: "c", image: busybox, command: ["sleep", "600"] }] },
        },
      });
      await eventually(
        "running",
        async () => (await pod("victim", "evict")).status?.phase === "Running",
      );
      await standin.faults.evict("evict", "victim");
      const p = await pod("victim", "evict");
      expect(p.status).toMatchObject({ phase: "Failed", reason: "Evicted" });
      expect(p.status!.message).toContain("The node was low on resource: memory.");
      expect(p.status!.containerStatuses![0]!.state!.terminated!.exitCode).toBe(137);
      expect(p.status!.conditions!.find((c) => c.type === "DisruptionTarget")).toMatchObject({
        status: "True",
        reason: "TerminationByKubelet",
      });
      expect((await events("evict", "victim")).map((e) => e.reason)).toContain("Evicted");
    });
  },
);

describe.skipIf(Boolean(missing))(
  "scheduling on a small tainted node",
  { timeout: 180_000 },
  () => {
    let standin: KubeStandin;
    let core: CoreV1Api;
    beforeAll(async () => {
      standin = await startKubeStandin({
        node: {
          capacity: { cpu: "2", memory: "1Gi", pods: "110" },
          labels: { disk: "ssd" },
          taints: [{ key: "dedicated", value: "slipway", effect: "NoSchedule" }],
        },
      });
      const kc = new KubeConfig();
      kc.loadFromFile(standin.kubeconfigPath);
      core = kc.makeApiClient(CoreV1Api);
    });
    afterAll(() => standin?.close());

    const tolerate = [
      { key: "dedicated", operator: "Equal", value: "slipway", effect: "NoSchedule" },
    ];
    const failedScheduling = (name: string) =>
      eventually(`FailedScheduling for ${name}`, async () => {
        const ev = await core.listNamespacedEvent({
          namespace: "default",
          fieldSelector: `involvedObject.name=${name},reason=FailedScheduling`,
        });
        return ev.items[0]?.message;
      });

    it("keeps what does not fit Pending with the scheduler's reason, and schedules what fits", async () => {
      const image = ensureImage("empty");
      const cases: [string, Partial<V1Pod["spec"]>, Record<string, string> | undefined, string][] =
        [
          [
            "too-big",
            { tolerations: tolerate },
            { memory: "2Gi" },
            "0/1 nodes are available: 1 Insufficient memory. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
          ],
          [
            "gpu",
            { tolerations: tolerate },
            { "nvidia.com/gpu": "1" },
            "0/1 nodes are available: 1 Insufficient nvidia.com/gpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
          ],
          [
            "elsewhere",
            { tolerations: tolerate, nodeSelector: { disk: "hdd" } },
            undefined,
            "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
          ],
          [
            "untolerated",
            {},
            undefined,
            "0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: slipway}. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
          ],
          [
            "no-claim",
            {
              tolerations: tolerate,
              volumes: [{ name: "d", persistentVolumeClaim: { claimName: "missing" } }],
            },
            undefined,
            '0/1 nodes are available: persistentvolumeclaim "missing" not found. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.',
          ],
        ];
      for (const [name, spec, requests] of cases)
        await core.createNamespacedPod({
          namespace: "default",
          body: {
            metadata: { name },
            spec: {
              ...spec,
              containers: [
                {
                  name: "c",
                  image,
                  command: ["sleep", "30"],
                  ...(requests ? { resources: { requests, limits: requests } } : {}),
                },
              ],
            },
          },
        });
      for (const [name, , , message] of cases) {
        expect(await failedScheduling(name)).toBe(message);
        const p = await core.readNamespacedPod({ namespace: "default", name });
        expect(p.status!.phase).toBe("Pending");
        expect(p.status!.conditions).toEqual([
          expect.objectContaining({
            type: "PodScheduled",
            status: "False",
            reason: "Unschedulable",
            message,
          }),
        ]);
      }
      await core.createNamespacedPod({
        namespace: "default",
        body: {
          metadata: { name: "fits" },
          spec: {
            tolerations: tolerate,
            nodeSelector: { disk: "ssd" },
            containers: [
              {
                name: "c",
                image,
                command: ["sleep", "30"],
                resources: { requests: { memory: "512Mi" } },
              },
            ],
          },
        },
      });
      await eventually(
        "fits to run",
        async () =>
          (await core.readNamespacedPod({ namespace: "default", name: "fits" })).status?.phase ===
          "Running",
        60_000,
      );
      const scheduled = await core.listNamespacedEvent({
        namespace: "default",
        fieldSelector: "involvedObject.name=fits,reason=Scheduled",
      });
      expect(scheduled.items[0]?.message).toBe(
        "Successfully assigned default/fits to standin-node",
      );
      await core.createNamespacedPod({
        namespace: "default",
        body: {
          metadata: { name: "no-room" },
          spec: {
            tolerations: tolerate,
            containers: [
              {
                name: "c",
                image,
                command: ["sleep", "30"],
                resources: { requests: { memory: "768Mi" } },
              },
            ],
          },
        },
      });
      expect(await failedScheduling("no-room")).toContain("1 Insufficient memory");
      await core.deleteNamespacedPod({ namespace: "default", name: "fits", gracePeriodSeconds: 0 });
      await eventually(
        "no-room to be scheduled once fits is gone",
        async () =>
          (await core.readNamespacedPod({ namespace: "default", name: "no-room" })).spec
            ?.nodeName === "standin-node",
        60_000,
      );
    }, 120_000);
  },
);
