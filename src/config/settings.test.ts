import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { parseGcfg } from "./gcfg.js";
import { ConfigError, loadSettings } from "./settings.js";

const dir = mkdtempSync(path.join(tmpdir(), "slipway-config-"));
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

describe("gcfg", () => {
  it("reads sections, subsections, quotes, comments and repeated keys", () => {
    const result = parseGcfg(
      [
        "; comment",
        "[Server]",
        'Address = "127.0.0.1:4000" ; trailing',
        '[Launcher "k8s"]',
        "ClusterDefinition = /a.yaml",
        "ClusterDefinition = /b.yaml # another",
        "  Flag",
      ].join("\n"),
    );
    expect(result.ok).toBe(true);
    expect(result.entries).toEqual([
      {
        section: "Server",
        subsection: null,
        key: "Address",
        value: "127.0.0.1:4000",
        line: 3,
        sectionLine: 2,
      },
      {
        section: "Launcher",
        subsection: "k8s",
        key: "ClusterDefinition",
        value: "/a.yaml",
        line: 5,
        sectionLine: 4,
      },
      {
        section: "Launcher",
        subsection: "k8s",
        key: "ClusterDefinition",
        value: "/b.yaml",
        line: 6,
        sectionLine: 4,
      },
      {
        section: "Launcher",
        subsection: "k8s",
        key: "Flag",
        value: "true",
        line: 7,
        sectionLine: 4,
      },
    ]);
  });

  it("reports malformed lines with line and column", () => {
    const result = parseGcfg('Key = outside\n[Server\n  = nothing\n[Python]\nA = "open');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.problems.map((p) => `${p.line}:${p.column}`)).toEqual([
      "1:1",
      "2:1",
      "3:3",
      "5:1",
    ]);
  });
});

describe("settings", () => {
  it("has the documented defaults", () => {
    const s = loadSettings({ env: {}, cwd: "/srv" });
    expect(s.Server.Address).toBe("127.0.0.1:3939");
    expect(s.Server.DataDir).toBe("/srv/slipway-data");
    expect(s.Database.Provider).toBe("sqlite");
    expect(s.Server.RVersionMatching).toBe("nearest");
    expect(s.Python.VersionMatching).toBe("major-minor");
    expect(s.Quarto.VersionMatching).toBe("nearest");
    expect(s.Launcher.ClusterDefinition).toEqual([]);
  });

  it("reads a file case-insensitively, repeats keys and lets the environment override", () => {
    const config = file(
      "ok.gcfg",
      "[server]\naddress = 0.0.0.0:80\n[Launcher]\nClusterDefinition = /a.yaml\nClusterDefinition = /b.yaml\n[Database]\nProvider = Postgres\n[Postgres]\nURL = postgres://db/slipway\n",
    );
    const s = loadSettings({ file: config, env: { SLIPWAY_SERVER_ADDRESS: "127.0.0.1:5000" } });
    expect(s.Server.Address).toBe("127.0.0.1:5000");
    expect(s.Launcher.ClusterDefinition).toEqual(["/a.yaml", "/b.yaml"]);
    expect(s.Database.Provider).toBe("postgres");
  });

  it("stops on unknown sections and keys and bad values, naming file:line and all of them", () => {
    const config = file(
      "bad.gcfg",
      "[Server]\nAdress = 1.2.3.4:5\n[Nope]\nX = 1\n[Python]\nVersionMatching = closest\n[Server]\nAddress = nowhere\n",
    );
    expect(problems(() => loadSettings({ file: config, env: {} }))).toEqual([
      `${config}:2: unknown key Adress in [Server] (did you mean Address?)`,
      `${config}:3: unknown section [Nope]`,
      `${config}:6: Python.VersionMatching must be one of exact, major-minor, nearest, not "closest"`,
      `${config}:8: Server.Address must be HOST:PORT (such as 127.0.0.1:3939), not "nowhere"`,
    ]);
  });

  it("refuses postgres without a URL and a bad environment variable", () => {
    expect(
      problems(() => loadSettings({ env: { SLIPWAY_DATABASE_PROVIDER: "postgres" } }))[0],
    ).toContain("Postgres.URL");
    expect(
      problems(() => loadSettings({ env: { SLIPWAY_DATABASE_PROVIDER: "oracle" } }))[0],
    ).toContain("SLIPWAY_DATABASE_PROVIDER");
  });

  it("reports a missing file", () => {
    expect(
      problems(() => loadSettings({ file: path.join(dir, "missing.gcfg"), env: {} }))[0],
    ).toContain("cannot read");
  });
});

describe("content and dashboard origins", () => {
  it("reads both, with the per-content form", () => {
    const settings = loadSettings({
      file: file(
        "origins.gcfg",
        "[Server]\nDashboardOrigin = https://slipway.example.com\nContentOrigin = https://{guid}.content.example.net\n",
      ),
      env: {},
    });
    expect(settings.Server.ContentOrigin).toBe("https://{guid}.content.example.net");
  });

  it("stops the start on a bad origin, a missing dashboard origin, or a shared host", () => {
    expect(
      problems(() =>
        loadSettings({
          file: file("bad-origin.gcfg", "[Server]\nContentOrigin = content.example.net\n"),
          env: {},
        }),
      )[0],
    ).toMatch(/bad-origin\.gcfg:2: Server\.ContentOrigin must be an origin/);
    expect(
      problems(() =>
        loadSettings({ env: { SLIPWAY_SERVER_CONTENTORIGIN: "https://content.example.net" } }),
      )[0],
    ).toMatch(/DashboardOrigin is empty/);
    expect(
      problems(() =>
        loadSettings({
          env: {
            SLIPWAY_SERVER_CONTENTORIGIN: "https://slipway.example.com:8443",
            SLIPWAY_SERVER_DASHBOARDORIGIN: "https://slipway.example.com",
          },
        }),
      )[0],
    ).toMatch(/another host name/);
  });
});
