import { existsSync } from "node:fs";
import { type Command, Option } from "commander";
import type Docker from "dockerode";
import type { EnvironmentCreate } from "../../environments/model.js";
import { isApiError } from "../../errors.js";
import { connectEngine, engineMessage } from "../../inspect/engine.js";
import { HOST_ENVIRONMENT_NAME } from "../../inspect/host-environment.js";
import {
  type InspectOptions,
  inspectHost,
  probeImage,
  staticImage,
} from "../../inspect/inspect.js";
import type { Findings } from "../../inspect/locations.js";
import { OUTPUT_FORMATS, type OutputFormat, render, toEnvironment } from "../../inspect/render.js";
import { ApiClient, type ServerOptions } from "../api-client.js";
import { action } from "../run-command.js";

interface CommandOptions extends ServerOptions {
  format: OutputFormat;
  static?: boolean;
  archive?: string;
  host?: boolean;
  pathLookups: boolean;
  apply?: boolean;
}

/** Image references never start with "/" or "."; a saved image's file name ends in .tar. */
function isArchivePath(target: string): boolean {
  return /^\.{0,2}\//.test(target) || (target.endsWith(".tar") && existsSync(target));
}

export function registerInspectCommand(program: Command): void {
  program
    .command("inspect [images...]")
    .description(
      "Find the Python, R and Quarto installations in container images and print them as " +
        "environments (or create them on a server with --apply). An image given as a path " +
        "(docker-archive or OCI-archive tar, OCI layout folder) is read statically.",
    )
    .addOption(
      new Option(
        "--format <format>",
        "runtime-yaml (bootstrap file), environments (declarative list) or json",
      )
        .choices(OUTPUT_FORMATS)
        .default("environments"),
    )
    .option(
      "--static",
      "read the image layers without running anything (safe for untrusted images)",
    )
    .option(
      "--archive <file>",
      "read a docker-archive tar or OCI layout folder (implies --static; needs no engine)",
    )
    .option("--host", "inspect the machine Slipway runs on instead of an image")
    .option("--no-path-lookups", "do not fall back to R, python and quarto on the PATH")
    .option("--apply", "create the environments on a server instead of printing them")
    .option("--server <url>", "with --apply: the server (default: $CONNECT_SERVER)")
    .option(
      "--api-key <key>",
      "with --apply: an administrator's API key (default: $CONNECT_API_KEY)",
    )
    .action(
      action(async (images: string[], options: CommandOptions) => {
        const progress = (line: string) => process.stderr.write(`[inspect] ${line}\n`);
        const inspectOptions: InspectOptions = { pathLookups: options.pathLookups, progress };
        const targets = options.host
          ? [HOST_ENVIRONMENT_NAME]
          : [...(options.archive ? [options.archive] : []), ...images];
        if (targets.length === 0) {
          throw new Error("Name at least one image, or use --host or --archive FILE.");
        }
        // Missing server settings fail before any image is inspected.
        const client = options.apply ? new ApiClient(options) : undefined;
        // The engine is asked for once, and only when an image needs it.
        let docker: Promise<Docker> | undefined;
        const found: EnvironmentCreate[] = [];
        let failed = 0;
        for (const target of targets) {
          try {
            let findings: Findings & { name?: string };
            if (options.host) {
              findings = await inspectHost(inspectOptions);
            } else if (target === options.archive || isArchivePath(target)) {
              findings = await staticImage({ archive: target }, inspectOptions);
            } else {
              docker ??= connectEngine();
              findings = options.static
                ? await staticImage({ docker: await docker, image: target }, inspectOptions)
                : await probeImage(await docker, target, inspectOptions);
            }
            const environment = toEnvironment(findings.name ?? target, findings);
            progress(`${target}: ${environment.title}`);
            found.push(environment);
          } catch (error) {
            failed++;
            process.stderr.write(`error: ${target}: ${engineMessage(error)}\n`);
          }
        }
        if (client) {
          for (const environment of found) {
            try {
              const created = await client.request<{ guid: string }>(
                "POST",
                "/v1/environments",
                environment,
              );
              progress(`created ${environment.name} as ${created.guid}`);
            } catch (error) {
              failed++;
              const code = isApiError(error) ? ` (code ${error.code})` : "";
              process.stderr.write(`error${code}: ${environment.name}: ${engineMessage(error)}\n`);
            }
          }
        } else if (found.length > 0) {
          process.stdout.write(render(found, options.format));
        }
        if (failed > 0) process.exitCode = 1;
      }),
    );
}
