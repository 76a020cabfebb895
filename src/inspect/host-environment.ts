/**
 * The machine Slipway runs on, as an environment: its own Python, R and Quarto. Registered on
 * a first start with the local runner, so that `npm start` then a deploy works out of the box.
 */
import { execFile } from "node:child_process";
import { access, realpath } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import {
  type EnvironmentCreate,
  type Installations,
  LOCAL_CLUSTER_NAME,
} from "../environments/model.js";
import { isVersion } from "../environments/versions.js";

const run = promisify(execFile);

export const HOST_ENVIRONMENT_NAME = "host";

async function output(file: string, args: string[]): Promise<string | undefined> {
  try {
    const { stdout, stderr } = await run(file, args, { timeout: 15_000 });
    return `${stdout}\n${stderr}`;
  } catch {
    return undefined;
  }
}

async function onPath(
  name: string,
  searchPath = process.env.PATH ?? "",
): Promise<string | undefined> {
  for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, name);
    if (
      await access(candidate).then(
        () => true,
        () => false,
      )
    )
      return candidate;
  }
  return undefined;
}

async function python(): Promise<Installations> {
  const found = (await onPath("python3")) ?? (await onPath("python"));
  if (!found) return null;
  const text = await output(found, [
    "-c",
    "import platform, sys; print(platform.python_version()); print(sys.executable)",
  ]);
  const [version, executable] = text?.trim().split("\n") ?? [];
  if (!version || !isVersion(version) || !executable) return null;
  return { installations: [{ version, path: await realpath(executable).catch(() => executable) }] };
}

async function r(): Promise<Installations> {
  const found = await onPath("Rscript");
  if (!found) return null;
  const text = await output(found, [
    "-e",
    'cat(as.character(getRversion()), file.path(R.home("bin"), "R"), sep = "\\n")',
  ]);
  const [version, executable] = text?.trim().split("\n") ?? [];
  if (!version || !isVersion(version) || !executable) return null;
  return { installations: [{ version, path: executable }] };
}

async function quarto(): Promise<Installations> {
  const found = await onPath("quarto");
  if (!found) return null;
  const version = (await output(found, ["--version"]))?.trim().split("\n")[0];
  if (!version || !isVersion(version)) return null;
  return { installations: [{ version, path: await realpath(found).catch(() => found) }] };
}

export async function hostEnvironment(): Promise<EnvironmentCreate> {
  const [py, rr, q] = await Promise.all([python(), r(), quarto()]);
  const parts = [
    py && `Python ${py.installations[0]!.version}`,
    rr && `R ${rr.installations[0]!.version}`,
    q && `Quarto ${q.installations[0]!.version}`,
  ].filter(Boolean);
  return {
    name: HOST_ENVIRONMENT_NAME,
    cluster_name: LOCAL_CLUSTER_NAME,
    title: "This machine",
    description: `The interpreters installed on the Slipway host${parts.length ? `: ${parts.join(", ")}` : ""}.`,
    matching: "any",
    python: py,
    r: rr,
    quarto: q,
  };
}
