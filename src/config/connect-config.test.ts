import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ConfigError, describeIgnored, loadConfiguration } from "./settings.js";

const CONNECT_FILE = fileURLToPath(
  new URL("../../test/fixtures/gcfg/rstudio-connect.gcfg", import.meta.url),
);
const dir = mkdtempSync(path.join(tmpdir(), "slipway-connect-config-"));

function file(name: string, text: string): string {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
}

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("a Posit Connect configuration file", () => {
  it("starts Slipway, reading the keys both define and listing each ignored one once", () => {
    const { settings, ignored } = loadConfiguration({ file: CONNECT_FILE, env: {} });

    expect(settings.Server.DataDir).toBe("/var/lib/rstudio-connect");
    expect(settings.Server.Address).toBe("127.0.0.1:3939");
    expect(settings.Database.Provider).toBe("postgres");
    expect(settings.Postgres.URL).toBe(
      "postgres://connect@postgres.example.com:5432/connect?sslmode=disable",
    );
    expect(settings.Postgres.Password).toBe('a #secret; with "quotes" ');
    expect(settings.Python.VersionMatching).toBe("major-minor");
    expect(settings.Metrics.PrometheusListen).toBe(":3232");
    expect(settings.ExecutionEnvironments.ConfigFilePath).toBe(
      "/etc/rstudio-connect/execution-environments/environments.yaml",
    );
    expect(settings.Launcher.ClusterDefinition).toEqual(["/etc/rstudio-connect/runtime.yaml"]);
    expect(settings.Kubernetes).toMatchObject({
      Enabled: true,
      Namespace: "connect-content",
      DataDirPVCName: "rstudio-connect-shared-storage",
      DataDirPVCSubPath: "connect",
      DefaultResourceJobBase: "/etc/rstudio-connect/job.yaml",
      DefaultResourceServiceBase: "/etc/rstudio-connect/service.yaml",
    });

    expect(ignored.map((i) => `${i.setting} @${i.where.split(":").pop()}`)).toEqual([
      "[Server] SenderEmail @5",
      "[Server] Address @6",
      "[HTTP] Listen @10",
      "[Authentication] Provider @13",
      "[Licensing] LicenseType @16",
      "[Chronicle] Enabled @19",
      '[RPackageRepository "CRAN"] URL @22',
      '[RPackageRepository "RSPM"] URL @25',
      "[Python] Enabled @35",
      "[Scheduler] InitTimeout @39",
      "[Scheduler] MaxProcesses @40",
      "[Logging] ServiceLog @43",
      "[Logging] ServiceLogLevel @44",
      "[Logging] ServiceLogFormat @45",
      "[Logging] AccessLog @46",
      "[Logging] AccessLogFormat @47",
      "[Metrics] Enabled @50",
      "[Metrics] GraphiteEnabled @51",
      "[Launcher] Enabled @66",
    ]);
    expect(ignored.find((i) => i.setting === "[Server] Address")?.reason).toContain("public URL");
    const line = describeIgnored(ignored);
    expect(line).toContain("[Chronicle] Enabled");
    expect(line.match(/\[Scheduler\] InitTimeout/g)).toHaveLength(1);
  });

  it("keeps a misspelt key of a Slipway section an error with file:line and a suggestion", () => {
    const config = file(
      "typo.gcfg",
      "[Chronicle]\nEnabled = true\n[Kubernetes]\nNamespce = content\n[Metrics]\nPrometheusListn = :3232\n",
    );
    expect(problems(() => loadConfiguration({ file: config, env: {} }))).toEqual([
      `${config}:4: unknown key Namespce in [Kubernetes] (did you mean Namespace?)`,
      `${config}:6: unknown key PrometheusListn in [Metrics] (did you mean PrometheusListen?)`,
    ]);
  });

  it("refuses keys and sections neither Connect nor Slipway defines, with a suggestion", () => {
    const config = file(
      "unknown.gcfg",
      "[Chronicle]\nEnabld = true\n[Licencing]\nLicenseType = local\n[Scheduler]\nMaxProcess = 3\n",
    );
    expect(problems(() => loadConfiguration({ file: config, env: {} }))).toEqual([
      `${config}:2: unknown key Enabld in [Chronicle], a Posit Connect section Slipway does not use (did you mean Enabled?)`,
      `${config}:3: unknown section [Licencing] (did you mean Licensing?)`,
      `${config}:6: unknown key MaxProcess in [Scheduler], a Posit Connect section Slipway does not use (did you mean MaxProcesses?)`,
    ]);
  });

  it("still checks a value Slipway reads, and a Server.Address that is neither URL nor HOST:PORT", () => {
    const config = file(
      "values.gcfg",
      "[Kubernetes]\nEnabled = maybe\n[Metrics]\nPrometheusListen = everywhere\n[Server]\nAddress = nowhere\n",
    );
    expect(problems(() => loadConfiguration({ file: config, env: {} }))).toEqual([
      `${config}:2: Kubernetes.Enabled must be true or false, not "maybe"`,
      `${config}:4: Metrics.PrometheusListen must be HOST:PORT (such as 127.0.0.1:3939), not "everywhere"`,
      `${config}:6: Server.Address must be HOST:PORT (such as 127.0.0.1:3939), not "nowhere"`,
    ]);
  });

  it("reads the Kubernetes settings from the environment too", () => {
    const { settings, ignored } = loadConfiguration({
      env: {
        SLIPWAY_KUBERNETES_ENABLED: "true",
        SLIPWAY_KUBERNETES_KUBECONFIG: "/home/me/.kube/config",
        SLIPWAY_KUBERNETES_INITCONTAINERIMAGEPULLPOLICY: "never",
      },
    });
    expect(settings.Kubernetes.Enabled).toBe(true);
    expect(settings.Kubernetes.Kubeconfig).toBe("/home/me/.kube/config");
    expect(settings.Kubernetes.InitContainerImagePullPolicy).toBe("Never");
    expect(settings.Metrics.PrometheusListen).toBe("");
    expect(ignored).toEqual([]);
  });
});
