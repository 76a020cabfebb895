/** The container engine (Docker or Podman's compatible socket) the inspector talks to. */
import { existsSync } from "node:fs";
import Docker from "dockerode";

/** An engine client when one is configured or its socket exists, otherwise undefined. */
export function engine(env: NodeJS.ProcessEnv = process.env): Docker | undefined {
  if (env.DOCKER_HOST) return new Docker();
  for (const socketPath of ["/var/run/docker.sock", "/run/podman/podman.sock"]) {
    if (existsSync(socketPath)) return new Docker({ socketPath });
  }
  return undefined;
}
