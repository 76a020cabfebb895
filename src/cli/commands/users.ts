import type { Command } from "commander";
import { pino } from "pino";
import { loadSettings } from "../../config/settings.js";
import { listApiKeys, revokeApiKey } from "../../store/api-keys.js";
import { setPasswordHash } from "../../store/sessions.js";
import { findUserByName, listUsers } from "../../store/users.js";
import {
  changePassword,
  changeRole,
  createApiKey,
  createUser,
  MIN_PASSWORD_LENGTH,
} from "../../users/accounts.js";
import { recordChange } from "../../users/audit.js";
import { hashPassword } from "../../users/passwords.js";
import { ROLES } from "../../users/roles.js";
import { action, printJson } from "../run-command.js";
import { renderTable } from "../table.js";
import { withStore } from "./local-store.js";

const CONFIG = ["-c, --config <file>", "configuration file (.gcfg) naming the database"] as const;

export function registerUserCommands(program: Command): void {
  const users = program
    .command("users")
    .description("Manage users (works on the database directly)");
  users
    .command("add <name>")
    .description("Create a user and print a new API key alone on standard output")
    .requiredOption("-r, --role <role>", `one of ${ROLES.join(", ")}`)
    .option("--password-stdin", "also set a dashboard password, read from standard input")
    .option(...CONFIG)
    .action(
      action(
        async (
          name: string,
          options: { role: string; config?: string; passwordStdin?: boolean },
        ) => {
          const password = options.passwordStdin ? await readPassword() : undefined;
          const { apiKey } = await withStore(options.config, async (store) => {
            const created = await createUser(store, name, options.role);
            if (password) await setPasswordHash(store.db, name, await hashPassword(password));
            await recordChange(cliAudit(options.config), store.db, {
              actor: null,
              actorName: "cli",
              action: "create user",
              description: `cli created ${name} (${options.role}) with an API key`,
            });
            return created;
          });
          process.stdout.write(`${apiKey}\n`);
        },
      ),
    );
  users
    .command("password <name>")
    .description("Set a user's dashboard password, read from standard input")
    .option(...CONFIG)
    .action(
      action(async (name: string, options: { config?: string }) => {
        const password = await readPassword();
        const { sessionsEnded } = await withStore(options.config, (store) =>
          changePassword(store, name, password, { by: "cli", audit: cliAudit(options.config) }),
        );
        process.stderr.write(`Password set for ${name}; ${ended(sessionsEnded)}.\n`);
      }),
    );
  users
    .command("role <name> <role>")
    .description(`Give a user another role (${ROLES.join(", ")}); their sessions end`)
    .option(...CONFIG)
    .action(
      action(async (name: string, role: string, options: { config?: string }) => {
        const { sessionsEnded } = await withStore(options.config, async (store) => {
          const user = await findUserByName(store.db, name);
          if (!user) throw new Error(`No user named "${name}".`);
          return changeRole(store, user.guid, role, { by: "cli", audit: cliAudit(options.config) });
        });
        process.stderr.write(`${name} is now ${role}; ${ended(sessionsEnded)}.\n`);
      }),
    );
  users
    .command("list")
    .option(...CONFIG)
    .option("--json", "print JSON")
    .action(
      action(async (options: { config?: string; json?: boolean }) => {
        const rows = await withStore(options.config, (store) => listUsers(store.db));
        if (options.json) return printJson(rows.map(({ password_hash: _, ...user }) => user));
        console.log(
          renderTable(
            ["USERNAME", "ROLE", "GUID", "CREATED"],
            rows.map((u) => [u.username, u.user_role, u.guid, u.created_time]),
          ),
        );
      }),
    );

  const keys = program
    .command("keys")
    .description("Manage API keys (works on the database directly)");
  keys
    .command("create <username>")
    .description("Create an API key for a user and print it alone on standard output")
    .option("-n, --name <name>", "a name to recognise the key by", "cli")
    .option(...CONFIG)
    .action(
      action(async (username: string, options: { name: string; config?: string }) => {
        const { apiKey } = await withStore(options.config, async (store) => {
          const created = await createApiKey(store, username, options.name);
          await recordChange(cliAudit(options.config), store.db, {
            actor: null,
            actorName: "cli",
            action: "create api key",
            description: `cli created API key ${created.guid} (${options.name}) for ${username}`,
          });
          return created;
        });
        process.stdout.write(`${apiKey}\n`);
      }),
    );
  keys
    .command("list [username]")
    .description("List API keys (never the keys themselves: only their hashes are stored)")
    .option(...CONFIG)
    .option("--json", "print JSON")
    .action(
      action(async (username: string | undefined, options: { config?: string; json?: boolean }) => {
        const rows = await withStore(options.config, async (store) => {
          if (!username) return listApiKeys(store.db);
          const user = await findUserByName(store.db, username);
          if (!user) throw new Error(`No user named "${username}".`);
          return listApiKeys(store.db, user.guid);
        });
        if (options.json) return printJson(rows);
        console.log(
          renderTable(
            ["GUID", "USER", "NAME", "CREATED", "LAST USED", "REVOKED"],
            rows.map((k) => [
              k.guid,
              k.username,
              k.name,
              k.created_time,
              k.last_used_time ?? "-",
              k.revoked_time ?? "-",
            ]),
          ),
        );
      }),
    );
  keys
    .command("revoke <guid>")
    .description("Revoke an API key; requests with it are refused from now on")
    .option(...CONFIG)
    .action(
      action(async (guid: string, options: { config?: string }) => {
        const found = await withStore(options.config, async (store) => {
          if (!(await revokeApiKey(store.db, guid))) return false;
          await recordChange(cliAudit(options.config), store.db, {
            actor: null,
            actorName: "cli",
            action: "revoke api key",
            description: `cli revoked API key ${guid}`,
          });
          return true;
        });
        if (!found) throw new Error(`No API key ${guid}.`);
        process.stderr.write(`Revoked ${guid}.\n`);
      }),
    );
}

/** The first line of standard input; at least MIN_PASSWORD_LENGTH characters. */
async function readPassword(): Promise<string> {
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  const password = text.split(/\r?\n/)[0] ?? "";
  if (password.length < MIN_PASSWORD_LENGTH) {
    throw new Error(`The password must have at least ${MIN_PASSWORD_LENGTH} characters.`);
  }
  return password;
}

const ended = (n: number) => `${n} session${n === 1 ? "" : "s"} ended`;

/** Security events of the command line go to standard error as JSON lines, at the configured level. */
function cliAudit(configFile: string | undefined) {
  const level = loadSettings({ file: configFile }).Server.LogLevel;
  return pino(
    { level, base: { service: "slipway-cli" } },
    pino.destination({ dest: 2, sync: true }),
  );
}
