import { Command } from "commander";
import { SLIPWAY_VERSION } from "../version.js";
import { registerDeployCommand } from "./commands/deploy.js";
import { registerEnvironmentCommands } from "./commands/environments.js";
import { registerInspectCommand } from "./commands/inspect.js";
import { registerRuntimesCommand } from "./commands/runtimes.js";
import { registerSelectCommand } from "./commands/select.js";
import { registerServerCommand } from "./commands/server.js";
import { registerUserCommands } from "./commands/users.js";

export function buildProgram(): Command {
  const program = new Command()
    .name("slipway")
    .description("Build and run Python, R and Quarto content in execution environments")
    .version(SLIPWAY_VERSION);
  registerServerCommand(program);
  registerUserCommands(program);
  registerEnvironmentCommands(program);
  registerSelectCommand(program);
  registerDeployCommand(program);
  registerInspectCommand(program);
  registerRuntimesCommand(program);
  return program;
}

await buildProgram().parseAsync(process.argv);
