import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type FileFormat, formatProblems, parseEnvironmentFile } from "./environment-file.js";

const fixture = (name: string) =>
  readFileSync(new URL(`../../test/fixtures/environment-files/${name}`, import.meta.url), "utf8");

const problems = (text: string, format: FileFormat = "declarative") => {
  const result = parseEnvironmentFile(text, "envs.yaml", format);
  if (result.ok) throw new Error(`expected problems, got ${JSON.stringify(result.environments)}`);
  return formatProblems(result.problems);
};

const names = (text: string, format: FileFormat = "auto") => {
  const result = parseEnvironmentFile(text, "envs.yaml", format);
  if (!result.ok) throw new Error(formatProblems(result.problems).join("\n"));
  return result.environments.map((e) => e.name);
};

const py = (version: string) => ({
  installations: [{ path: `/opt/python/${version}/bin/python3`, version }],
});

describe("environment files: good files", () => {
  it("reads the Helm chart's customRuntimeYaml bootstrap file", () => {
    expect(parseEnvironmentFile(fixture("bootstrap-helm.yaml"), "runtime.yaml")).toEqual({
      ok: true,
      environments: [
        {
          name: "ghcr.io/rstudio/content-base:r4.2.2-py3.11.3-ubuntu2204",
          cluster_name: "Kubernetes",
          matching: "any",
          python: py("3.11.3"),
          r: { installations: [{ path: "/opt/R/4.2.2/bin/R", version: "4.2.2" }] },
          quarto: {
            installations: [{ path: "/opt/quarto/1.3.340/bin/quarto", version: "1.3.340" }],
          },
        },
      ],
    });
  });

  it("reads runtimes written as bare lists, keeping a version's trailing zero", () => {
    const result = parseEnvironmentFile(fixture("bootstrap-runtimes-lists.yaml"), "f", "bootstrap");
    expect(result.ok && result.environments).toEqual([
      {
        name: "my-org/content-base:r4.1-py3.10",
        cluster_name: "Kubernetes",
        matching: "any",
        supervisor: "/scripts/supervise",
        python: { installations: [{ path: "/opt/python/3.10.4/bin/python3", version: "3.10" }] },
        r: { installations: [{ path: "/opt/R/4.1.3/bin/R", version: "4.1.3" }] },
        quarto: { installations: [{ path: "/opt/quarto/bin/quarto", version: "1.0.35" }] },
      },
      { name: "my-org/special:1", cluster_name: "Kubernetes", matching: "exact", title: "Special" },
    ]);
  });

  it("reads the declarative list with volume mounts", () => {
    const result = parseEnvironmentFile(fixture("declarative.yaml"), "f", "declarative");
    expect(result.ok && result.environments[1]).toEqual({
      name: "ghcr.io/org/gpu:2026.01",
      cluster_name: "Kubernetes",
      matching: "exact",
      volume_mounts: [
        {
          source: { volume_type: "pvc", pvc_name: "models" },
          target: { path: "/models", read_only: true },
        },
      ],
    });
    expect(names(fixture("declarative.yaml"))).toEqual([
      "ghcr.io/posit-dev/connect-content:R4.5.2-python3.14.3-ubuntu-24.04",
      "ghcr.io/org/gpu:2026.01",
    ]);
  });

  it("reads executionEnvironments out of a pasted values.yaml, ignoring the other keys", () => {
    const pasted = parseEnvironmentFile(fixture("values-fragment.yaml"), "f");
    expect(pasted).toEqual({
      ok: true,
      environments: [
        {
          name: "ghcr.io/posit-dev/connect-content:R4.5.2-python3.14.3-ubuntu-24.04",
          cluster_name: "Kubernetes",
          matching: "any",
          title: "Custom Runtime",
          python: py("3.14.3"),
        },
      ],
    });
  });

  it.each([
    ["a file of comments", fixture("empty.yaml")],
    ["an empty file", ""],
    ["an empty list", "[]"],
    ["an empty executionEnvironments", "executionEnvironments:\n"],
  ])("takes %s as managing nothing", (_, text) => {
    expect(parseEnvironmentFile(text, "f", "declarative")).toEqual({ ok: true, environments: [] });
  });

  it("keeps numbers as the text written, in versions and in titles", () => {
    const result = parseEnvironmentFile(
      "- name: a.org/x:1\n  title: 2024.10\n  r: [{version: 4.10, path: /opt/R/bin/R}]\n",
      "f",
    );
    expect(result.ok && result.environments[0]).toMatchObject({
      title: "2024.10",
      r: { installations: [{ version: "4.10" }] },
    });
  });
});

