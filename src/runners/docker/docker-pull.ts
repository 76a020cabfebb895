/**
 * Making sure a job's image is on the engine, by the pull policy: pulled when absent, always,
 * or never, with the registry's credentials from a Docker config file. Progress comes as lines
 * (layers, bytes, elapsed time), and a pull that cannot succeed fails with the registry's words.
 */
import type Docker from "dockerode";
import { type ImagePull, type PullPolicy, StartFailed } from "../runner.js";

export interface PullOptions {
  /** A parsed Docker config.json, or null for anonymous pulls. */
  registryConfig: unknown;
  onProgress: (line: string) => void;
  onPulled?: (pull: ImagePull) => void;
}

/** Progress lines are written at most this often while layers download. */
const PROGRESS_EVERY_MS = 1000;

export async function pullImage(
  docker: Docker,
  image: string,
  policy: PullPolicy,
  options: PullOptions,
): Promise<void> {
  const present = await docker
    .getImage(image)
    .inspect()
    .then(
      () => true,
      () => false,
    );
  if (policy === "never" || (policy === "if-not-present" && present)) {
    if (!present) {
      throw new StartFailed(
        `The image ${image} is not on the container engine, and its pull policy is never.`,
      );
    }
    return;
  }
  const started = Date.now();
  const seconds = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  options.onProgress(`Pulling ${image}`);
  const layers = new Map<string, { current: number; total: number; done: boolean }>();
  let lastLine = 0;
  const report = () => {
    const all = [...layers.values()];
    const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
    const current = all.reduce((sum, l) => sum + l.current, 0);
    const total = all.reduce((sum, l) => sum + l.total, 0);
    options.onProgress(
      `Pulling ${image}: ${all.filter((l) => l.done).length}/${all.length} layers, ${mb(current)} of ${mb(total)} MB, ${seconds()}`,
    );
  };
  try {
    const stream = await docker.pull(image, {
      authconfig: credentials(image, options.registryConfig),
    });
    await new Promise<void>((resolve, reject) => {
      docker.modem.followProgress(
        stream,
        (error: Error | null) => (error ? reject(error) : resolve()),
        (event: ProgressEvent) => {
          if (event.error) return reject(new Error(event.errorDetail?.message ?? event.error));
          if (!event.id) return;
          const layer = layers.get(event.id) ?? { current: 0, total: 0, done: false };
          if (event.progressDetail?.total) {
            layer.current = event.progressDetail.current ?? layer.current;
            layer.total = event.progressDetail.total;
          }
          if (/^(Pull complete|Already exists|Download complete)$/.test(event.status ?? "")) {
            layer.done = true;
            layer.current = layer.total;
          }
          layers.set(event.id, layer);
          if (Date.now() - lastLine >= PROGRESS_EVERY_MS) {
            lastLine = Date.now();
            report();
          }
        },
      );
    });
  } catch (error) {
    options.onPulled?.({ image, seconds: (Date.now() - started) / 1000, ok: false });
    const json = (error as { json?: { message?: string } }).json;
    throw new StartFailed(
      `Pulling the image ${image} failed after ${seconds()}: ${(json?.message ?? (error as Error).message).trim()}`,
    );
  }
  if (layers.size > 0) report();
  options.onPulled?.({ image, seconds: (Date.now() - started) / 1000, ok: true });
  options.onProgress(`Pulled ${image} in ${seconds()}`);
}

interface ProgressEvent {
  id?: string;
  status?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
}

/** The registry an image comes from, as Docker config files name it. */
export function registryOf(image: string): string {
  const first = image.split("/")[0]!;
  const isHost =
    image.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost");
  return isHost ? first : "https://index.docker.io/v1/";
}

/** The image's registry credentials from a Docker config file, if it holds any. */
export function credentials(image: string, config: unknown): Record<string, string> | undefined {
  const auths = (
    config as {
      auths?: Record<string, { auth?: string; username?: string; password?: string }>;
    } | null
  )?.auths;
  if (!auths) return undefined;
  const registry = registryOf(image);
  const entry =
    auths[registry] ??
    Object.entries(auths).find(
      ([key]) => key.replace(/^https?:\/\//, "").split("/")[0] === registry,
    )?.[1];
  if (!entry) return undefined;
  if (entry.auth) {
    const decoded = Buffer.from(entry.auth, "base64").toString("utf8");
    const at = decoded.indexOf(":");
    return {
      username: decoded.slice(0, at),
      password: decoded.slice(at + 1),
      serveraddress: registry,
    };
  }
  if (entry.username && entry.password) {
    return { username: entry.username, password: entry.password, serveraddress: registry };
  }
  return undefined;
}
