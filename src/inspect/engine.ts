/** The container engine (Docker, or Podman's compatible socket) the inspector talks to. */
import { existsSync } from "node:fs";
import Docker from "dockerode";

const SOCKETS = ["/var/run/docker.sock", "/run/podman/podman.sock"];

/** A client for DOCKER_HOST, or else the first engine socket that exists; undefined if none. */
export function engine(): Docker | undefined {
  // dockerode reads DOCKER_HOST (and DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) by itself.
  if (process.env.DOCKER_HOST) return new Docker();
  const socketPath = SOCKETS.find((socket) => existsSync(socket));
  return socketPath ? new Docker({ socketPath }) : undefined;
}

/** An engine that answers, or an error saying where one was looked for and what else works. */
export async function connectEngine(): Promise<Docker> {
  const docker = engine();
  const where = process.env.DOCKER_HOST
    ? `DOCKER_HOST=${process.env.DOCKER_HOST}`
    : SOCKETS.join(" or ");
  const alternative = "or read a saved image with --static --archive FILE";
  if (!docker) throw new Error(`no Docker or Podman engine at ${where}; start one, ${alternative}`);
  try {
    await docker.ping();
  } catch (error) {
    throw new Error(
      `the engine at ${where} does not answer (${(error as Error).message}); start it, ${alternative}`,
    );
  }
  return docker;
}

/** An engine error's own sentence, without dockerode's "(HTTP code 404) unexpected - " prefix. */
export function engineMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^\(HTTP code \d+\) [\w ]+ - /, "").trim();
}
