/**
 * The `git` program, for git-backed content: the commit a branch points at, and that commit's
 * folder as a gzip tar. Always argument arrays, a `--` before the repository, no prompts, only
 * the network transports (never `ext::`, which runs commands), and a deadline.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

export interface Git {
  /** The program to run. */
  executable: string;
  timeoutMs: number;
  /** Whether file:// repositories (the server's own disk) may be used. */
  allowLocal: boolean;
}

/** A git command that failed: what it said on standard error, in its own words. */
export class GitError extends Error {
  constructor(
    message: string,
    readonly reason: "unreachable" | "no-branch" | "no-directory" | "failed",
  ) {
    super(message);
    this.name = "GitError";
  }
}

const SCHEMES = ["https", "http", "git", "ssh", "file"];

/** Why a repository URL is refused, or undefined when git may be pointed at it. */
export function repositoryProblem(url: string, allowLocal: boolean): string | undefined {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\/[^\s]+$/i.exec(url)?.[1]?.toLowerCase();
  if (!scheme) return "must be a URL such as https://host/org/repo.git";
  const allowed = allowLocal ? SCHEMES : SCHEMES.filter((s) => s !== "file");
  if (!allowed.includes(scheme)) {
    const hint = scheme === "file" ? " ([Git] AllowLocalRepositories is off)" : "";
    return `must use one of ${allowed.join(", ")}, not ${scheme}${hint}`;
  }
  return undefined;
}

/** Why a branch name is refused: git's own ref rules, as far as a name alone can tell. */
export function branchProblem(branch: string): string | undefined {
  const bad =
    branch.length === 0 ||
    branch.length > 255 ||
    branch.startsWith("-") ||
    branch.startsWith("/") ||
    branch.endsWith("/") ||
    branch.endsWith(".lock") ||
    branch.endsWith(".") ||
    /\.\.|@\{|\/\/|\/\./.test(branch) ||
    /[\s~^:?*[\\]/.test(branch) ||
    [...branch].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f);
  return bad ? "must be a git branch name such as main or release/1.2" : undefined;
}

/** Why a folder inside the repository is refused: it must be relative and stay inside. */
export function directoryProblem(directory: string): string | undefined {
  const parts = directory.split("/");
  const bad =
    directory.length > 1024 ||
    directory.startsWith("/") ||
    directory.includes("\u0000") ||
    directory.includes("\\") ||
    parts.includes("..");
  return bad ? "must be a folder inside the repository, such as . or apps/report" : undefined;
}

/** The commit the branch points at now. */
export async function branchHead(git: Git, url: string, branch: string): Promise<string> {
  const output = await run(git, ["ls-remote", "--heads", "--", url, `refs/heads/${branch}`]);
  const line = output
    .split("\n")
    .find((l) => l.endsWith(`\trefs/heads/${branch}`))
    ?.split("\t")[0];
  if (!line || !/^[0-9a-f]{40,64}$/.test(line)) {
    throw new GitError(`the repository has no branch "${branch}"`, "no-branch");
  }
  return line;
}

/**
 * Clones the branch's newest commit and writes `directory` of it, as a gzip tar with the
 * folder's contents at its root, to `archive`. Returns the commit.
 */
export async function archiveBranch(
  git: Git,
  source: { url: string; branch: string; directory: string },
  archive: string,
): Promise<string> {
  const checkout = await mkdtemp(path.join(tmpdir(), "slipway-git-"));
  try {
    await run(git, [
      "clone",
      "--quiet",
      "--no-checkout",
      "--depth",
      "1",
      "--single-branch",
      "--branch",
      source.branch,
      "--",
      source.url,
      checkout,
    ]);
    const commit = (await run(git, ["-C", checkout, "rev-parse", "HEAD"])).trim();
    const folder = path.posix.normalize(source.directory).replace(/\/$/, "");
    // A tree, not the commit, so the archive carries no pax header naming the commit.
    const tree = folder === "." ? "HEAD^{tree}" : `HEAD:${folder}`;
    const kind = await run(git, ["-C", checkout, "cat-file", "-t", tree]).catch(() => "");
    if (kind.trim() !== "tree") {
      throw new GitError(`the branch has no folder "${source.directory}"`, "no-directory");
    }
    await run(git, ["-C", checkout, "archive", "--format=tar.gz", "-o", archive, tree]);
    return commit;
  } finally {
    await rm(checkout, { recursive: true, force: true });
  }
}

function run(git: Git, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      git.executable,
      [
        "-c",
        "protocol.allow=never",
        ...SCHEMES.filter((s) => git.allowLocal || s !== "file").flatMap((s) => [
          "-c",
          `protocol.${s}.allow=always`,
        ]),
        ...args,
      ],
      {
        timeout: git.timeoutMs,
        maxBuffer: 16 * 1024 * 1024,
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: tmpdir(),
          GIT_TERMINAL_PROMPT: "0",
          GIT_CONFIG_NOSYSTEM: "1",
          GIT_CONFIG_GLOBAL: "/dev/null",
          GIT_ASKPASS: "/bin/false",
          GIT_SSH_COMMAND: "ssh -o BatchMode=yes",
        },
      },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout);
        const said = stderr.trim().split("\n").slice(-3).join(" ").trim();
        const why = error.killed
          ? `timed out after ${git.timeoutMs / 1000} s`
          : said || error.message;
        const unreachable =
          /not a git repository|does not appear to be a git repository|could not read|unable to access|Could not resolve|Connection refused|repository .* not found|timed out/i.test(
            why,
          );
        reject(
          new GitError(`git ${args[0]} failed: ${why}`, unreachable ? "unreachable" : "failed"),
        );
      },
    );
  });
}
