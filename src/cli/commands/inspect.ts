import { existsSync } from "node:fs";
import type { Command } from "commander";
import type { EnvironmentCreate } from "../../environments/model.js";
import { engine } from "../../inspect/engine.js";
import { inspectHost, probeImage, staticImage } from "../../inspect/inspect.js";
import type { Findings } from "../../inspect/locations.js";
import { type OutputFormat, render, toEnvironment } from "../../inspect/render.js";
import { ApiClient } from "../api-client.js";
import { action } from "../run-command.js";

interface InspectOptions {
  format: OutputFormat;
  static?: boolean;
  archive?: string;
  host?: boolean;
  pathLookups: boolean;
  apply?: boolean;
  server?: string;
  apiKey?: string;
}

export function registerInspectCommand(program: Command): void {
  program
    .command("inspect [images...]")
    .description(
      "Find the Python, R and Quarto installations in container images and print environments YAML",
    )
    .option(
      "--format <format>",
      "runtime-yaml (bootstrap file), environments (declarative list) or json",
      "environments",
    )
    .option(
      "--static",
      "read the image layers without running anything (safe for untrusted images)",
    )
    .option(
      "--archive <file>",
      "with --static: a docker-archive tar or OCI layout folder instead of the engine",
    )
    .option("--host", "inspect the machine Slipway runs on")
    .option("--no-path-lookups", "do not fall back to R, python and quarto on the PATH")
    .option("--apply", "create the environments on a server instead of printing them")
    .option("--server <url>", "with --apply: the server (default: $CONNECT_SERVER)")
    .option(
      "--api-key <key>",
      "with --apply: an administrator's API key (default: $CONNECT_API_KEY)",
    )
    .action(
      action(async (images: string[], options: InspectOptions) => {
        if (!["runtime-yaml", "environments", "json"].includes(options.format)) {
          throw new Error(
            `--format must be runtime-yaml, environments or json, not "${options.format}".`,
          );
        }
        const progress = (line: string) => process.stderr.write(`[inspect] ${line}\n`);
        const inspectOptions = { pathLookups: options.pathLookups, progress };
        const targets = options.host ? ["host"] : options.archive ? [options.archive] : images;
        if (targets.length === 0)
          throw new Error("Name at least one image, or use --host or --archive.");
        const docker = engine();
        const found: EnvironmentCreate[] = [];
        let failed = 0;
        for (const target of targets) {
          try {
            let findings: Findings & { name?: string };
            if (options.host) findings = await inspectHost(inspectOptions);
            else if (
              options.archive ||
              (options.static &&
                existsSync(target) &&
                target.includes("/") &&
                !target.includes(":"))
            ) {
              findings = await staticImage({ archive: options.archive ?? target }, inspectOptions);
            } else if (!docker) {
              throw new Error(
                "no Docker or Podman engine is reachable; use --static --archive FILE to read an image without one",
              );
            } else if (options.static)
              findings = await staticImage({ docker, image: target }, inspectOptions);
            else findings = await probeImage(docker, target, inspectOptions);
            const environment = toEnvironment(findings.name ?? target, findings);
            progress(`${target}: ${environment.title}`);
            found.push(environment);
          } catch (error) {
            failed++;
            process.stderr.write(`error: ${target}: ${(error as Error).message}\n`);
          }
        }
        if (options.apply) {
          const client = new ApiClient(options);
          for (const environment of found) {
            const created = await client.request<{ guid: string }>(
              "POST",
              "/v1/environments",
              environment,
            );
            progress(`created ${environment.name} as ${created.guid}`);
          }
        } else if (found.length > 0) {
          process.stdout.write(render(found, options.format));
        }
        if (failed > 0) process.exitCode = 1;
      }),
    );
}
