/** The inspector's findings as files Slipway reads: bootstrap YAML, declarative YAML, JSON. Pure. */
import { stringify } from "yaml";
import type { EnvironmentCreate, Installations } from "../environments/model.js";
import type { Findings } from "./locations.js";

export const OUTPUT_FORMATS = ["runtime-yaml", "environments", "json"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

const LABELS = { python: "Python", r: "R", quarto: "Quarto" } as const;

/** The create body for the image: a runtime with nothing found is null. */
export function toEnvironment(image: string, findings: Findings): EnvironmentCreate {
  const list = (runtime: keyof Findings): Installations =>
    findings[runtime].length > 0
      ? { installations: findings[runtime].map((f) => ({ path: f.path, version: f.version })) }
      : null;
  return {
    name: image,
    title: summary(findings) || "No Python, R or Quarto found",
    description: `Installations found in ${image} by slipway inspect.`,
    python: list("python"),
    r: list("r"),
    quarto: list("quarto"),
  };
}

/** "Python 3.11.7, R 4.1.3 & 4.2.2": what publishers see when they pick an environment. */
export function summary(findings: Findings): string {
  return (["python", "r", "quarto"] as const)
    .filter((runtime) => findings[runtime].length > 0)
    .map((runtime) => `${LABELS[runtime]} ${findings[runtime].map((f) => f.version).join(" & ")}`)
    .join(", ");
}

/**
 * runtime-yaml is Connect's bootstrap file (`name: Kubernetes`, `images:` with only name and
 * runtimes); environments is the declarative list of create bodies. In YAML a runtime with
 * nothing found is left out; JSON keeps it as null.
 */
export function render(environments: EnvironmentCreate[], format: OutputFormat): string {
  if (format === "json") return `${JSON.stringify(environments, null, 2)}\n`;
  const keys =
    format === "runtime-yaml"
      ? (["name", "python", "r", "quarto"] as const)
      : (["name", "title", "description", "python", "r", "quarto"] as const);
  const documents = environments.map((environment) =>
    Object.fromEntries(
      keys.flatMap((key) => (environment[key] == null ? [] : [[key, environment[key]]])),
    ),
  );
  return stringify(
    format === "runtime-yaml" ? { name: "Kubernetes", images: documents } : documents,
  );
}