describe("environment files: problems with line and column", () => {
  it("reports every problem of a file, in file order", () => {
    expect(problems(fixture("invalid.yaml"))).toEqual([
      'envs.yaml:2:3: unknown key "titel" (did you mean "title"?)',
      "envs.yaml:3:13: matching must be one of any, exact, none",
      "envs.yaml:6:9: python.installations.0.version is required",
      "envs.yaml:6:15: python.installations.0.path must be an absolute path without '..'",
      'envs.yaml:7:9: unknown key "verison" (did you mean "version"?)',
      'envs.yaml:9:17: cluster_name must be "Kubernetes" (or "Local" for this machine\'s own installations)',
      "envs.yaml:10:18: r.installations.0.version must be a dotted numeric version such as 3.11.3",
      "envs.yaml:11:9: the image ghcr.io/org/a:1 is listed twice, at lines 1 and 11; one environment per image",
      "envs.yaml:12:3: name is required",
      "envs.yaml:13:3: entry 5 must be a mapping with at least a name",
    ]);
  });

  it.each([
    ["a YAML syntax error", "- name: a.org/x:1\n  title: [unclosed\n", /^envs\.yaml:3:1: /],
    [
      "a duplicate key",
      "- name: a.org/x:1\n  title: A\n  title: B\n",
      /^envs\.yaml:3:3: Map keys must be unique/,
    ],
    [
      "a bad image name",
      "- name: Not An Image\n",
      /^envs\.yaml:1:9: name must be a container image name such as ghcr\.io\/org\/image:tag$/,
    ],
    [
      "a runtime that is not a list",
      "- name: a.org/x:1\n  python:\n    installations: /opt/python\n",
      /^envs\.yaml:3:20: python\.installations must be a list$/,
    ],
    [
      "a bad volume type",
      "- name: a.org/x:1\n  volume_mounts:\n    - source: {volume_type: s3}\n      target: {path: /d}\n",
      /^envs\.yaml:3:29: volume_mounts\.0\.source\.volume_type is invalid: expected union value$/,
    ],
    [
      "a title that is too long",
      `- name: a.org/x:1\n  title: ${"x".repeat(1025)}\n`,
      /^envs\.yaml:2:10: title is invalid: expected string length less or equal to 1024$/,
    ],
    [
      "a supervisor that is not absolute",
      "- name: a.org/x:1\n  supervisor: scripts/s\n",
      /^envs\.yaml:2:15: supervisor must be an absolute path without '\.\.'$/,
    ],
    [
      "a mapping that is not a list",
      "name: a.org/x:1\n",
      /^envs\.yaml:1:1: an environments file is a list of environments/,
    ],
    [
      "a misspelt executionEnvironments",
      "executionEnvironment:\n  - name: a.org/x:1\n",
      /^envs\.yaml:1:1: an environments file is a list .*; found "executionEnvironment"$/,
    ],
    [
      "executionEnvironments that is not a list",
      "executionEnvironments: a.org/x:1\n",
      /^envs\.yaml:1:24: executionEnvironments must be a list of environments$/,
    ],
    [
      "a bootstrap file given as declarative",
      "name: Kubernetes\nimages: []\n",
      /^envs\.yaml:1:1: this is a bootstrap file/,
    ],
  ])("reports %s", (_, text, pattern) => {
    const found = problems(text);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(pattern);
  });

  it.each([
    [
      "not for Kubernetes",
      "name: Local\nimages: []\n",
      'envs.yaml:1:1: name must be "Kubernetes", not "Local"',
    ],
    ["without a name", "images: []\n", 'envs.yaml:1:1: name must be "Kubernetes", not null'],
    [
      "without images",
      "name: Kubernetes\n",
      "envs.yaml:1:1: images must be a list of environments",
    ],
    [
      "with images not a list",
      "name: Kubernetes\nimages: nope\n",
      "envs.yaml:2:9: images must be a list of environments",
    ],
    [
      "with a misspelt key",
      "name: Kubernetes\nimages: []\nimage: []\n",
      'envs.yaml:3:1: unknown key "image" (did you mean "images"?)',
    ],
    [
      "that is a list",
      "- name: a.org/x:1\n",
      "envs.yaml:1:1: a bootstrap file is a mapping with name: Kubernetes and an images: list",
    ],
    ["that is empty", "", "envs.yaml:1:1: the bootstrap file is empty"],
  ])("refuses a bootstrap file %s", (_, text, expected) => {
    expect(problems(text, "bootstrap")).toEqual([expected]);
  });

  it("reports a misspelt key and what it leaves missing", () => {
    expect(problems("- name: a.org/x:1\n  python:\n    installation: []\n")).toEqual([
      'envs.yaml:3:5: unknown key "installation" (did you mean "installations"?)',
      "envs.yaml:3:5: python.installations is required",
    ]);
  });

  it("formats problems as file:line:column: message", () => {
    expect(formatProblems([{ file: "a.yaml", line: 3, column: 7, message: "bad" }])).toEqual([
      "a.yaml:3:7: bad",
    ]);
  });
});

describe("environment files: any text", () => {
  const token = fc.constantFrom(
    "- ",
    "name: ",
    "a.org/x:1",
    "images:",
    "python:",
    "installations:",
    "version: ",
    "3.10",
    "path: ",
    "/opt/p",
    "[",
    "]",
    "{",
    "}",
    ", ",
    "\n",
    "  ",
    "&a ",
    "*a",
    "<<: ",
    "null",
    "~",
    "executionEnvironments:",
    "volume_mounts:",
    "#",
    '"',
    "? ",
    ": ",
  );
  const yamlish = fc.oneof(
    fc.string(),
    fc.array(token, { maxLength: 30 }).map((t) => t.join("")),
  );

  it("gives environments or located problems, never an exception", () => {
    fc.assert(
      fc.property(
        yamlish,
        fc.constantFrom<FileFormat>("auto", "bootstrap", "declarative"),
        (text, format) => {
          const result = parseEnvironmentFile(text, "f", format);
          if (result.ok) return;
          expect(result.problems.length).toBeGreaterThan(0);
          const lineCount = text.split(/\r\n|\r|\n/).length;
          for (const p of result.problems) {
            expect(p.line).toBeGreaterThanOrEqual(1);
            expect(p.line).toBeLessThanOrEqual(lineCount);
            expect(p.column).toBeGreaterThanOrEqual(1);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });
});
