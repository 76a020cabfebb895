import { describe, expect, it } from "vitest";
import { formatProblems, parseEnvironmentFile } from "./environment-file.js";

const problems = (text: string, format: "bootstrap" | "declarative" | "auto" = "auto") => {
  const result = parseEnvironmentFile(text, "envs.yaml", format);
  if (result.ok) throw new Error("expected problems");
  return formatProblems(result.problems);
};

describe("environment files", () => {
  it("reads the bootstrap format, with installations written either way", () => {
    const result = parseEnvironmentFile(
      [
        "name: Kubernetes",
        "images:",
        "  - name: ghcr.io/org/content:r4.2.2-py3.11.3",
        "    matching: exact",
        "    supervisor: /scripts/supervise",
        "    python: {installations: [{path: /opt/python/3.11.3/bin/python3, version: 3.11.3}]}",
        "    r:",
        "      - path: /opt/R/4.2.2/bin/R",
        "        version: 4.2",
      ].join("\n"),
      "runtime.yaml",
      "bootstrap",
    );
    expect(result).toEqual({
      ok: true,
      environments: [
        {
          name: "ghcr.io/org/content:r4.2.2-py3.11.3",
          cluster_name: "Kubernetes",
          matching: "exact",
          supervisor: "/scripts/supervise",
          python: {
            installations: [{ path: "/opt/python/3.11.3/bin/python3", version: "3.11.3" }],
          },
          r: { installations: [{ path: "/opt/R/4.2.2/bin/R", version: "4.2" }] },
        },
      ],
    });
  });

  it("reads the declarative list and a pasted executionEnvironments key", () => {
    const list = "- name: a.org/x:1\n  title: X\n- name: a.org/y:1\n";
    const direct = parseEnvironmentFile(list, "f", "declarative");
    const pasted = parseEnvironmentFile(
      `executionEnvironments:\n${list.replace(/^/gm, "  ")}`,
      "f",
    );
    expect(direct.ok && direct.environments.map((e) => e.name)).toEqual(["a.org/x:1", "a.org/y:1"]);
    expect(pasted).toEqual(direct);
    expect(parseEnvironmentFile("", "f", "declarative")).toEqual({ ok: true, environments: [] });
    expect(parseEnvironmentFile("[]", "f", "declarative")).toEqual({ ok: true, environments: [] });
  });

  it.each([
    ["a YAML syntax error", "- name: a.org/x:1\n  title: [unclosed\n", /^envs\.yaml:3:1: /],
    [
      "a relative path",
      "- name: a.org/x:1\n  python:\n    installations:\n      - {version: 3.11.3, path: bin/python}\n",
      /^envs\.yaml:4:33: python\.installations\.0\.path must be an absolute path/,
    ],
    [
      "a bad version",
      "- name: a.org/x:1\n  r: [{version: 4.x, path: /opt/R}]\n",
      /^envs\.yaml:2:17: r\.installations\.0\.version must be a dotted numeric version/,
    ],
    [
      "an unknown matching",
      "- name: a.org/x:1\n  matching: sometimes\n",
      /^envs\.yaml:2:13: matching must be one of any, exact, none$/,
    ],
    [
      "an unknown key",
      "- name: a.org/x:1\n  titel: X\n",
      /^envs\.yaml:2:3: unknown key "titel" \(did you mean "title"\?\)$/,
    ],
    ["a missing name", "- title: X\n", /^envs\.yaml:1:3: name is required$/],
    ["a scalar entry", "- just-a-string\n", /^envs\.yaml:1:3: entry 1 must be a mapping/],
    [
      "a mapping that is not a list",
      "name: a.org/x:1\n",
      /^envs\.yaml:1:1: an environments file is a list/,
    ],
  ])("reports %s with line and column", (_, text, pattern) => {
    expect(problems(text, "declarative")[0]).toMatch(pattern);
  });

  it("reports every problem, and duplicate images with both lines", () => {
    const found = problems(
      "- name: a.org/x:1\n- name: a.org/x:1\n  matching: nope\n",
      "declarative",
    );
    expect(found).toEqual([
      "envs.yaml:3:13: matching must be one of any, exact, none",
      "envs.yaml:2:3: the image a.org/x:1 is listed twice (first at line 1); one environment per image",
    ]);
  });

  it("refuses a bootstrap file that is not for Kubernetes or has no images list", () => {
    expect(problems("name: Local\nimages: []\n", "bootstrap")[0]).toBe(
      'envs.yaml:1:1: name must be "Kubernetes", not "Local"',
    );
    expect(problems("name: Kubernetes\nimages: nope\n", "bootstrap")[0]).toBe(
      "envs.yaml:2:9: images must be a list of environments",
    );
    expect(problems("- name: a.org/x:1\n", "bootstrap")[0]).toContain(
      "a bootstrap file is a mapping",
    );
  });
});
