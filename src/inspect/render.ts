/** The inspector's findings as files Slipway reads: bootstrap YAML, declarative YAML, JSON. Pure. */
import { stringify } from "yaml";
import type { EnvironmentCreate } from "../environments/model.js";
import type { Findings } from "./locations.js";

export type OutputFormat = "runtime-yaml" | "environments" | "json";

export function toEnvironment(image: string, findings: Findings): EnvironmentCreate {
  const list = (runtime: keyof Findings) =>
    findings[runtime].length > 0
      ? { installations: findings[runtime].map((f) => ({ path: f.path, version: f.version })) }
      : null;
  const summary = (["python", "r", "quarto"] as const)
    .filter((r) => findings[r].length > 0)
    .map(
      (r) =>
        `${r === "r" ? "R" : r === "python" ? "Python" : "Quarto"} ${findings[r].map((f) => f.version).join(", ")}`,
    )
    .join("; ");
  return {
    name: image,
    title: summary || "No Python, R or Quarto found",
    description: `Found by slipway inspect in ${image}.`,
    python: list("python"),
    r: list("r"),
    quarto: list("quarto"),
  };
}

export function render(environments: EnvironmentCreate[], format: OutputFormat): string {
  if (format === "json") return `${JSON.stringify(environments, null, 2)}\n`;
  const cleaned = environments.map((e) =>
    Object.fromEntries(
      Object.entries(e).filter(([, value]) => value !== null && value !== undefined),
    ),
  );
  return stringify(format === "runtime-yaml" ? { name: "Kubernetes", images: cleaned } : cleaned);
}
