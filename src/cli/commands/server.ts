import type { Command } from "commander";
import { loadSettings } from "../../config/settings.js";
import { startServer } from "../../server/start.js";
import { action } from "../run-command.js";

export function registerServerCommand(program: Command): void {
  program
    .command("server")
    .description("Start the Slipway server")
    .option("-c, --config <file>", "configuration file (.gcfg)")
    .action(
      action(async (options: { config?: string }) => {
        const server = await startServer(loadSettings({ file: options.config }));
        const stop = async () => {
          await server.close();
          process.exit(0);
        };
        process.once("SIGINT", stop);
        process.once("SIGTERM", stop);
      }),
    );
}
