/** Reads what the probe script printed. Pure. */
import type { Runtime } from "../environments/model.js";
import { emptyFindings, type Findings, tidy, versionFromOutput } from "./locations.js";

export function parseProbeOutput(output: string): Findings {
  const findings = emptyFindings();
  for (const line of output.split("\n")) {
    const [runtime, path, versionOutput] = line.split("\t");
    if (
      !path ||
      versionOutput === undefined ||
      !(runtime === "r" || runtime === "python" || runtime === "quarto")
    )
      continue;
    const version = versionFromOutput(runtime as Runtime, versionOutput);
    if (version) findings[runtime as Runtime].push({ runtime: runtime as Runtime, version, path });
  }
  return tidy(findings);
}
