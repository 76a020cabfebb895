/**
 * Who local content runs as and what it can see (Connect's `Applications.RunAs`), decided once
 * at start. A server running as root runs content as an unprivileged account (named by RunAs,
 * or `slipway-content`, created when missing) and never as root unless that is allowed; a
 * server running as anyone else cannot switch accounts and runs content as itself. Either way,
 * when bubblewrap is installed, each job runs in a mount namespace where the data folder and
 * the job folders are replaced by an empty one holding only the job's own volumes: the
 * database, keys, logs and other content are not there to read.
 */
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, readdir, stat } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";

const run = promisify(execFile);

export const DEFAULT_ACCOUNT = "slipway-content";
const BUBBLEWRAP = "/usr/bin/bwrap";

export interface LocalIsolation {
  /** The account jobs run as, when it is not the server's own. */
  user: { uid: number; gid: number; name: string } | null;
  /** bubblewrap's path, when jobs are confined with it. */
  bubblewrap: string | null;
  /** What jobs under bubblewrap see empty but for their own volumes. */
  hidden: string[];
  /** What is not protected, for the start-up log. */
  warnings: string[];
}

export async function localIsolation(options: {
  runAs: string;
  rootAllowed: boolean;
  sandbox: boolean;
  dataDir: string;
}): Promise<LocalIsolation> {
  const warnings: string[] = [];
  const user = await contentAccount(options.runAs, options.rootAllowed, warnings);
  const bubblewrap = options.sandbox ? await usableBubblewrap() : null;
  if (options.sandbox && !bubblewrap) {
    warnings.push(
      "bubblewrap (/usr/bin/bwrap, Debian's package bubblewrap) is missing or cannot make namespaces here, so local content sees the host's files: install it to hide the data folder from content",
    );
  }
  if (user && user.uid !== 0 && !bubblewrap) await closeDataFolder(options.dataDir);
  const hidden = user ? [await blockedAbove(options.dataDir)] : [options.dataDir];
  return { user, bubblewrap, hidden, warnings };
}

/**
 * The content account reaches its volumes in the data folder through every folder above it; a
 * folder there that others may not pass (a home folder, a private temporary one) is hidden
 * whole instead, and the way to the volumes made anew inside it.
 */
async function blockedAbove(dataDir: string): Promise<string> {
  let hidden = dataDir;
  for (let dir = path.dirname(dataDir); dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (((await stat(dir)).mode & 0o001) === 0) hidden = dir;
  }
  return hidden;
}

async function contentAccount(
  runAs: string,
  rootAllowed: boolean,
  warnings: string[],
): Promise<LocalIsolation["user"]> {
  if (process.getuid?.() !== 0) {
    if (runAs) {
      warnings.push(
        `[Applications] RunAs = ${runAs} is ignored: only a server running as root can run content as another account, so content runs as the server's own`,
      );
    }
    return null;
  }
  const name = runAs || DEFAULT_ACCOUNT;
  let account = await lookUp(name);
  if (!account && name === DEFAULT_ACCOUNT) account = await createAccount(name);
  if (!account) {
    throw new Error(
      `[Applications] RunAs names the account ${name}, which does not exist on this machine: create it or leave RunAs empty for ${DEFAULT_ACCOUNT}`,
    );
  }
  if (account.uid === 0 && !rootAllowed) {
    throw new Error(
      `[Applications] RunAs = ${name} would run content as root, able to read and change everything the server holds: name an unprivileged account, or set RunAsRootAllowed = true`,
    );
  }
  return account.uid === 0 ? null : account;
}

/**
 * Creates the system account. Servers starting on one machine at the same moment race for it:
 * the loser finds the account made, or finds the password file locked (useradd's 10) and tries
 * again once the winner is done.
 */
async function createAccount(name: string): Promise<LocalIsolation["user"]> {
  for (let attempt = 1; ; attempt++) {
    const failure = await run("useradd", [
      "--system",
      "--user-group",
      "--no-create-home",
      "--home-dir",
      "/nonexistent",
      "--shell",
      "/usr/sbin/nologin",
      name,
    ]).then(
      () => null,
      (error: Error & { code?: number }) => error,
    );
    const account = await lookUp(name);
    if (account || !failure) return account;
    if (failure.code !== 10 || attempt === 5) throw failure;
    await sleep(100 * attempt);
  }
}

async function lookUp(name: string): Promise<{ uid: number; gid: number; name: string } | null> {
  const found = await run("getent", ["passwd", name]).then(
    ({ stdout }) => stdout.trim().split(":"),
    () => null,
  );
  if (!found || found.length < 4) return null;
  return { name, uid: Number(found[2]), gid: Number(found[3]) };
}

/** bubblewrap, if it is installed and can make a mount namespace on this machine. */
async function usableBubblewrap(): Promise<string | null> {
  if (!existsSync(BUBBLEWRAP)) return null;
  const works = await run(BUBBLEWRAP, ["--ro-bind", "/", "/", "--", "/bin/true"]).then(
    () => true,
    () => false,
  );
  return works ? BUBBLEWRAP : null;
}

/**
 * Without a namespace, file modes are what is left: the data folder can be passed through but
 * not listed, and the files directly in it (the database and its journal, keys) are the
 * server's alone. Content folders stay readable to whoever knows their guid.
 */
async function closeDataFolder(dataDir: string): Promise<void> {
  await chmod(dataDir, 0o711);
  for (const name of await readdir(dataDir)) {
    const file = path.join(dataDir, name);
    if ((await stat(file)).isFile()) await chmod(file, 0o600);
  }
}
