/** The Job and Service builder and the bases, as data (KubeSpawner's make_pod tests, in spirit). */
import { describe, expect, it } from "vitest";
import type { Job } from "../runner.js";
import { UnsupportedByBackend } from "../runner.js";
import { jobBaseProblem, serviceBaseProblem } from "./kube-bases.js";
import {
  claimSubPath,
  JOB_NAME,
  jobObject,
  type KubeSpawn,
  objectName,
  secretKey,
  secretObject,
  serviceObject,
} from "./kube-objects.js";

const spawn: KubeSpawn = {
  namespace: "content",
  instance: "abc123",
  dataClaim: "shared",
  dataClaimSubPath: "slipway",
  initImage: "registry.example.com/content-init:1",
  initPullPolicy: "IfNotPresent",
  user: { uid: 10001, gid: 10001 },
  pullPolicy: null,
  ttlSecondsAfterFinished: null,
  jobBase: null,
  serviceBase: null,
};

const job: Job = {
  name: "run-1234abcd-b7-app-0-deadbeef",
  kind: "run",
  image: "registry.example.com/python:3.11",
  pullPolicy: "always",
  argv: ["/opt/python/3.11/bin/python", "-m", "app"],
  env: { A: "1" },
  workingDir: "/slipway/data/content/g/bundles/7",
  volumes: [
    { kind: "data", subPath: "content/g/bundles/7", readOnly: true },
    { kind: "data", subPath: "cache/img", readOnly: false },
  ],
  runtime: true,
  ports: [{ name: "http", port: 8080 }],
  supervisor: null,
  resources: { memoryLimitBytes: 536870912, cpuRequest: 0.25, nvidiaGpus: 1 },
  deadlineSeconds: null,
  labels: { content: "g", "spec-hash": "0123456789abcdef" },
};

