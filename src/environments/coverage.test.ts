import { describe, expect, it } from "vitest";
import { type DeployedContent, runtimeCoverage } from "./coverage.js";
import { DEFAULT_MODES, type SelectableEnvironment } from "./selection.js";

function env(
  name: string,
  runtimes: Partial<Record<"python" | "r" | "quarto", string[]>>,
  matching: SelectableEnvironment["matching"] = "any",
): SelectableEnvironment {
  const list = (runtime: "python" | "r" | "quarto") =>
    runtimes[runtime]
      ? {
          installations: runtimes[runtime]!.map((version) => ({
            version,
            path: `/opt/${runtime}/${version}/bin/${runtime}`,
          })),
        }
      : null;
  return {
    guid: `guid-${name}`,
    name,
    title: `Title ${name}`,
    matching,
    created_time: "2026-01-01T00:00:00Z",
    python: list("python"),
    r: list("r"),
    quarto: list("quarto"),
  };
}

function item(name: string, manifest: object, pin: string | null = null): DeployedContent {
  return {
    guid: `c-${name}`,
    name,
    title: null,
    manifest: JSON.stringify({ version: 1, ...manifest }),
    default_environment_guid: pin,
    default_image_name: null,
  };
}
const python = (version: string | undefined, requires?: string) => ({
  metadata: { appmode: "python-api", entrypoint: "app:app" },
  python: version ? { version } : {},
  ...(requires ? { environment: { python: { requires } } } : {}),
});

const catalog = [
  env("py310", { python: ["3.10.12"] }),
  env("py311", { python: ["3.11.2"] }),
  env("special", { python: ["3.11.9"] }, "exact"),
  env("retired", { python: ["3.12.1"] }, "none"),
  env("rpy", { r: ["4.3.1"], python: ["3.11.5"] }),
];

describe("runtime coverage", () => {
  it("groups needs by runtime and version, naming the environments and installations that satisfy each", () => {
    const report = runtimeCoverage(
      [
        item("a", python("3.11.7")),
        item("b", python("3.11.4")),
        item("c", python("3.12.0")),
        item("d", { metadata: { appmode: "shiny" }, platform: "4.3.2" }),
        item("e", { metadata: { appmode: "static" } }),
      ],
      catalog,
      DEFAULT_MODES,
    );
    expect(report.content_count).toBe(5);
    expect(report.version_matching).toEqual(DEFAULT_MODES);
    const rows = report.needs.map((n) => [
      n.runtime,
      n.version,
      n.content.map((c) => c.name),
      n.environments.map((e) => `${e.name}=${e.installation}`),
    ]);
    expect(rows).toEqual([
      ["r", "4.3.2", ["d"], ["rpy=4.3.1"]],
      ["python", "3.11.4", ["b"], ["py311=3.11.2", "special=3.11.9", "rpy=3.11.5"]],
      ["python", "3.11.7", ["a"], ["py311=3.11.2", "special=3.11.9", "rpy=3.11.5"]],
      ["python", "3.12.0", ["c"], []],
    ]);
    expect(report.needs[1]!.content_count).toBe(1);
    expect(report.unsatisfied.map((u) => [u.name, u.needs])).toEqual([
      ["c", [{ runtime: "python", version: "3.12.0", constraint: null }]],
    ]);
    expect(report.unsatisfied[0]!.error).toContain(
      "no compatible environment with Python version 3.12.0",
    );
  });

  it("follows the server's version matching: nearest lets any Python serve", () => {
    const report = runtimeCoverage([item("c", python("3.12.0"))], catalog, {
      ...DEFAULT_MODES,
      python: "nearest",
    });
    expect(report.needs[0]!.environments.map((e) => e.name)).toEqual([
      "py310",
      "py311",
      "special",
      "rpy",
    ]);
    expect(report.unsatisfied).toEqual([]);
  });

  it("counts content sharing a need once per item, and keeps constraints apart", () => {
    const report = runtimeCoverage(
      [
        item("a", python("3.11.3")),
        item("b", python("3.11.3")),
        item("c", python(undefined, ">=3.11.4")),
        item("d", python(undefined)),
      ],
      catalog,
      DEFAULT_MODES,
    );
    expect(
      report.needs.map((n) => [n.version, n.constraint, n.content_count, n.environments.length]),
    ).toEqual([
      ["3.11.3", null, 2, 3],
      [null, null, 1, 4],
      [null, ">=3.11.4", 1, 2],
    ]);
  });

  it("lists content whose pinned environment cannot serve it, and content whose manifest is unreadable", () => {
    const report = runtimeCoverage(
      [
        item("pinned", python("3.11.4"), "guid-py310"),
        { ...item("broken", {}), manifest: "{not json" },
      ],
      catalog,
      DEFAULT_MODES,
    );
    expect(report.needs[0]!.environments.length).toBe(3);
    expect(report.unsatisfied.map((u) => u.name)).toEqual(["pinned", "broken"]);
    expect(report.unsatisfied[0]!.error).toContain("guid-py310");
    expect(report.unsatisfied[1]!.error).toContain("not valid JSON");
  });
});
