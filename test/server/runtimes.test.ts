import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI_TEST_TIMEOUT_MS, runCli } from "../support/cli.js";
import { seedCoverage } from "../support/runtimes-catalog.js";
import { startTestServer, type TestServer } from "../support/server.js";

interface Need {
  runtime: string;
  version: string | null;
  content: Array<{ name: string }>;
  content_count: number;
  environments: Array<{ name: string; installation: string }>;
}

describe("runtimes coverage API and CLI", { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer("sqlite", (settings) => {
      settings.Server.RVersionMatching = "nearest";
      settings.Python.VersionMatching = "major-minor";
    });
    await seedCoverage(server);
  });
  afterAll(() => server?.close());

  it("reports each needed version, who needs it and what serves it, for publishers", async () => {
    const report = await server.call("GET", "/__api__/slipway/v1/runtimes", {
      key: server.keys.publisher,
    });
    expect(report.status).toBe(200);
    expect(report.body.content_count).toBe(6);
    expect(report.body.version_matching).toEqual({
      r: "nearest",
      python: "major-minor",
      quarto: "nearest",
    });
    expect(
      report.body.needs.map((n: Need) => [
        n.runtime,
        n.version,
        n.content_count,
        n.content.map((c) => c.name),
        n.environments.map((e) => `${e.name}=${e.installation}`),
      ]),
    ).toEqual([
      ["r", "4.3.2", 1, ["cov-shiny"], ["org/cov-r:4.3=4.3.1"]],
      ["python", "3.8.10", 1, ["cov-legacy"], []],
      [
        "python",
        "3.11.7",
        2,
        ["cov-flask-a", "cov-flask-b"],
        ["org/cov-py:3.11=3.11.4", "org/cov-r:4.3=3.11.5"],
      ],
      ["python", "3.12.2", 2, ["cov-dash", "cov-report"], ["org/cov-quarto:1.4=3.12.1"]],
      ["quarto", "1.4.550", 1, ["cov-report"], ["org/cov-quarto:1.4=1.4.550"]],
    ]);
    expect(report.body.unsatisfied).toMatchObject([
      {
        name: "cov-legacy",
        needs: [{ runtime: "python", version: "3.8.10", constraint: null }],
        error: expect.stringContaining("Python version 3.8.10"),
      },
    ]);
  });

  it("changes with the catalog: an environment added for the gap closes it", async () => {
    const added = await server.call("POST", "/__api__/v1/environments", {
      body: {
        name: "org/cov-py:3.8",
        python: { installations: [{ version: "3.8.18", path: "/opt/python/3.8.18/bin/python3" }] },
      },
    });
    const report = await server.call("GET", "/__api__/slipway/v1/runtimes");
    expect(report.body.unsatisfied).toEqual([]);
    const legacy = report.body.needs.find((n: Need) => n.version === "3.8.10");
    expect(legacy.environments.map((e: { name: string }) => e.name)).toEqual(["org/cov-py:3.8"]);
    await server.call("DELETE", `/__api__/v1/environments/${added.body.guid}`);
  });

  it("is closed to viewers and anonymous callers", async () => {
    const viewer = await server.call("GET", "/__api__/slipway/v1/runtimes", {
      key: server.keys.viewer,
    });
    expect(viewer.status).toBe(403);
    expect(viewer.body).toMatchObject({ code: 22 });
    const anonymous = await server.call("GET", "/__api__/slipway/v1/runtimes", { key: null });
    expect(anonymous.status).toBe(401);
  });

  it("prints the same report with slipway runtimes, and the API's JSON with --json", async () => {
    const env = { CONNECT_SERVER: server.url, CONNECT_API_KEY: server.keys.publisher };
    const [table, json] = await Promise.all([
      runCli(["runtimes"], env),
      runCli(["runtimes", "--json"], env),
    ]);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(
      "6 deployed content items; version matching: R nearest, Python major-minor, Quarto nearest.",
    );
    expect(table.stdout).toMatch(/RUNTIME\s+CONTENT\s+ENVIRONMENTS/);
    expect(table.stdout).toMatch(
      /Python 3\.11\.7\s+2\s+org\/cov-py:3\.11 \(3\.11\.4\), org\/cov-r:4\.3 \(3\.11\.5\)/,
    );
    expect(table.stdout).toMatch(/Python 3\.8\.10\s+1\s+none/);
    expect(table.stdout).toContain("No compatible environment for 1 content items:");
    expect(table.stdout).toMatch(
      /cov-legacy \([0-9a-f-]{36}\): Cannot find compatible environment/,
    );
    expect(json.code).toBe(0);
    const api = await server.call("GET", "/__api__/slipway/v1/runtimes", {
      key: server.keys.publisher,
    });
    expect(JSON.parse(json.stdout)).toEqual(api.body);

    const refused = await runCli(["runtimes"], { ...env, CONNECT_API_KEY: server.keys.viewer });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("error (code 22)");
  });
});