describe("the Job of a job", () => {
  it("is a Job of one pod that never restarts, with the init container, sub-paths and resources", () => {
    const made = jobObject(job, spawn);
    expect(made.metadata).toEqual({
      name: job.name,
      namespace: "content",
      labels: {
        "slipway.io/content": "g",
        "slipway.io/spec-hash": "0123456789abcdef",
        "slipway.io/instance": "abc123",
        "slipway.io/job": job.name,
      },
      annotations: { "slipway.io/job-name": job.name },
    });
    expect(made.spec).toMatchObject({ backoffLimit: 0, completions: 1, parallelism: 1 });
    expect(made.spec).not.toHaveProperty("ttlSecondsAfterFinished");
    expect(made.spec).not.toHaveProperty("activeDeadlineSeconds");
    const pod = made.spec!.template.spec!;
    expect(pod).toMatchObject({
      restartPolicy: "Never",
      enableServiceLinks: false,
      automountServiceAccountToken: false,
      securityContext: { runAsNonRoot: true, runAsUser: 10001, fsGroup: 10001 },
    });
    expect(pod.volumes).toEqual([
      { name: "slipway-data", persistentVolumeClaim: { claimName: "shared" } },
      { name: "slipway-runtime", emptyDir: {} },
    ]);
    expect(pod.initContainers).toEqual([
      expect.objectContaining({
        name: "slipway-content-init",
        image: "registry.example.com/content-init:1",
        args: ["/mnt/slipway-runtime"],
        volumeMounts: [{ name: "slipway-runtime", mountPath: "/mnt/slipway-runtime" }],
      }),
    ]);
    const [main] = pod.containers;
    expect(main).toMatchObject({
      name: "content",
      image: job.image,
      imagePullPolicy: "Always",
      command: job.argv,
      workingDir: job.workingDir,
      terminationMessagePolicy: "FallbackToLogsOnError",
      resources: {
        limits: { memory: "536870912", "nvidia.com/gpu": "1" },
        requests: { cpu: "250m" },
      },
      ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }],
      readinessProbe: expect.objectContaining({ tcpSocket: { port: 8080 } }),
    });
    expect(main!.volumeMounts).toEqual([
      {
        name: "slipway-data",
        mountPath: "/slipway/data/content/g/bundles/7",
        subPath: "slipway/content/g/bundles/7",
        readOnly: true,
      },
      {
        name: "slipway-data",
        mountPath: "/slipway/data/cache/img",
        subPath: "slipway/cache/img",
        readOnly: false,
      },
      { name: "slipway-runtime", mountPath: "/opt/slipway-runtime", readOnly: true },
    ]);
    expect(main!.env).toEqual([
      { name: "A", valueFrom: { secretKeyRef: { name: job.name, key: "A" } } },
      { name: "HOME", value: "/tmp" },
      { name: "SLIPWAY_HOST", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
      { name: "SLIPWAY_PORT_HTTP", value: "8080" },
    ]);
  });

  it("keeps no variable's value in the Job: each is read from the job's Secret", () => {
    const secretive = { ...job, env: { TOKEN: "s3cr\u00e9t #;=", "weird name": "x" } };
    const made = jobObject(secretive, spawn);
    expect(JSON.stringify(made)).not.toContain("s3cr");
    expect(made.spec!.template.spec!.containers[0]!.env!.slice(0, 2)).toEqual([
      { name: "TOKEN", valueFrom: { secretKeyRef: { name: job.name, key: "TOKEN" } } },
      {
        name: "weird name",
        valueFrom: { secretKeyRef: { name: job.name, key: secretKey("weird name") } },
      },
    ]);
    expect(secretKey("weird name")).toMatch(/^v-[0-9a-f]{32}$/);
    expect(secretObject(secretive, spawn)).toEqual({
      apiVersion: "v1",
      kind: "Secret",
      type: "Opaque",
      metadata: {
        name: job.name,
        namespace: "content",
        labels: made.metadata!.labels,
        annotations: { [JOB_NAME]: job.name },
      },
      data: {
        TOKEN: Buffer.from("s3cr\u00e9t #;=").toString("base64"),
        [secretKey("weird name")]: Buffer.from("x").toString("base64"),
      },
    });
    expect(secretObject({ ...job, env: {} }, spawn)).toBeNull();
  });

  it("places the pod as its environment says, over the base's own choices", () => {
    const placement = {
      nodeSelector: { "example.com/pool": "gpu" },
      tolerations: [{ key: "gpu", operator: "Exists" as const, effect: "NoSchedule" as const }],
      serviceAccount: "content-reader",
      imagePullSecrets: ["registry-cred"],
    };
    const base = {
      apiVersion: "batch/v1",
      kind: "Job",
      spec: {
        template: {
          spec: {
            containers: [{ name: "content" }],
            nodeSelector: { "kubernetes.io/os": "linux", "example.com/pool": "cpu" },
            tolerations: [{ key: "spot", operator: "Exists" }],
            imagePullSecrets: [{ name: "base-cred" }],
          },
        },
      },
    };
    const pod = jobObject({ ...job, placement }, { ...spawn, jobBase: base }).spec!.template.spec!;
    expect(pod.nodeSelector).toEqual({ "kubernetes.io/os": "linux", "example.com/pool": "gpu" });
    expect(pod.tolerations).toEqual([
      { key: "spot", operator: "Exists" },
      { key: "gpu", operator: "Exists", effect: "NoSchedule" },
    ]);
    expect(pod.serviceAccountName).toBe("content-reader");
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(pod.imagePullSecrets).toEqual([{ name: "base-cred" }, { name: "registry-cred" }]);

    const plain = jobObject(job, spawn).spec!.template.spec!;
    for (const field of ["nodeSelector", "tolerations", "serviceAccountName", "imagePullSecrets"]) {
      expect(plain).not.toHaveProperty(field);
    }
    expect(plain.automountServiceAccountToken).toBe(false);
  });

  it("takes a deadline, a time to live and the supervisor", () => {
    const made = jobObject(
      { ...job, kind: "render", deadlineSeconds: 600, supervisor: "/usr/bin/tini", ports: [] },
      { ...spawn, ttlSecondsAfterFinished: 300 },
    );
    expect(made.spec).toMatchObject({ activeDeadlineSeconds: 600, ttlSecondsAfterFinished: 300 });
    expect(made.spec!.template.spec!.containers[0]!.command).toEqual([
      "/usr/bin/tini",
      ...job.argv,
    ]);
    expect(made.spec!.template.spec!.containers[0]).not.toHaveProperty("readinessProbe");
  });

  it("starts from the base, keeping what Slipway need not control", () => {
    const made = jobObject(job, {
      ...spawn,
      jobBase: {
        apiVersion: "batch/v1",
        kind: "Job",
        metadata: { labels: { team: "data" }, annotations: { note: "kept" } },
        spec: {
          backoffLimit: 6,
          template: {
            spec: {
              nodeSelector: { pool: "content" },
              tolerations: [{ key: "gpu", operator: "Exists" }],
              imagePullSecrets: [{ name: "registry" }],
              serviceAccountName: "content",
              restartPolicy: "OnFailure",
              containers: [
                {
                  name: "content",
                  env: [{ name: "TZ", value: "UTC" }],
                  volumeMounts: [{ name: "certs", mountPath: "/etc/certs" }],
                },
              ],
              volumes: [{ name: "certs", secret: { secretName: "certs" } }],
            },
          },
        },
      },
    });
    expect(made.metadata!.labels).toMatchObject({ team: "data", "slipway.io/instance": "abc123" });
    expect(made.metadata!.annotations).toMatchObject({ note: "kept" });
    expect(made.spec!.backoffLimit).toBe(0);
    const pod = made.spec!.template.spec!;
    expect(pod).toMatchObject({
      nodeSelector: { pool: "content" },
      tolerations: [{ key: "gpu", operator: "Exists" }],
      imagePullSecrets: [{ name: "registry" }],
      serviceAccountName: "content",
      restartPolicy: "Never",
    });
    expect(pod.volumes!.map((v) => v.name)).toEqual(["certs", "slipway-data", "slipway-runtime"]);
    expect(pod.containers[0]!.env![0]).toEqual({ name: "TZ", value: "UTC" });
    expect(pod.containers[0]!.volumeMounts![0]).toEqual({ name: "certs", mountPath: "/etc/certs" });
  });

  it("refuses the server's own folders and host-bound content", () => {
    expect(() =>
      jobObject(
        { ...job, volumes: [{ kind: "host", path: "/srv", target: "/srv", readOnly: true }] },
        spawn,
      ),
    ).toThrow(UnsupportedByBackend);
    expect(() => jobObject({ ...job, image: null }, spawn)).toThrow(UnsupportedByBackend);
    expect(() => claimSubPath("slipway", "../../etc")).toThrow(UnsupportedByBackend);
    expect(claimSubPath("", "content/g")).toBe("content/g");
  });

  it("names its objects as Kubernetes allows, the same way every time", () => {
    const name = "build-7388c486-b1-python-venv-AreigX-5a3fc549";
    expect(objectName(name)).toMatch(/^build-7388c486-b1-python-venv-areigx-5a3fc549-[0-9a-f]{8}$/);
    expect(objectName(name)).toBe(objectName(name));
    expect(objectName(name)).not.toBe(objectName(name.replace("AreigX", "areigx")));
    expect(objectName("a".repeat(80)).length).toBeLessThanOrEqual(63);
    expect(objectName(job.name)).toBe(job.name);
  });
});

