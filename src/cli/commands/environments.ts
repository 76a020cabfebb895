import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Command } from "commander";
import type { Environment, EnvironmentCreate, Installations } from "../../environments/model.js";
import { ApiClient, type ServerOptions } from "../api-client.js";
import { action, printJson } from "../run-command.js";
import { renderTable } from "../table.js";

interface EditOptions extends ServerOptions {
  json?: boolean;
  name?: string;
  title?: string;
  description?: string;
  matching?: string;
  supervisor?: string;
  python?: string[];
  r?: string[];
  quarto?: string[];
  fromFile?: string;
}

export function addServerOptions(command: Command): Command {
  return command
    .option("--server <url>", "Slipway or Connect server (default: $CONNECT_SERVER)")
    .option("--api-key <key>", "API key (default: $CONNECT_API_KEY)")
    .option("--json", "print JSON instead of a table");
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

function addFieldOptions(command: Command): Command {
  return command
    .option("--title <text>", "human-readable title")
    .option("--description <text>", "what the environment is for")
    .option("--matching <any|exact|none>", "when the environment may be selected")
    .option("--supervisor <path>", "absolute path of a supervisor inside the image ('' to clear)")
    .option("--python <version=path>", "a Python installation (repeatable; '' clears)", collect)
    .option("--r <version=path>", "an R installation (repeatable; '' clears)", collect)
    .option("--quarto <version=path>", "a Quarto installation (repeatable; '' clears)", collect)
    .option("--from-file <file>", "JSON body to send, merged under the flags");
}

export function registerEnvironmentCommands(program: Command): void {
  const environments = program
    .command("environments")
    .alias("env")
    .description("Manage execution environments on a running server");

  addServerOptions(environments.command("list").description("List environments")).action(
    action(async (options: EditOptions) => {
      const list = await new ApiClient(options).request<Environment[]>("GET", "/v1/environments");
      if (options.json) return printJson(list);
      console.log(
        renderTable(
          ["GUID", "IMAGE", "TITLE", "PYTHON", "R", "QUARTO", "MATCHING", "MANAGED BY"],
          list.map((e) => [
            e.guid,
            e.name,
            e.title ?? "",
            versions(e.python),
            versions(e.r),
            versions(e.quarto),
            e.matching,
            e.managed_by ?? "",
          ]),
        ),
      );
    }),
  );

  addServerOptions(environments.command("show <guid>").description("Show one environment")).action(
    action(async (guid: string, options: EditOptions) => {
      const e = await new ApiClient(options).request<Environment>(
        "GET",
        `/v1/environments/${encodeURIComponent(guid)}`,
      );
      if (options.json) return printJson(e);
      const rows: string[][] = [
        ["guid", e.guid],
        ["image", e.name],
        ["title", e.title ?? ""],
        ["description", e.description ?? ""],
        ["matching", e.matching],
        ["supervisor", e.supervisor ?? ""],
        ["managed by", e.managed_by ?? ""],
        ...(["python", "r", "quarto"] as const).flatMap((runtime) =>
          (e[runtime]?.installations ?? []).map((i) => [runtime, `${i.version}  ${i.path}`]),
        ),
      ];
      console.log(renderTable(["FIELD", "VALUE"], rows));
    }),
  );

  addFieldOptions(
    addServerOptions(
      environments
        .command("add")
        .description("Create an environment")
        .requiredOption("--name <image>", "container image"),
    ),
  ).action(
    action(async (options: EditOptions) => {
      const body = {
        ...(await fromFile(options.fromFile)),
        ...fields(options),
        name: options.name,
      };
      const created = await new ApiClient(options).request<Environment>(
        "POST",
        "/v1/environments",
        body,
      );
      if (options.json) return printJson(created);
      console.log(`Created ${created.guid} for ${created.name}.`);
    }),
  );

  addFieldOptions(
    addServerOptions(
      environments
        .command("edit <guid>")
        .description("Change an environment; unset fields keep their value"),
    ),
  ).action(
    action(async (guid: string, options: EditOptions) => {
      const body = { ...(await fromFile(options.fromFile)), ...fields(options) };
      const updated = await new ApiClient(options).request<Environment>(
        "PUT",
        `/v1/environments/${encodeURIComponent(guid)}`,
        body,
      );
      if (options.json) return printJson(updated);
      console.log(`Updated ${updated.guid} (${updated.name}).`);
    }),
  );

  addServerOptions(
    environments
      .command("plan <file>")
      .description(
        "Show what applying a declarative environments file would change, without applying it",
      ),
  ).action(
    action(async (file: string, options: EditOptions) => {
      const text = await readFile(file, "utf8");
      const result = await new ApiClient(options).request<{ summary: string[] }>(
        "POST",
        `/slipway/v1/environments/plan?source=${encodeURIComponent(path.resolve(file))}`,
        { text },
      );
      if (options.json) return printJson(result);
      console.log(result.summary.join("\n"));
    }),
  );

  addServerOptions(
    environments
      .command("remove <guid>")
      .alias("rm")
      .description("Delete an environment; one that content uses is retired instead")
      .option("--force", "erase it even though content uses it"),
  ).action(
    action(async (guid: string, options: EditOptions & { force?: boolean }) => {
      await new ApiClient(options).request(
        "DELETE",
        `/v1/environments/${encodeURIComponent(guid)}${options.force ? "?force=true" : ""}`,
      );
      console.log(`Removed ${guid}.`);
    }),
  );
}

function versions(installations: Installations): string {
  return installations?.installations.map((i) => i.version).join(", ") ?? "";
}

async function fromFile(file: string | undefined): Promise<Record<string, unknown>> {
  if (!file) return {};
  const parsed = JSON.parse(await readFile(file, "utf8"));
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${file} must hold one JSON object.`);
  }
  return parsed;
}

/** The body fields given as flags; flags not given are left out so the server keeps them. */
function fields(options: EditOptions): Partial<EnvironmentCreate> {
  const body: Partial<EnvironmentCreate> = {};
  if (options.title !== undefined) body.title = options.title || null;
  if (options.description !== undefined) body.description = options.description || null;
  if (options.matching !== undefined)
    body.matching = options.matching as EnvironmentCreate["matching"];
  if (options.supervisor !== undefined) body.supervisor = options.supervisor || null;
  for (const runtime of ["python", "r", "quarto"] as const) {
    const given = options[runtime];
    if (given) body[runtime] = installations(runtime, given);
  }
  return body;
}

function installations(runtime: string, specs: string[]): Installations {
  const list = specs
    .filter((s) => s !== "")
    .map((spec) => {
      const at = spec.indexOf("=");
      if (at <= 0)
        throw new Error(
          `--${runtime} takes VERSION=PATH, such as 3.11.3=/opt/python/3.11.3/bin/python3; got "${spec}".`,
        );
      return { version: spec.slice(0, at), path: spec.slice(at + 1) };
    });
  return list.length > 0 ? { installations: list } : null;
}
