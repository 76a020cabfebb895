import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { parseEnvironmentFile } from "../environments/environment-file.js";
import type { Findings } from "./locations.js";
import { render, summary, toEnvironment } from "./render.js";

const findings: Findings = {
  python: [{ runtime: "python", version: "3.11.7", path: "/opt/python/3.11.7/bin/python3" }],
  r: [
    { runtime: "r", version: "4.1.3", path: "/opt/R/4.1.3/bin/R" },
    { runtime: "r", version: "4.2.2", path: "/opt/R/4.2.2/bin/R" },
  ],
  quarto: [],
};
const full = toEnvironment("ghcr.io/acme/content:r4-py3.11", findings);
const empty = toEnvironment("busybox:1", { python: [], r: [], quarto: [] });

describe("rendering inspected images", () => {
  it("titles an environment by what it holds and leaves absent runtimes null", () => {
    expect(summary(findings)).toBe("Python 3.11.7, R 4.1.3 & 4.2.2");
    expect(full).toMatchObject({ title: "Python 3.11.7, R 4.1.3 & 4.2.2", quarto: null });
    expect(full.r).toEqual({
      installations: [
        { path: "/opt/R/4.1.3/bin/R", version: "4.1.3" },
        { path: "/opt/R/4.2.2/bin/R", version: "4.2.2" },
      ],
    });
    expect(empty).toMatchObject({ title: "No Python, R or Quarto found", python: null, r: null });
  });

  it("writes a declarative list that Slipway reads back as the same create bodies", () => {
    const text = render([full, empty], "environments");
    expect(text).not.toContain("null");
    const read = parseEnvironmentFile(text, "environments.yaml", "declarative");
    // Reading fills in the defaults; a runtime left out reads back as absent.
    const defaults = { cluster_name: "Kubernetes", matching: "any" };
    const { quarto: _q, ...fullRead } = full;
    const { python: _p, r: _r, quarto: _e, ...emptyRead } = empty;
    expect(read.ok && read.environments).toEqual([
      { ...fullRead, ...defaults },
      { ...emptyRead, ...defaults },
    ]);
  });

  it("writes the bootstrap file with only names and runtimes", () => {
    const text = render([full, empty], "runtime-yaml");
    expect(parse(text)).toEqual({
      name: "Kubernetes",
      images: [{ name: full.name, python: full.python, r: full.r }, { name: empty.name }],
    });
    const read = parseEnvironmentFile(text, "runtime.yaml", "bootstrap");
    expect(read.ok && read.environments.map((e) => [e.name, e.r])).toEqual([
      [full.name, full.r],
      [empty.name, undefined],
    ]);
  });

  it("keeps nulls in JSON", () => {
    expect(JSON.parse(render([full], "json"))).toEqual([full]);
  });
});