describe("the Service of a job", () => {
  it("selects the job's pod, is owned by its Job, and starts from the base", () => {
    const owner = {
      apiVersion: "batch/v1",
      kind: "Job",
      name: job.name,
      uid: "u-1",
      controller: true,
    };
    const made = serviceObject(
      job,
      {
        ...spawn,
        serviceBase: {
          apiVersion: "v1",
          kind: "Service",
          metadata: { annotations: { "mesh/inject": "false" } },
          spec: { type: "NodePort", sessionAffinity: "None" },
        },
      },
      owner,
    );
    expect(made.metadata).toMatchObject({
      name: job.name,
      namespace: "content",
      annotations: { "mesh/inject": "false" },
      ownerReferences: [owner],
    });
    expect(made.spec).toEqual({
      type: "ClusterIP",
      sessionAffinity: "None",
      selector: { "slipway.io/job": job.name, "slipway.io/instance": "abc123" },
      ports: [{ name: "http", port: 8080, targetPort: "http", protocol: "TCP" }],
    });
  });
});

describe("bases", () => {
  it("refuse another kind, Slipway's reserved paths and names, naming the field", () => {
    expect(jobBaseProblem({ apiVersion: "v1", kind: "Pod" })).toBe(
      "apiVersion/kind is v1/Pod, not batch/v1/Job",
    );
    expect(jobBaseProblem("text")).toBe("it does not hold an object");
    const mounting = (mountPath: string) => ({
      apiVersion: "batch/v1",
      kind: "Job",
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: "content",
                volumeMounts: [
                  { name: "a", mountPath: "/etc/a" },
                  { name: "b", mountPath },
                ],
              },
            ],
          },
        },
      },
    });
    expect(jobBaseProblem(mounting("/opt/slipway-runtime/python"))).toBe(
      "spec.template.spec.containers[0].volumeMounts[1].mountPath: /opt/slipway-runtime/python mounts over /opt/slipway-runtime, which Slipway reserves for its own volumes",
    );
    expect(jobBaseProblem(mounting("/slipway/data/"))).toMatch(
      /^spec\.template\.spec\.containers\[0\]\.volumeMounts\[1\]\.mountPath: .* \/slipway\/data,/,
    );
    expect(jobBaseProblem(mounting("/opt"))).toBeNull();
    expect(
      jobBaseProblem({
        apiVersion: "batch/v1",
        kind: "Job",
        spec: { template: { spec: { volumes: [{ name: "slipway-data", emptyDir: {} }] } } },
      }),
    ).toBe(
      "spec.template.spec.volumes[0].name: slipway-data is the name of one of Slipway's own volumes",
    );
    expect(serviceBaseProblem({ apiVersion: "batch/v1", kind: "Job" })).toBe(
      "apiVersion/kind is batch/v1/Job, not v1/Service",
    );
    expect(serviceBaseProblem({ apiVersion: "v1", kind: "Service" })).toBeNull();
  });
});
