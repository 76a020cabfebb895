import type { Command } from "commander";
import { describeIgnored, loadConfiguration } from "../../config/settings.js";
import { startServer } from "../../server/start.js";
import { action } from "../run-command.js";

export function registerServerCommand(program: Command): void {
  program
    .command("server")
    .description("Start the Slipway server")
    .option("-c, --config <file>", "configuration file (.gcfg)")
    .action(
      action(async (options: { config?: string }) => {
        const { settings, ignored } = loadConfiguration({ file: options.config });
        const configWarnings = ignored.length > 0 ? [describeIgnored(ignored)] : [];
        const server = await startServer(settings, { configWarnings });
        const stop = async () => {
          await server.close();
          process.exit(0);
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      }),
    );
}
