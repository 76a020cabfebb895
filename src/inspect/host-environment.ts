/**
 * The machine Slipway runs on, as an environment: its own Python, R and Quarto. Registered on
 * a first start with the local runner, so that `npm start` then a deploy works out of the box.
 * The interpreters are looked for as the account content runs as: the server's own may lie
 * where that account cannot reach (a pyenv under /root), and the next one on PATH serves.
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

type Account = { uid: number; gid: number } | null;

async function output(file: string, args: string[], as: Account): Promise<string | undefined> {
  try {
    const { stdout, stderr } = await run(file, args, { timeout: 15_000, ...(as ?? {}) });
    return `${stdout}\n${stderr}`;
  } catch {
    return undefined;
  }
}

/** The first of the programs named `names`, in PATH order, whose probe answers. */
async function firstAnswering<T>(
  names: readonly string[],
  probe: (file: string) => Promise<T | null>,
  searchPath = process.env.PATH ?? "",
): Promise<T | null> {
  for (const name of names) {
    for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
      const candidate = path.join(dir, name);
      const found = await access(candidate).then(
        () => probe(candidate),
        () => null,
      );
      if (found) return found;
    }
  }
  return null;
}

function python(as: Account): Promise<Installations> {
  return firstAnswering(["python3", "python"], async (found) => {
    const text = await output(
      found,
      ["-c", "import platform, sys; print(platform.python_version()); print(sys.executable)"],
      as,
    );
    const [version, executable] = text?.trim().split("\n") ?? [];
    if (!version || !isVersion(version) || !executable) return null;
    return {
      installations: [{ version, path: await realpath(executable).catch(() => executable) }],
    };
  });
}

function r(as: Account): Promise<Installations> {
  return firstAnswering(["Rscript"], async (found) => {
    const text = await output(
      found,
      ["-e", 'cat(as.character(getRversion()), file.path(R.home("bin"), "R"), sep = "\\n")'],
      as,
    );
    const [version, executable] = text?.trim().split("\n") ?? [];
    if (!version || !isVersion(version) || !executable) return null;
    return { installations: [{ version, path: executable }] };
  });
}

function quarto(as: Account): Promise<Installations> {
  return firstAnswering(["quarto"], async (found) => {
    const version = (await output(found, ["--version"], as))?.trim().split("\n")[0];
    if (!version || !isVersion(version)) return null;
    return { installations: [{ version, path: await realpath(found).catch(() => found) }] };
  });
}

/** `as`: the account content runs as, when it is not the server's own. */
export async function hostEnvironment(as: Account = null): Promise<EnvironmentCreate> {
  const [py, rr, q] = await Promise.all([python(as), r(as), quarto(as)]);
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
