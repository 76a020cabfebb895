import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import type { Command } from "commander";
import { create as createTar } from "tar";
import { followTask, type TaskPage } from "../../content/task-follow.js";
import { ApiClient, type ServerOptions } from "../api-client.js";
import { action } from "../run-command.js";

interface DeployOptions extends ServerOptions {
  image?: string;
  name?: string;
  title?: string;
  appMode?: string;
  entrypoint?: string;
}

export function registerDeployCommand(program: Command): void {
  program
    .command("deploy <dir>")
    .description(
      "Bundle a folder (writing manifest.json if missing), upload it and deploy it, following the log",
    )
    .option("--server <url>", "Slipway or Connect server (default: $CONNECT_SERVER)")
    .option("--api-key <key>", "API key (default: $CONNECT_API_KEY)")
    .option(
      "--image <image>",
      "pin the content to the environment of this image (manifest environment.image)",
    )
    .option("--name <name>", "content name (default: the folder's name)")
    .option("--title <title>", "content title")
    .option(
      "--app-mode <mode>",
      "app mode when writing a manifest (default: guessed from the files)",
    )
    .option("--entrypoint <entry>", "entrypoint when writing a manifest, such as app:app")
    .action(
      action(async (dir: string, options: DeployOptions) => {
        const client = new ApiClient(options);
        const root = path.resolve(dir);
        const manifest = await ensureManifest(root, options);
        progress(`Bundling ${root} (${manifest.metadata.appmode})`);
        const archive = await bundle(root);
        const name = options.name ?? sanitize(path.basename(root));
        const existing = await client.request<Array<{ guid: string }>>(
          "GET",
          `/v1/content?name=${encodeURIComponent(name)}`,
        );
        const content =
          existing[0] ??
          (await client.request<{ guid: string }>("POST", "/v1/content", {
            name,
            ...(options.title ? { title: options.title } : {}),
          }));
        progress(`Uploading ${(archive.length / 1024).toFixed(1)} KiB to content ${content.guid}`);
        const uploaded = await client.upload<{ id: string }>(
          `/v1/content/${content.guid}/bundles`,
          archive,
        );
        const { task_id } = await client.request<{ task_id: string }>(
          "POST",
          `/v1/content/${content.guid}/deploy`,
          {
            bundle_id: uploaded.id,
          },
        );
        const task = await followTask(
          task_id,
          (path) => client.request<TaskPage>("GET", path),
          (lines) => {
            for (const line of lines) process.stdout.write(`${line}\n`);
          },
        );
        if (task!.code !== 0) throw new Error(`Deploy failed (code ${task!.code}): ${task!.error}`);
        const item = await client.request<{ content_url: string }>(
          "GET",
          `/v1/content/${content.guid}`,
        );
        progress(`Deployed: ${item.content_url}`);
      }),
    );
}

function progress(text: string): void {
  process.stderr.write(`[slipway] ${text}\n`);
}

async function ensureManifest(
  root: string,
  options: DeployOptions,
): Promise<{ metadata: { appmode: string } }> {
  const file = path.join(root, "manifest.json");
  const existing = await readFile(file, "utf8").catch(() => undefined);
  if (existing) {
    const manifest = JSON.parse(existing);
    if (options.image) {
      manifest.environment = { ...manifest.environment, image: options.image };
      await writeFile(file, `${JSON.stringify(manifest, null, 2)}\n`);
    }
    return manifest;
  }
  const files = await listFiles(root);
  const guessed = guessAppMode(
    files,
    await readFile(path.join(root, "requirements.txt"), "utf8").catch(() => ""),
  );
  const appmode = options.appMode ?? guessed.appmode;
  const manifest: Record<string, unknown> = {
    version: 1,
    metadata: { appmode, entrypoint: options.entrypoint ?? guessed.entrypoint },
    files: Object.fromEntries(
      await Promise.all(
        files.map(async (f) => [
          f,
          {
            checksum: createHash("md5")
              .update(await readFile(path.join(root, f)))
              .digest("hex"),
          },
        ]),
      ),
    ),
  };
  if (appmode.startsWith("python-") || appmode.startsWith("jupyter-")) {
    manifest.python = {
      version: await localPythonVersion(),
      package_manager: { name: "pip", package_file: "requirements.txt" },
    };
  }
  if (options.image) manifest.environment = { image: options.image };
  await writeFile(file, `${JSON.stringify(manifest, null, 2)}\n`);
  progress(`Wrote ${file} (app mode ${appmode})`);
  return manifest as { metadata: { appmode: string } };
}

/** A best guess from the files, as the Connect clients make it; --app-mode overrides it. */
export function guessAppMode(
  files: string[],
  requirements: string,
): { appmode: string; entrypoint?: string } {
  const has = (name: string) => files.includes(name);
  const python = ["app.py", "main.py", "api.py"].find(has);
  if (python) {
    const module = python.replace(/\.py$/, "");
    if (/^\s*fastapi\b/im.test(requirements))
      return { appmode: "python-fastapi", entrypoint: `${module}:app` };
    if (/^\s*shiny\b/im.test(requirements))
      return { appmode: "python-shiny", entrypoint: `${module}:app` };
    if (/^\s*streamlit\b/im.test(requirements))
      return { appmode: "python-streamlit", entrypoint: python };
    if (/^\s*dash\b/im.test(requirements))
      return { appmode: "python-dash", entrypoint: `${module}:app` };
    return { appmode: "python-api", entrypoint: `${module}:app` };
  }
  if (has("app.R") || (has("ui.R") && has("server.R"))) return { appmode: "shiny" };
  if (has("plumber.R")) return { appmode: "api", entrypoint: "plumber.R" };
  const first = (ext: string) => files.find((f) => f.endsWith(ext) && !f.includes("/"));
  if (first(".qmd")) return { appmode: "quarto-static", entrypoint: first(".qmd") };
  if (first(".Rmd")) return { appmode: "rmd-static", entrypoint: first(".Rmd") };
  if (first(".ipynb")) return { appmode: "jupyter-static", entrypoint: first(".ipynb") };
  return { appmode: "static", entrypoint: has("index.html") ? "index.html" : first(".html") };
}

async function localPythonVersion(): Promise<string | undefined> {
  try {
    const { stdout } = await promisify(execFile)("python3", [
      "-c",
      "import platform; print(platform.python_version())",
    ]);
    return stdout.trim();
  } catch {
    return undefined;
  }
}

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .filter(
      (f) =>
        !f
          .split(path.sep)
          .some(
            (part) => part.startsWith(".") || part === "__pycache__" || part === "node_modules",
          ),
    )
    .filter((f) => f !== "manifest.json")
    .sort();
}

async function bundle(root: string): Promise<Buffer> {
  const files = ["manifest.json", ...(await listFiles(root))];
  const chunks: Buffer[] = [];
  for await (const chunk of createTar({ gzip: true, cwd: root, portable: true }, files))
    chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function sanitize(name: string): string {
  return name.replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 64) || "content";
}
