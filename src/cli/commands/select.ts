import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { formatProblems, parseEnvironmentFile } from "../../environments/environment-file.js";
import { contentNeeds, parseManifest } from "../../environments/manifest.js";
import { type Environment, fieldsWithDefaults } from "../../environments/model.js";
import type { MatchingMode } from "../../environments/selection.js";
import { answerSelection, type SelectionAnswer } from "../../environments/selection-answer.js";
import { ApiClient } from "../api-client.js";
import { action, printJson } from "../run-command.js";
import { renderTable } from "../table.js";
import { addServerOptions } from "./environments.js";

interface SelectOptions {
  server?: string;
  apiKey?: string;
  json?: boolean;
  environments?: string;
  content?: string;
  rVersionMatching?: MatchingMode;
  pythonVersionMatching?: MatchingMode;
  quartoVersionMatching?: MatchingMode;
}

export function registerSelectCommand(program: Command): void {
  addServerOptions(
    program
      .command("select <manifest>")
      .description("Show which environment a manifest.json would run in, and why")
      .option("--environments <file>", "work offline against a bootstrap or declarative YAML file")
      .option("--content <guid>", "apply this content item's default environment (server mode)")
      .option("--r-version-matching <mode>", "offline: exact, major-minor or nearest", "nearest")
      .option(
        "--python-version-matching <mode>",
        "offline: exact, major-minor or nearest",
        "major-minor",
      )
      .option(
        "--quarto-version-matching <mode>",
        "offline: exact, major-minor or nearest",
        "nearest",
      ),
  ).action(
    action(async (file: string, options: SelectOptions) => {
      const manifest = JSON.parse(
        await readFile(file, "utf8").catch(() => {
          throw new Error(`Cannot read ${file}.`);
        }),
      );
      const answer = options.environments
        ? await offline(manifest, options)
        : await new ApiClient(options).request<SelectionAnswer>("POST", "/slipway/v1/selection", {
            manifest,
            ...(options.content ? { content_guid: options.content } : {}),
          });
      if (options.json) printJson(answer);
      else print(answer);
      if (!answer.ok) process.exitCode = 2;
    }),
  );
}

async function offline(manifest: unknown, options: SelectOptions): Promise<SelectionAnswer> {
  const file = options.environments!;
  const parsed = parseEnvironmentFile(await readFile(file, "utf8"), file);
  if (!parsed.ok) throw new Error(formatProblems(parsed.problems).join("\n"));
  const environments: Environment[] = parsed.environments.map((e, i) => ({
    ...fieldsWithDefaults(e, file),
    id: String(i + 1),
    guid: `file-entry-${i + 1}`,
    // File order stands in for creation order, the last tie-break.
    created_time: new Date(Date.UTC(2000, 0, 1, 0, 0, i)).toISOString(),
    updated_time: "",
    environment_type: "Kubernetes",
  }));
  return answerSelection({
    needs: contentNeeds(parseManifest(manifest)),
    environments,
    modes: {
      r: options.rVersionMatching,
      python: options.pythonVersionMatching,
      quarto: options.quartoVersionMatching,
    },
  });
}

function print(answer: SelectionAnswer): void {
  if (answer.ok) {
    console.log(
      answer.environment
        ? `Selected ${answer.environment.name} (${answer.basis})`
        : "No environment needed: static content.",
    );
    for (const [runtime, installation] of Object.entries(answer.installations)) {
      console.log(`  ${runtime} ${installation.version}  ${installation.path}`);
    }
  } else {
    console.log(`No environment: ${answer.error?.error} (code ${answer.error?.code})`);
  }
  if (answer.explanation.length > 0) {
    console.log("");
    console.log(
      renderTable(
        ["IMAGE", "VERDICT", "WHY"],
        answer.explanation.map((c) => [c.image, c.verdict, c.detail]),
      ),
    );
  }
}
