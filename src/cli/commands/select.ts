import { readFile } from "node:fs/promises";
import type { Command } from "commander";
import { formatProblems, parseEnvironmentFile } from "../../environments/environment-file.js";
import { contentNeeds, parseManifest } from "../../environments/manifest.js";
import type { Environment } from "../../environments/model.js";
import { type MatchingMode, selectEnvironment } from "../../environments/selection.js";
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

interface Answer {
  ok: boolean;
  environment: { guid: string; name: string; title: string | null } | null;
  installations: Record<string, { version: string; path: string }>;
  basis: string;
  explanation: Array<{
    environment_guid: string;
    image: string;
    title: string | null;
    verdict: string;
    detail: string;
  }>;
  error: { code: number; error: string } | null;
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
        : await new ApiClient(options).request<Answer>("POST", "/slipway/v1/selection", {
            manifest,
            ...(options.content ? { content_guid: options.content } : {}),
          });
      if (options.json) printJson(answer);
      else print(answer);
      if (!answer.ok) process.exitCode = 2;
    }),
  );
}

async function offline(manifest: unknown, options: SelectOptions): Promise<Answer> {
  const file = options.environments!;
  const parsed = parseEnvironmentFile(await readFile(file, "utf8"), file);
  if (!parsed.ok) throw new Error(formatProblems(parsed.problems).join("\n"));
  const environments: Environment[] = parsed.environments.map((e, i) => ({
    id: String(i + 1),
    guid: `file-entry-${i + 1}`,
    created_time: new Date(Date.UTC(2000, 0, 1, 0, 0, i)).toISOString(),
    updated_time: "",
    title: e.title ?? null,
    description: e.description ?? null,
    cluster_name: "Kubernetes",
    name: e.name,
    environment_type: "Kubernetes",
    matching: e.matching ?? "any",
    supervisor: e.supervisor ?? null,
    managed_by: file,
    python: e.python ?? null,
    quarto: e.quarto ?? null,
    r: e.r ?? null,
    tensorflow: null,
    nodejs: null,
    volume_mounts: [],
  }));
  try {
    const selection = selectEnvironment({
      needs: contentNeeds(parseManifest(manifest)),
      environments,
      modes: {
        r: options.rVersionMatching,
        python: options.pythonVersionMatching,
        quarto: options.quartoVersionMatching,
      },
    });
    return {
      ok: true,
      environment: selection.environment && {
        guid: selection.environment.guid,
        name: selection.environment.name,
        title: selection.environment.title,
      },
      installations: selection.installations,
      basis: selection.basis,
      explanation: selection.explanation.map((c) => ({
        environment_guid: c.guid,
        image: c.name,
        title: c.title,
        verdict: c.verdict,
        detail: c.detail,
      })),
      error: null,
    };
  } catch (error) {
    const e = error as {
      code?: number;
      message: string;
      payload?: { reasons?: Array<{ guid: string; name: string; reason: string }> };
    };
    if (e.code !== 106 && e.code !== 108) throw error;
    return {
      ok: false,
      environment: null,
      installations: {},
      basis: "",
      explanation: (e.payload?.reasons ?? []).map((r) => ({
        environment_guid: r.guid,
        image: r.name,
        title: null,
        verdict: "excluded",
        detail: r.reason,
      })),
      error: { code: e.code, error: e.message },
    };
  }
}

function print(answer: Answer): void {
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
