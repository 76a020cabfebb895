import { Command, CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import { registerInspectCommand } from "../../src/cli/commands/inspect.js";

/** A program holding only the inspect command, as main.ts wires it. */
function program(): { program: Command; errors: string[] } {
  const errors: string[] = [];
  const root = new Command("slipway").exitOverride();
  root.configureOutput({ writeErr: (text) => errors.push(text), writeOut: () => {} });
  registerInspectCommand(root);
  for (const command of root.commands) {
    command.exitOverride().configureOutput({ writeErr: (text) => errors.push(text) });
  }
  return { program: root, errors };
}

describe("the inspect command's options", () => {
  it("refuses an unknown --format before inspecting anything", async () => {
    const { program: root, errors } = program();
    await expect(
      root.parseAsync(["inspect", "busybox:1", "--format", "yaml"], { from: "user" }),
    ).rejects.toBeInstanceOf(CommanderError);
    expect(errors.join("")).toContain("Allowed choices are runtime-yaml, environments, json");
  });
});
