/**
 * Finds the Python, R and Quarto installations of an image, by one of three methods:
 * probe (run a script in a container of the image), static (read its layers, run nothing),
 * or host (run the script on this machine).
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type Docker from "dockerode";
import { readImageArchive, readImageStream } from "./image-archive.js";
import { findInstallations } from "./layers.js";
import type { Findings } from "./locations.js";
import { parseProbeOutput } from "./parse-probe.js";
import { probeScript } from "./probe-script.js";

export interface InspectOptions {
  pathLookups: boolean;
  /** Called with a short line for each step, for progress on standard error. */
  progress?: (line: string) => void;
  /** How long the probe may run before its container is killed (default 60 s). */
  probeTimeoutMs?: number;
}

/** Runs the probe script in a throwaway container of the image, pulling it only if absent. */
export async function probeImage(
  docker: Docker,
  image: string,
  options: InspectOptions,
): Promise<Findings> {
  const progress = options.progress ?? (() => {});
  await pullIfAbsent(docker, image, progress);
  progress(`probing ${image}`);
  const container = await docker.createContainer({
    Image: image,
    Entrypoint: ["/bin/sh", "-c", probeScript(options.pathLookups)],
    Cmd: [],
    User: "0",
    NetworkDisabled: true,
    HostConfig: { NetworkMode: "none" },
  });
  let timer: NodeJS.Timeout | undefined;
  try {
    await container.start().catch((error: Error) => {
      throw /\/bin\/sh|no such file/i.test(error.message)
        ? new Error("the image has no /bin/sh to run the probe with; inspect it with --static")
        : error;
    });
    const timeoutMs = options.probeTimeoutMs ?? 60_000;
    await Promise.race([
      container.wait(),
      new Promise((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`the probe did not finish within ${timeoutMs / 1000} s`)),
          timeoutMs,
        );
      }),
    ]);
    const logs = (await container.logs({ stdout: true, stderr: false, follow: false })) as Buffer;
    return parseProbeOutput(demultiplex(logs));
  } finally {
    clearTimeout(timer);
    await container.remove({ force: true }).catch(() => {});
  }
}

/**
 * Pulls the image unless the engine has it (a present image is never re-pulled), reporting
 * layers as they complete; an error inside the pull's stream fails it.
 */
async function pullIfAbsent(docker: Docker, image: string, progress: (line: string) => void) {
  const present = await docker
    .getImage(image)
    .inspect()
    .then(
      () => true,
      () => false,
    );
  if (present) return;
  progress(`pulling ${image}`);
  const layers = new Set<string>();
  const done = new Set<string>();
  const stream = await docker.pull(image);
  await new Promise<void>((resolve, reject) => {
    let failure: Error | undefined;
    docker.modem.followProgress(
      stream,
      (error: Error | null) => (error || failure ? reject(error ?? failure) : resolve()),
      (event: { id?: string; status?: string; error?: string }) => {
        if (event.error) failure = new Error(event.error);
        if (!event.id || !event.status || !/layer|exists|complete|waiting/i.test(event.status))
          return;
        layers.add(event.id);
        if (/Pull complete|Already exists/.test(event.status) && !done.has(event.id)) {
          done.add(event.id);
          progress(`pulling ${image}: ${done.size}/${layers.size} layers`);
        }
      },
    );
  });
}

/** Reads the image's layers from the engine's save stream, or from an archive or layout. */
export async function staticImage(
  source: { docker: Docker; image: string } | { archive: string },
  options: InspectOptions,
): Promise<Findings & { name: string | undefined }> {
  const progress = options.progress ?? (() => {});
  let files: Awaited<ReturnType<typeof readImageArchive>>;
  if ("archive" in source) {
    progress(`reading the layers of ${source.archive}`);
    files = await readImageArchive(source.archive);
  } else {
    await pullIfAbsent(source.docker, source.image, progress);
    progress(`reading the layers of ${source.image}`);
    files = await readImageStream(await source.docker.getImage(source.image).get());
  }
  return {
    ...findInstallations(files.tree, files.searchPath, options.pathLookups),
    name: files.name,
  };
}

/** Runs the probe script on this machine. */
export async function inspectHost(options: InspectOptions): Promise<Findings> {
  const { stdout } = await promisify(execFile)(
    "/bin/sh",
    ["-c", probeScript(options.pathLookups)],
    { timeout: options.probeTimeoutMs ?? 60_000 },
  );
  return parseProbeOutput(stdout);
}

/** Docker multiplexes stdout and stderr in 8-byte-headed frames when there is no TTY. */
function demultiplex(buffer: Buffer): string {
  let out = "";
  for (let i = 0; i + 8 <= buffer.length; ) {
    const size = buffer.readUInt32BE(i + 4);
    out += buffer.subarray(i + 8, i + 8 + size).toString("utf8");
    i += 8 + size;
  }
  return out;
}
