/**
 * The Helm chart, rendered by the real helm 4 and asserted over the parsed objects (in the
 * manner of helm-unittest): both variants of the seed's Connect values.yaml, the chart's CI
 * values, and the mistakes a values file can hold.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseGcfg } from "../../src/config/gcfg.js";
import { loadConfiguration } from "../../src/config/settings.js";
import { parseEnvironmentFile } from "../../src/environments/environment-file.js";
import { CHART, dig, FIXTURES, find, helm, type KubeObject, render, renderRaw } from "./helm.js";

const KUBERNETES_SEED = `${FIXTURES}seed-kubernetes-values.yaml`;
const LAUNCHER_SEED = `${FIXTURES}seed-launcher-values.yaml`;
const CI_VALUES = readdirSync(`${CHART}/ci`).map((name) => `${CHART}/ci/${name}`);
const APP_VERSION = String(parse(readFileSync(`${CHART}/Chart.yaml`, "utf8")).appVersion);
const work = mkdtempSync(path.join(tmpdir(), "slipway-helm-"));

function data(object: KubeObject, key: string): string {
  const value = dig(object, "data", key);
  if (typeof value !== "string") throw new Error(`${object.metadata.name} has no data.${key}`);
  return value;
}

/** The gcfg the chart wrote, loaded the way the server loads it, with the Secret's variables. */
function loadRendered(objects: KubeObject[]) {
  const file = path.join(work, `slipway-${Math.random().toString(36).slice(2)}.gcfg`);
  const text = data(find(objects, "ConfigMap", "rel-slipway-config"), "slipway.gcfg");
  writeFileSync(file, text);
  const secret = objects.find((o) => o.kind === "Secret");
  const env = (dig(secret, "stringData") ?? {}) as Record<string, string>;
  return { text, parsed: parseGcfg(text), ...loadConfiguration({ file, env }) };
}

function container(objects: KubeObject[]) {
  return dig(
    find(objects, "Deployment", "rel-slipway"),
    "spec",
    "template",
    "spec",
    "containers",
    0,
  );
}

function value(text: string, section: string, key: string): string[] {
  const parsed = parseGcfg(text);
  return parsed.entries.filter((e) => e.section === section && e.key === key).map((e) => e.value);
}

describe("helm lint --strict", () => {
  for (const file of [KUBERNETES_SEED, LAUNCHER_SEED, ...CI_VALUES]) {
    it(`passes with ${path.basename(file)}`, async () => {
      const result = await helm(["lint", "--strict", CHART, "-f", file]);
      expect(result.stderr + result.stdout).toContain("0 chart(s) failed");
      expect(result.code).toBe(0);
    });
  }
});

