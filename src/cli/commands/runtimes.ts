import type { Command } from "commander";
import type { RuntimeCoverage } from "../../environments/coverage.js";
import { ApiClient } from "../api-client.js";
import { action, printJson } from "../run-command.js";
import { renderTable } from "../table.js";
import { addServerOptions } from "./environments.js";

const LABEL = { r: "R", python: "Python", quarto: "Quarto" } as const;

export function registerRuntimesCommand(program: Command): void {
  addServerOptions(
    program
      .command("runtimes")
      .description(
        "Runtimes coverage: the versions deployed content needs, the environments that satisfy each, and the content none can serve",
      ),
  ).action(
    action(async (options: { server?: string; apiKey?: string; json?: boolean }) => {
      const report = await new ApiClient(options).request<RuntimeCoverage>(
        "GET",
        "/slipway/v1/runtimes",
      );
      if (options.json) printJson(report);
      else console.log(render(report));
    }),
  );
}

/** A need as a person reads it: `Python 3.11.4 (>=3.11)`, `R (any version)`. */
export function describeNeed(need: RuntimeCoverage["needs"][number]): string {
  const version = need.version ?? "(any version)";
  return `${LABEL[need.runtime]} ${version}${need.constraint ? ` (${need.constraint})` : ""}`;
}

function render(report: RuntimeCoverage): string {
  const m = report.version_matching;
  const lines = [
    `${report.content_count} deployed content items; version matching: R ${m.r}, Python ${m.python}, Quarto ${m.quarto}.`,
  ];
  if (report.needs.length > 0) {
    lines.push(
      "",
      renderTable(
        ["RUNTIME", "CONTENT", "ENVIRONMENTS"],
        report.needs.map((need) => [
          describeNeed(need),
          String(need.content_count),
          need.environments.length === 0
            ? "none"
            : need.environments.map((e) => `${e.name} (${e.installation})`).join(", "),
        ]),
      ),
    );
  }
  lines.push("");
  if (report.unsatisfied.length === 0) {
    lines.push("Every deployed content item has a compatible environment.");
  } else {
    lines.push(`No compatible environment for ${report.unsatisfied.length} content items:`);
    for (const item of report.unsatisfied)
      lines.push(`  ${item.name} (${item.guid}): ${item.error}`);
  }
  return lines.join("\n");
}
