/**
 * Finds the Python, R and Quarto installations of an image, by one of three methods:
 * probe (run a script in a container of the image), static (read its layers, run nothing),
 * or host (run the script on this machine).
 */
import { execFile } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import type Docker from "dockerode";
import { readImageArchive } from "./image-archive.js";
import { findInstallations } from "./layers.js";
import type { Findings } from "./locations.js";
import { parseProbeOutput } from "./parse-probe.js";
import { probeScript } from "./probe-script.js";

export interface InspectOptions {
  pathLookups: boolean;
  /** Called with a short line for each step, for progress on standard error. */
  progress?: (line: string) => void;
}

/** Runs the probe script in a throwaway container of the image, pulling it only if absent. */
export async function probeImage(
  docker: Docker,
  image: string,
  options: InspectOptions,
): Promise<Findings> {
  const progress = options.progress ?? (() => {});
  const present = await docker
    .getImage(image)
    .inspect()
    .then(
      () => true,
      () => false,
    );
  if (!present) {
    progress(`pulling ${image}`);
    const stream = await docker.pull(image);
    await new Promise<void>((resolve, reject) =>
      docker.modem.followProgress(stream, (error: Error | null) =>
        error ? reject(error) : resolve(),
      ),
    );
  }
  progress(`probing ${image}`);
  const container = await docker.createContainer({
    Image: image,
    Entrypoint: ["/bin/sh", "-c", probeScript(options.pathLookups)],
    Cmd: [],
    User: "0",
    NetworkDisabled: true,
    HostConfig: { NetworkMode: "none" },
  });
  try {
    await container.start();
    await container.wait();
    const logs = (await container.logs({ stdout: true, stderr: true, follow: false })) as Buffer;
    return parseProbeOutput(demultiplex(logs));
  } finally {
    await container.remove({ force: true }).catch(() => {});
  }
}

/** Reads the image's layers from the engine's save stream, or from an archive or layout. */
export async function staticImage(
  source: { docker?: Docker; image?: string; archive?: string },
  options: InspectOptions,
): Promise<Findings & { name: string | undefined }> {
  const progress = options.progress ?? (() => {});
  let archive = source.archive;
  let scratch: string | undefined;
  try {
    if (!archive) {
      if (!source.docker || !source.image)
        throw new Error("static inspection needs an engine or an archive");
      scratch = await mkdtemp(path.join(tmpdir(), "slipway-save-"));
      archive = path.join(scratch, "image.tar");
      progress(`saving ${source.image}`);
      await pipeline(await source.docker.getImage(source.image).get(), createWriteStream(archive));
    }
    progress(`reading the layers of ${source.image ?? archive}`);
    const { tree, searchPath, name } = await readImageArchive(archive);
    return { ...findInstallations(tree, searchPath, options.pathLookups), name };
  } finally {
    if (scratch) await rm(scratch, { recursive: true, force: true });
  }
}

/** Runs the probe script on this machine. */
export async function inspectHost(options: InspectOptions): Promise<Findings> {
  const { stdout } = await promisify(execFile)(
    "/bin/sh",
    ["-c", probeScript(options.pathLookups)],
    { timeout: 60_000 },
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
