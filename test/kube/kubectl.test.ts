/**
 * Fidelity of the stand-in, judged by the real kubectl 1.33: create, get with selectors,
 * wait, logs (and follow), delete with its cascade, server-side apply of a multi-document
 * file and of a change, events, and the API's refusals as kubectl prints them.
 */
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { ensureImage } from "../support/images.js";
import { type KubeTools, kubeTools } from "../support/kube-tools.js";
import { type KubeStandin, startKubeStandin } from "./standin.js";
import { engineMissing, eventually, kubectl } from "./test-support.js";

const missing = engineMissing();

describe.skipIf(Boolean(missing))("kubectl 1.33 against the stand-in", { timeout: 180_000 }, () => {
  let standin: KubeStandin;
  let tools: KubeTools;
  let image: string;
  const k = (args: string[], input?: string) =>
    kubectl(tools.kubectl, standin.kubeconfigPath, args, input);

  beforeAll(async () => {
    tools = await kubeTools();
    image = ensureImage("empty");
    standin = await startKubeStandin({ backoffBaseMs: 500 });
  }, 180_000);
  afterAll(() => standin?.close());

  // kubectl's typed commands (`create namespace`, `create configmap`, `auth can-i`) send protobuf.
  const namespace = (name: string) => k(["create", "namespace", name]);
  const configMap = (ns: string, name: string) =>
    k(["create", "configmap", name, "-n", ns, "--from-literal=a=b"]);

  const job = (name: string, script: string, extra: Record<string, unknown> = {}) =>
    stringify({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name, labels: { suite: "kubectl" } },
      spec: {
        backoffLimit: 0,
        template: {
          metadata: { labels: { app: name } },
          spec: {
            restartPolicy: "Never",
            containers: [{ name: "main", image, command: ["sh", "-c", script] }],
            ...extra,
          },
        },
      },
    });

  it("creates a Job, finds it and its pod by label, waits for completion, reads the logs, deletes both", async () => {
    expect((await namespace("jobs")).stdout.trim()).toBe("namespace/jobs created");
    const created = await k(
      ["create", "-n", "jobs", "-f", "-"],
      job("hello", 'echo "hello from $HOSTNAME"; echo second line'),
    );
    expect(created.stderr).toBe("");
    expect(created.stdout.trim()).toBe("job.batch/hello created");

    const waited = await k([
      "wait",
      "-n",
      "jobs",
      "--for=condition=complete",
      "job/hello",
      "--timeout=90s",
    ]);
    expect(waited.stdout.trim()).toBe("job.batch/hello condition met");

    const listed = JSON.parse(
      (await k(["get", "-n", "jobs", "jobs,pods", "-l", "app=hello", "-o", "json"])).stdout,
    );
    // The Job carries suite=kubectl, its template app=hello: only the pod matches app=hello.
    expect(listed.items.map((i: { kind: string }) => i.kind)).toEqual(["Pod"]);
    const pod = listed.items[0];
    expect(pod.metadata.ownerReferences[0]).toMatchObject({
      kind: "Job",
      name: "hello",
      controller: true,
    });
    expect(pod.status.phase).toBe("Succeeded");
    expect(pod.status.containerStatuses[0].state.terminated).toMatchObject({
      exitCode: 0,
      reason: "Completed",
    });
    const bySuite = JSON.parse(
      (
        await k([
          "get",
          "-n",
          "jobs",
          "jobs",
          "-l",
          "suite in (kubectl,other),!absent",
          "-o",
          "json",
        ])
      ).stdout,
    );
    expect(bySuite.items.map((i: { metadata: { name: string } }) => i.metadata.name)).toEqual([
      "hello",
    ]);
    expect(bySuite.items[0].status).toMatchObject({
      succeeded: 1,
      conditions: expect.arrayContaining([
        expect.objectContaining({ type: "Complete", status: "True" }),
      ]),
    });

    const logs = await k(["logs", "-n", "jobs", "job/hello"]);
    expect(logs.stdout).toBe(`hello from ${pod.metadata.name}\nsecond line\n`);

    const events = await k([
      "get",
      "events",
      "-n",
      "jobs",
      "--field-selector",
      `involvedObject.name=${pod.metadata.name}`,
      "-o",
      "json",
    ]);
    const reasons = JSON.parse(events.stdout).items.map((e: { reason: string }) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(["Scheduled", "Pulled", "Created", "Started"]));
    const table = await k(["get", "events", "-n", "jobs"]);
    expect(table.stdout).toMatch(/Normal\s+Completed\s+job\/hello\s+Job completed/);

    const deleted = await k(["delete", "-n", "jobs", "job", "hello", "--timeout=60s"]);
    expect(deleted.stdout.trim()).toBe('job.batch "hello" deleted');
    const gone = await k([
      "wait",
      "-n",
      "jobs",
      "--for=delete",
      `pod/${pod.metadata.name}`,
      "--timeout=60s",
    ]);
    expect(gone.code).toBe(0);
    expect((await k(["get", "-n", "jobs", "job", "hello"])).stderr).toContain(
      'jobs.batch "hello" not found',
    );
  });

  it("follows the logs of a running container until it exits", async () => {
    await namespace("follow");
    await k(
      ["create", "-n", "follow", "-f", "-"],
      job("ticker", "for i in 1 2 3 4 5; do echo tick $i; sleep 0.4; done"),
    );
    // As on a cluster, `kubectl wait -l` fails while no pod matches yet: retry until the pod exists and is ready.
    await eventually(
      "the ticker pod to be ready",
      async () =>
        (
          await k([
            "wait",
            "-n",
            "follow",
            "--for=condition=Ready",
            "pod",
            "-l",
            "app=ticker",
            "--timeout=30s",
          ])
        ).code === 0,
    );
    const followed = await k(["logs", "-n", "follow", "-f", "job/ticker"]);
    expect(followed.code).toBe(0);
    expect(followed.stdout).toBe("tick 1\ntick 2\ntick 3\ntick 4\ntick 5\n");
    const tail = await k(["logs", "-n", "follow", "job/ticker", "--tail=2", "--timestamps"]);
    expect(tail.stdout).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z tick 4\n\S+ tick 5\n$/);
  });

  it("applies a multi-document file server-side, then a change, removing what the change dropped", async () => {
    await namespace("apply");
    const docs = (b: string, env: string) =>
      [
        { apiVersion: "v1", kind: "ServiceAccount", metadata: { name: "app" } },
        {
          apiVersion: "v1",
          kind: "ConfigMap",
          metadata: { name: "app-config" },
          data: { a: "1", [b]: "2" },
        },
        {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: "app-secret" },
          stringData: { password: "p#ss;word" },
        },
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "Role",
          metadata: { name: "app" },
          rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] }],
        },
        {
          apiVersion: "rbac.authorization.k8s.io/v1",
          kind: "RoleBinding",
          metadata: { name: "app" },
          roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "app" },
          subjects: [{ kind: "ServiceAccount", name: "app" }],
        },
        {
          apiVersion: "v1",
          kind: "PersistentVolumeClaim",
          metadata: { name: "app-data" },
          spec: { accessModes: ["ReadWriteMany"], resources: { requests: { storage: "1Gi" } } },
        },
        {
          apiVersion: "apps/v1",
          kind: "Deployment",
          metadata: { name: "app" },
          spec: {
            selector: { matchLabels: { app: "app" } },
            template: {
              metadata: { labels: { app: "app" } },
              spec: {
                containers: [
                  {
                    name: "app",
                    image,
                    env: [
                      { name: "KEEP", value: "1" },
                      { name: env, value: "2" },
                    ],
                  },
                ],
              },
            },
          },
        },
        {
          apiVersion: "v1",
          kind: "Service",
          metadata: { name: "app" },
          spec: { selector: { app: "app" }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
        },
      ]
        .map((d) => stringify(d))
        .join("---\n");
    const first = await k(
      ["apply", "-n", "apply", "--server-side", "--validate=false", "-f", "-"],
      docs("b", "OLD"),
    );
    expect(first.stderr).toBe("");
    expect(first.stdout.trim().split("\n")).toEqual([
      "serviceaccount/app serverside-applied",
      "configmap/app-config serverside-applied",
      "secret/app-secret serverside-applied",
      "role.rbac.authorization.k8s.io/app serverside-applied",
      "rolebinding.rbac.authorization.k8s.io/app serverside-applied",
      "persistentvolumeclaim/app-data serverside-applied",
      "deployment.apps/app serverside-applied",
      "service/app serverside-applied",
    ]);
    const before = JSON.parse(
      (await k(["get", "-n", "apply", "configmap/app-config", "-o", "json"])).stdout,
    );
    const second = await k(["apply", "-n", "apply", "--server-side", "-f", "-"], docs("c", "NEW"));
    expect(second.code).toBe(0);
    const cm = JSON.parse(
      (await k(["get", "-n", "apply", "configmap/app-config", "-o", "json"])).stdout,
    );
    expect(cm.data).toEqual({ a: "1", c: "2" });
    expect(Number(cm.metadata.resourceVersion)).toBeGreaterThan(
      Number(before.metadata.resourceVersion),
    );
    expect(cm.metadata.uid).toBe(before.metadata.uid);
    const deploy = JSON.parse(
      (await k(["get", "-n", "apply", "deployment/app", "-o", "json"])).stdout,
    );
    expect(deploy.spec.template.spec.containers[0].env).toEqual([
      { name: "KEEP", value: "1" },
      { name: "NEW", value: "2" },
    ]);
    expect(deploy.metadata.generation).toBe(2);
    const secret = JSON.parse(
      (await k(["get", "-n", "apply", "secret/app-secret", "-o", "json"])).stdout,
    );
    expect(Buffer.from(secret.data.password, "base64").toString()).toBe("p#ss;word");
    const svc = JSON.parse((await k(["get", "-n", "apply", "service/app", "-o", "json"])).stdout);
    expect(svc.spec.clusterIP).toMatch(/^127\.\d+\.\d+\.\d+$/);
    const pvc = JSON.parse((await k(["get", "-n", "apply", "pvc/app-data", "-o", "json"])).stdout);
    expect(pvc.status.phase).toBe("Bound");
    const third = await k(["apply", "-n", "apply", "--server-side", "-f", "-"], docs("c", "NEW"));
    const unchanged = JSON.parse(
      (await k(["get", "-n", "apply", "configmap/app-config", "-o", "json"])).stdout,
    );
    expect(third.code).toBe(0);
    expect(unchanged.metadata.resourceVersion).toBe(cm.metadata.resourceVersion);
  });

  it("rolls out a Deployment through its ReplicaSet, and rolls out a change", async () => {
    await namespace("rollout");
    const deployment = (tag: string) =>
      stringify({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "web" },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: "web" } },
          template: {
            metadata: { labels: { app: "web", tag } },
            spec: {
              terminationGracePeriodSeconds: 1,
              containers: [
                {
                  name: "c",
                  image,
                  command: ["sleep", "600"],
                  readinessProbe: { exec: { command: ["ls", "/"] }, periodSeconds: 1 },
                },
              ],
            },
          },
        },
      });
    expect(
      (await k(["apply", "-n", "rollout", "--server-side", "-f", "-"], deployment("one"))).code,
    ).toBe(0);
    const first = await k([
      "rollout",
      "status",
      "-n",
      "rollout",
      "deployment/web",
      "--timeout=90s",
    ]);
    expect(first.stdout).toContain('deployment "web" successfully rolled out');
    const rs = JSON.parse((await k(["get", "-n", "rollout", "rs", "-o", "json"])).stdout).items;
    expect(rs).toHaveLength(1);
    expect(rs[0].status).toMatchObject({ replicas: 2, readyReplicas: 2 });
    expect(
      (await k(["apply", "-n", "rollout", "--server-side", "-f", "-"], deployment("two"))).code,
    ).toBe(0);
    const second = await k([
      "rollout",
      "status",
      "-n",
      "rollout",
      "deployment/web",
      "--timeout=90s",
    ]);
    expect(second.stdout).toContain('deployment "web" successfully rolled out');
    const pods = JSON.parse(
      (await k(["get", "-n", "rollout", "pods", "-l", "app=web", "-o", "json"])).stdout,
    ).items;
    const live = pods.filter(
      (p: { metadata: { deletionTimestamp?: string } }) => !p.metadata.deletionTimestamp,
    );
    expect(
      live.map((p: { metadata: { labels: Record<string, string> } }) => p.metadata.labels.tag),
    ).toEqual(["two", "two"]);
    const available = await k([
      "wait",
      "-n",
      "rollout",
      "--for=condition=available",
      "deployment/web",
      "--timeout=30s",
    ]);
    expect(available.stdout.trim()).toBe("deployment.apps/web condition met");
    expect((await k(["delete", "-n", "rollout", "deployment", "web", "--timeout=60s"])).code).toBe(
      0,
    );
    await eventually(
      "the ReplicaSets and pods to go",
      async () =>
        JSON.parse((await k(["get", "-n", "rollout", "rs,pods", "-o", "json"])).stdout).items
          .length === 0,
      60_000,
    );
  });

  it("lets helm 4 install, upgrade and uninstall a chart (its releases are protobuf Secrets)", async () => {
    const chart = await mkdtemp(path.join(tmpdir(), "slipway-standin-chart-"));
    try {
      await mkdir(path.join(chart, "templates"));
      await writeFile(
        path.join(chart, "Chart.yaml"),
        stringify({ apiVersion: "v2", name: "tiny", version: "0.1.0" }),
      );
      await writeFile(path.join(chart, "values.yaml"), stringify({ greeting: "hello" }));
      await writeFile(
        path.join(chart, "templates", "objects.yaml"),
        [
          "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-config\ndata:\n  greeting: {{ .Values.greeting | quote }}",
          "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ .Release.Name }}\nspec:\n  selector: {app: tiny}\n  ports: [{port: 80, targetPort: 8080}]",
        ].join("\n---\n"),
      );
      await namespace("helm");
      const helm = (args: string[]) =>
        kubectl(tools.helm, standin.kubeconfigPath, [...args, "-n", "helm"]);
      const installed = await helm(["install", "demo", chart]);
      expect(installed.stderr).toBe("");
      expect(installed.stdout).toContain("STATUS: deployed");
      const greeting = async () =>
        JSON.parse((await k(["get", "-n", "helm", "configmap/demo-config", "-o", "json"])).stdout)
          .data.greeting;
      expect(await greeting()).toBe("hello");
      expect(
        (await helm(["upgrade", "demo", chart, "--set", "greeting=bonjour"])).stdout,
      ).toContain('Release "demo" has been upgraded');
      expect(await greeting()).toBe("bonjour");
      const history = (await helm(["history", "demo"])).stdout;
      expect(history).toMatch(/1\s.*superseded/);
      expect(history).toMatch(/2\s.*deployed/);
      expect((await helm(["uninstall", "demo"])).stdout.trim()).toBe('release "demo" uninstalled');
      const left = JSON.parse(
        (await k(["get", "-n", "helm", "configmaps,services,secrets", "-o", "json"])).stdout,
      );
      expect(left.items).toEqual([]);
    } finally {
      await rm(chart, { recursive: true, force: true });
    }
  });

  it("refuses as a cluster does: NotFound, AlreadyExists, Invalid with the field, Forbidden", async () => {
    await namespace("errors");
    expect((await k(["get", "-n", "errors", "pod", "nope"])).stderr.trim()).toBe(
      'Error from server (NotFound): pods "nope" not found',
    );
    await configMap("errors", "once");
    expect((await configMap("errors", "once")).stderr.trim()).toBe(
      'error: failed to create configmap: configmaps "once" already exists',
    );
    const invalid = await k(
      ["create", "-n", "errors", "-f", "-"],
      job("bad", "true").replace("restartPolicy: Never", "restartPolicy: Always"),
    );
    expect(invalid.stderr).toContain(
      'The Job "bad" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Always": valid values: "OnFailure", "Never"',
    );
    const noImage = await k(
      ["create", "-n", "errors", "-f", "-"],
      job("noimage", "true").replace(/image: .*/, 'image: ""'),
    );
    expect(noImage.stderr).toContain(
      'The Job "noimage" is invalid: spec.template.spec.containers[0].image: Required value',
    );
    standin.faults.forbid("create", "jobs", "errors");
    const forbidden = await k(["create", "-n", "errors", "-f", "-"], job("denied", "true"));
    expect(forbidden.stderr).toContain("Error from server (Forbidden)");
    expect(forbidden.stderr).toContain(
      'cannot create resource "jobs" in API group "batch" in the namespace "errors"',
    );
    standin.faults.allow();
    const typo = await k(
      ["create", "-n", "errors", "-f", "-"],
      job("typo", "true").replace(
        "restartPolicy: Never",
        "restartPolicy: Never\n      restartpolicy: Never",
      ),
    );
    expect(typo.stderr.trim()).toBe(
      'Error from server (BadRequest): error when creating "STDIN": Job in version "v1" cannot be handled as a Job: strict decoding error: unknown field "spec.template.spec.restartpolicy"',
    );
    const missingNs = await configMap("ghost", "x");
    expect(missingNs.stderr.trim()).toBe(
      'error: failed to create configmap: namespaces "ghost" not found',
    );
    expect((await k(["auth", "can-i", "create", "jobs", "-n", "errors"])).stdout.trim()).toBe(
      "yes",
    );
    standin.faults.forbid("create", "jobs", "errors");
    expect((await k(["auth", "can-i", "create", "jobs", "-n", "errors"])).stdout.trim()).toBe("no");
    standin.faults.allow();
  });
});
