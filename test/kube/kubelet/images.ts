/**
 * Image pulls against the local engine, by the container's imagePullPolicy, with the
 * registry credentials of the pod's imagePullSecrets (kubernetes.io/dockerconfigjson).
 */
import type Docker from "dockerode";
import type { KubeObject } from "../types.js";

export class PullError extends Error {}
export class NeverPullError extends Error {}

export interface PullResult {
  /** Whether a pull happened (false: the image was present). */
  pulled: boolean;
  ms: number;
  size: number;
}

export async function present(
  docker: Docker,
  image: string,
): Promise<{ size: number; user: string; id: string } | undefined> {
  try {
    const info = await docker.getImage(image).inspect();
    return { size: info.Size, user: info.Config?.User ?? "", id: info.Id };
  } catch {
    return undefined;
  }
}

export async function ensureImage(
  docker: Docker,
  image: string,
  policy: string,
  secrets: KubeObject[],
): Promise<PullResult> {
  const local = await present(docker, image);
  if (policy === "Never") {
    if (!local)
      throw new NeverPullError(
        `Container image "${image}" is not present with pull policy of Never`,
      );
    return { pulled: false, ms: 0, size: local.size };
  }
  if (local && policy === "IfNotPresent") return { pulled: false, ms: 0, size: local.size };
  const started = Date.now();
  const authconfig = credentialsFor(image, secrets);
  await new Promise<void>((resolve, reject) => {
    docker.pull(
      image,
      authconfig ? { authconfig } : {},
      (error: Error | null, stream?: NodeJS.ReadableStream) => {
        if (error || !stream) return reject(new PullError(cleanMessage(error)));
        docker.modem.followProgress(stream, (err: Error | null, output: { error?: string }[]) => {
          const failed = err ?? output.find((o) => o.error);
          if (failed)
            reject(
              new PullError(
                cleanMessage(failed instanceof Error ? failed : new Error(failed.error)),
              ),
            );
          else resolve();
        });
      },
    );
  });
  const after = await present(docker, image);
  return { pulled: true, ms: Date.now() - started, size: after?.size ?? 0 };
}

function cleanMessage(error: Error | null): string {
  const text =
    (error as { json?: { message?: string } } | null)?.json?.message ??
    error?.message ??
    "unknown error";
  return text.replace(/^\(HTTP code \d+\) [a-z ]+ - /, "");
}

function registryOf(image: string): string {
  const first = image.split("/")[0]!;
  return image.includes("/") &&
    (first.includes(".") || first.includes(":") || first === "localhost")
    ? first
    : "docker.io";
}

/** The registry credentials for `image` from kubernetes.io/dockerconfigjson Secrets, if any match its registry. */
export function credentialsFor(
  image: string,
  secrets: KubeObject[],
): { username: string; password: string; serveraddress: string } | undefined {
  const registry = registryOf(image);
  for (const secret of secrets) {
    const raw = (secret.data as Record<string, string> | undefined)?.[".dockerconfigjson"];
    if (!raw) continue;
    const config = JSON.parse(Buffer.from(raw, "base64").toString("utf8")) as {
      auths?: Record<string, { username?: string; password?: string; auth?: string }>;
    };
    for (const [server, entry] of Object.entries(config.auths ?? {})) {
      if (server.replace(/^https?:\/\//, "").replace(/\/.*$/, "") !== registry) continue;
      const [username, password] = entry.auth
        ? Buffer.from(entry.auth, "base64").toString("utf8").split(/:(.*)/s)
        : [entry.username, entry.password];
      return { username: username ?? "", password: password ?? "", serveraddress: server };
    }
  }
  return undefined;
}