describe("the seed's Kubernetes variant (executionEnvironments)", async () => {
  const objects = await render([KUBERNETES_SEED]);
  const seed = parse(readFileSync(KUBERNETES_SEED, "utf8"));

  it("claims the shared storage the seed asks for", () => {
    const pvc = find(objects, "PersistentVolumeClaim", "rel-slipway-shared-storage");
    expect(pvc.spec).toEqual({
      accessModes: ["ReadWriteMany"],
      volumeMode: "Filesystem",
      storageClassName: "nfs-sc-rwx",
      resources: { requests: { storage: "100G" } },
    });
    expect(dig(pvc, "metadata", "annotations", "helm.sh/resource-policy")).toBe("keep");
  });

  it("puts exactly the seed's environments in their own ConfigMap, valid for the server", () => {
    const configMap = find(objects, "ConfigMap", "rel-slipway-execution-environments");
    const text = data(configMap, "environments.yaml");
    expect(parse(text)).toEqual(seed.executionEnvironments);
    const checked = parseEnvironmentFile(text, "environments.yaml", "declarative");
    expect(checked.ok && checked.environments.map((e) => e.name)).toEqual([
      "ghcr.io/posit-dev/connect-content:R4.5.2-python3.14.3-ubuntu-24.04",
    ]);
  });

  it("mounts that ConfigMap as a folder and leaves it out of the pods' checksums", () => {
    const deployment = find(objects, "Deployment", "rel-slipway");
    const annotations = dig(deployment, "spec", "template", "metadata", "annotations") as object;
    expect(Object.keys(annotations).sort()).toEqual(["checksum/config", "checksum/secret"]);
    const mounts = dig(container(objects), "volumeMounts") as KubeObject[];
    expect(mounts.find((m) => m.name === "execution-environments")).toEqual({
      name: "execution-environments",
      mountPath: "/etc/slipway/execution-environments",
      readOnly: true,
    });
    expect(mounts.find((m) => m.name === "data")).toEqual({
      name: "data",
      mountPath: "/var/lib/slipway",
    });
    const volumes = dig(deployment, "spec", "template", "spec", "volumes") as KubeObject[];
    expect(volumes.find((v) => v.name === "data")).toEqual({
      name: "data",
      persistentVolumeClaim: { claimName: "rel-slipway-shared-storage" },
    });
  });

  it("writes a configuration file the server loads, with Connect's Kubernetes keys", () => {
    const { parsed, settings, ignored, text } = loadRendered(objects);
    expect(parsed.ok).toBe(true);
    expect(ignored).toEqual([]);
    expect(settings.Server).toMatchObject({ Address: "0.0.0.0:3939", DataDir: "/var/lib/slipway" });
    expect(settings.Database.Provider).toBe("postgres");
    expect(settings.Postgres.URL).toBe(seed.config.Postgres.URL);
    expect(settings.Postgres.Password).toBe("<PASSWORD>");
    expect(settings.Applications.HostEnvironment).toBe(false);
    expect(settings.ExecutionEnvironments.ConfigFilePath).toBe(
      "/etc/slipway/execution-environments/environments.yaml",
    );
    expect(settings.Kubernetes).toMatchObject({
      Enabled: true,
      Namespace: "slipway",
      DataDirPVCName: "rel-slipway-shared-storage",
      DataDirPVCSubPath: "",
      DefaultResourceJobBase: "/etc/slipway/config/job.yaml",
      DefaultResourceServiceBase: "",
      InitContainerImage: `localhost/slipway/content-init:${APP_VERSION}`,
    });
    expect(settings.Launcher.ClusterDefinition).toEqual([]);
    expect(text).not.toContain("<PASSWORD>");
  });

  it("keeps the password in a Secret passed as SLIPWAY_POSTGRES_PASSWORD, in no ConfigMap", () => {
    const secret = find(objects, "Secret", "rel-slipway-settings");
    expect(secret.stringData).toEqual({ SLIPWAY_POSTGRES_PASSWORD: "<PASSWORD>" });
    for (const configMap of objects.filter((o) => o.kind === "ConfigMap")) {
      expect(JSON.stringify(configMap)).not.toContain("<PASSWORD>");
    }
    expect(dig(container(objects), "envFrom")).toEqual([
      { secretRef: { name: "rel-slipway-settings" } },
    ]);
  });

  it("writes the Job base the server reads, a batch/v1 Job", () => {
    const job = parse(data(find(objects, "ConfigMap", "rel-slipway-config"), "job.yaml"));
    expect(job).toEqual({ apiVersion: "batch/v1", kind: "Job" });
  });

  it("grants the least the Kubernetes backend needs, in the jobs namespace", () => {
    const role = find(objects, "Role", "rel-slipway");
    expect(role.metadata.namespace).toBe("slipway");
    expect(role.rules).toEqual([
      { apiGroups: [""], resources: ["pods"], verbs: ["get", "list", "watch"] },
      { apiGroups: [""], resources: ["pods/log"], verbs: ["get"] },
      { apiGroups: [""], resources: ["events"], verbs: ["list", "watch"] },
      {
        apiGroups: [""],
        resources: ["services"],
        verbs: ["create", "get", "list", "watch", "delete"],
      },
      {
        apiGroups: [""],
        resources: ["secrets"],
        verbs: ["create", "patch", "delete", "list"],
      },
      { apiGroups: [""], resources: ["serviceaccounts"], verbs: ["list"] },
      {
        apiGroups: ["batch"],
        resources: ["jobs"],
        verbs: ["create", "get", "patch", "delete", "list", "watch"],
      },
      { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
    ]);
    const binding = find(objects, "RoleBinding", "rel-slipway");
    expect(binding.subjects).toEqual([
      { kind: "ServiceAccount", name: "rel-slipway", namespace: "slipway" },
    ]);
    expect(objects.some((o) => o.kind.startsWith("Cluster"))).toBe(false);
    const pod = dig(find(objects, "Deployment", "rel-slipway"), "spec", "template", "spec");
    expect(dig(pod, "serviceAccountName")).toBe("rel-slipway");
  });

  it("runs the seed's server image as a non-root user with probes on /__ping__", () => {
    const server = container(objects);
    expect(dig(server, "image")).toBe(`localhost/slipway/server:${APP_VERSION}`);
    expect(dig(server, "args")).toEqual(["server", "--config", "/etc/slipway/config/slipway.gcfg"]);
    expect(dig(server, "readinessProbe", "httpGet")).toEqual({ path: "/__ping__", port: "http" });
    expect(dig(server, "securityContext")).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    const pod = dig(find(objects, "Deployment", "rel-slipway"), "spec", "template", "spec");
    expect(dig(pod, "securityContext")).toMatchObject({ runAsNonRoot: true, runAsUser: 10001 });
  });
});

describe("the seed's launcher variant (customRuntimeYaml)", async () => {
  const objects = await render([LAUNCHER_SEED]);
  const seed = parse(readFileSync(LAUNCHER_SEED, "utf8"));
  const configMap = find(objects, "ConfigMap", "rel-slipway-config");

  it("writes customRuntimeYaml as the bootstrap file the configuration names", () => {
    const text = data(configMap, "runtime.yaml");
    expect(parse(text)).toEqual(seed.launcher.customRuntimeYaml);
    const checked = parseEnvironmentFile(text, "runtime.yaml", "bootstrap");
    expect(checked.ok && checked.environments.map((e) => e.name)).toEqual([
      "ghcr.io/rstudio/content-base:r4.2.2-py3.11.3-ubuntu2204",
    ]);
    const { settings, ignored } = loadRendered(objects);
    expect(ignored).toEqual([]);
    expect(settings.Launcher.ClusterDefinition).toEqual(["/etc/slipway/config/runtime.yaml"]);
    expect(settings.Kubernetes.Enabled).toBe(true);
  });

  it("takes the init container from launcher.defaultInitContainer", () => {
    const { settings } = loadRendered(objects);
    expect(settings.Kubernetes.InitContainerImage).toBe(
      `localhost/slipway/content-init:${APP_VERSION}`,
    );
    expect(
      data(find(objects, "ConfigMap", "rel-slipway-execution-environments"), "environments.yaml"),
    ).toBe("[]\n");
  });
});

describe("the chart's CI values", async () => {
  const [kubernetes] = CI_VALUES.filter((f) => f.endsWith("kubernetes-values.yaml"));
  const objects = await render([kubernetes!]);
  const config = find(objects, "ConfigMap", "rel-slipway-config");

  it("gives the server and the content pods one sub-path of the claim", () => {
    const { settings } = loadRendered(objects);
    expect(settings.Kubernetes.DataDirPVCSubPath).toBe("slipway/data");
    const mounts = dig(container(objects), "volumeMounts") as KubeObject[];
    expect(mounts.find((m) => m.name === "data")).toEqual({
      name: "data",
      mountPath: "/var/lib/slipway",
      subPath: "slipway/data",
    });
  });

  it("renders integers, lists and values with comment characters the way the server reads them", () => {
    const { settings, text } = loadRendered(objects);
    expect(value(text, "Bundles", "MaxBytes")).toEqual(["1000000000"]);
    expect(settings.Bundles.MaxBytes).toBe(1_000_000_000);
    expect(settings.Python.FindLinks).toEqual(["/srv/wheels", "/srv/more wheels"]);
    expect(settings.Postgres.Password).toBe("s3cret#with;comment characters");
    expect(text).not.toContain("s3cret");
    expect(text).not.toContain("map[");
  });

  it("merges the init container's resources into the Job base and writes the Service base", () => {
    const job = parse(data(config, "job.yaml"));
    expect(job.spec.template.spec).toEqual({
      nodeSelector: { workload: "content" },
      tolerations: [{ key: "content", operator: "Exists", effect: "NoSchedule" }],
      initContainers: [
        {
          name: "content-init",
          resources: { limits: { cpu: "100m", memory: "64Mi" } },
          securityContext: { runAsNonRoot: true },
        },
      ],
    });
    expect(parse(data(config, "service.yaml"))).toEqual({
      apiVersion: "v1",
      kind: "Service",
      metadata: { labels: { team: "data" } },
      spec: { type: "ClusterIP" },
    });
    const { settings } = loadRendered(objects);
    expect(settings.Kubernetes).toMatchObject({
      Namespace: "slipway-content",
      DefaultResourceServiceBase: "/etc/slipway/config/service.yaml",
      InitContainerImagePullPolicy: "Never",
      PrePullImages: true,
    });
  });

  it("rolls replicas on PostgreSQL and exposes metrics with a ServiceMonitor", () => {
    const deployment = find(objects, "Deployment", "rel-slipway");
    expect(dig(deployment, "spec", "replicas")).toBe(2);
    expect(dig(deployment, "spec", "strategy", "type")).toBe("RollingUpdate");
    expect(loadRendered(objects).settings.Metrics.PrometheusListen).toBe(":3232");
    expect(dig(container(objects), "ports")).toContainEqual({
      name: "metrics",
      containerPort: 3232,
      protocol: "TCP",
    });
    const monitor = find(objects, "ServiceMonitor", "rel-slipway");
    expect(dig(monitor, "spec", "endpoints")).toEqual([
      { port: "metrics", path: "/metrics", interval: "30s" },
    ]);
    expect(dig(find(objects, "Service", "rel-slipway"), "spec", "ports", 1, "name")).toBe(
      "metrics",
    );
  });

  it("adds the DaemonSet rights only for the image pre-puller, and the extra objects", () => {
    const role = find(objects, "Role", "rel-slipway");
    expect(role.metadata.namespace).toBe("slipway-content");
    expect(role.rules).toContainEqual({
      apiGroups: ["apps"],
      resources: ["daemonsets"],
      verbs: ["create", "get", "list", "watch", "patch", "delete"],
    });
    expect(find(objects, "ConfigMap", "rel-extra").data).toEqual({ note: "made by extraObjects" });
    const ingress = find(objects, "Ingress", "rel-slipway");
    expect(dig(ingress, "spec", "rules", 0, "http", "paths", 0)).toEqual({
      path: "/",
      pathType: "Prefix",
      backend: { service: { name: "rel-slipway", port: { name: "http" } } },
    });
  });

  it("uses Recreate on SQLite, so two pods never open one database file", async () => {
    const [local] = CI_VALUES.filter((f) => f.endsWith("local-values.yaml"));
    const objects = await render([local!]);
    const deployment = find(objects, "Deployment", "rel-slipway");
    expect(dig(deployment, "spec", "strategy")).toEqual({ type: "Recreate" });
    expect(objects.some((o) => o.kind === "Role" || o.kind === "Secret")).toBe(false);
    expect(loadRendered(objects).settings.Kubernetes.Enabled).toBe(false);
  });
});

describe("upgrades", () => {
  it("change only the environments ConfigMap when executionEnvironments change", async () => {
    const before = await render([KUBERNETES_SEED]);
    const added = path.join(work, "added.yaml");
    const seed = parse(readFileSync(KUBERNETES_SEED, "utf8"));
    writeFileSync(
      added,
      JSON.stringify({
        executionEnvironments: [
          ...seed.executionEnvironments,
          { name: "localhost/slipway/content:py3.12", python: { installations: [] } },
        ],
      }),
    );
    const after = await render([KUBERNETES_SEED, added]);
    const changed = after.filter(
      (object, i) => JSON.stringify(object) !== JSON.stringify(before[i]),
    );
    expect(changed.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual([
      "ConfigMap/rel-slipway-execution-environments",
    ]);
  });

  it("roll the pods when config changes", async () => {
    const checksum = (objects: KubeObject[]) =>
      dig(
        find(objects, "Deployment", "rel-slipway"),
        "spec",
        "template",
        "metadata",
        "annotations",
      );
    const before = checksum(await render([KUBERNETES_SEED]));
    const after = checksum(
      await render([KUBERNETES_SEED], ["--set", "config.R.RepositoryURL=https://r.example.com"]),
    );
    expect(dig(after, "checksum/config")).not.toBe(dig(before, "checksum/config"));
    expect(dig(after, "checksum/secret")).toBe(dig(before, "checksum/secret"));
  });
});

describe("mistakes in values", () => {
  async function refusal(extra: string[], files: string[] = [KUBERNETES_SEED]): Promise<string> {
    const result = await renderRaw(files, extra);
    expect(result.code).not.toBe(0);
    return result.stderr;
  }

  it("names a misspelt key", async () => {
    expect(await refusal(["--set", "sharedStorge.create=true"])).toContain(
      "additional properties 'sharedStorge' not allowed",
    );
    expect(await refusal(["--set", "backends.kubernetes.nameSpace=x"])).toMatch(
      /at '\/backends\/kubernetes': additional properties 'nameSpace' not allowed/,
    );
  });

  it("names an unquoted version read as a number, and the type it needs", async () => {
    const file = path.join(work, "numeric-version.yaml");
    writeFileSync(
      file,
      "executionEnvironments:\n  - name: img:1\n    python:\n      installations:\n        - path: /opt/python/3.10.4/bin/python3\n          version: 3.10\n",
    );
    expect(await refusal([], [KUBERNETES_SEED, file])).toContain(
      "at '/executionEnvironments/0/python/installations/0/version': got number, want string",
    );
  });

  it("refuses replicas above one on SQLite, saying why", async () => {
    const [local] = CI_VALUES.filter((f) => f.endsWith("local-values.yaml"));
    expect(await refusal(["--set", "replicas=3"], [local!])).toContain(
      "replicas is 3, but the database is SQLite",
    );
  });

  it("refuses a tag prefix, a Job base of another kind and a sub-path that climbs out", async () => {
    expect(await refusal(["--set", "image.tagPrefix=ubuntu2204-"])).toContain(
      'image.tagPrefix is "ubuntu2204-", but Slipway\'s images carry no tag prefix',
    );
    expect(
      await refusal(["--set", "backends.kubernetes.defaultResourceJobBase.kind=Service"]),
    ).toContain(
      "backends.kubernetes.defaultResourceJobBase must be a batch/v1 Job, not batch/v1 Service",
    );
    expect(
      await refusal(["--set", "backends.kubernetes.defaultResourceServiceBase.kind=Job"]),
    ).toContain("backends.kubernetes.defaultResourceServiceBase must be a v1 Service, not v1 Job");
    expect(await refusal(["--set", "sharedStorage.subPath=a/../../b"])).toContain(
      'sharedStorage.subPath is "a/../../b": it must stay inside the claim',
    );
  });

  it("refuses both backends at once, and Kubernetes without shared storage", async () => {
    expect(await refusal(["--set", "launcher.enabled=true"])).toContain(
      "launcher.enabled and backends.kubernetes.enabled cannot both be true",
    );
    expect(
      await refusal(["--set", "sharedStorage.create=false,sharedStorage.mount=false"]),
    ).toContain("need one ReadWriteMany volume");
  });

  it("drops Connect's public-URL Server.Address instead of breaking the listener", async () => {
    const objects = await render(
      [KUBERNETES_SEED],
      ["--set", "config.Server.Address=https://connect.example.com"],
    );
    expect(loadRendered(objects).settings.Server.Address).toBe("0.0.0.0:3939");
  });
});
