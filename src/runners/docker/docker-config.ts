/** Options of the Docker runner, which runs jobs as containers of a Docker or Podman engine. */
import type { PullPolicy } from "../runner.js";

export interface DockerConfig {
  /**
   * The engine: a unix socket path (`/var/run/docker.sock`, Podman's
   * `/run/podman/podman.sock`) or an http(s) URL of its API.
   */
  host: string;
  /**
   * The data volume on the engine's host: the server's data folder. Each data sub-path a job
   * mounts is bound from here, so the engine must run on the server's host (or share the folder).
   */
  dataDir: string;
  /** Names this installation of Slipway on the engine: every container it makes is labelled with it. */
  instance: string;
  /** The content-init image whose entrypoint copies the runtime components into a job's runtime volume. */
  initImage: string;
  /**
   * How containers reach the network: `bridge` publishes each job's ports on 127.0.0.1 of the
   * engine's host; `host` shares the host's network (for engines without a bridge, as on
   * machines where the engine runs with `--bridge=none`); `auto` picks bridge when the engine
   * has one.
   */
  network?: "auto" | "bridge" | "host";
  /** The account content runs as inside containers: never root. */
  user?: { uid: number; gid: number };
  /** When to pull images whose environment does not say. */
  pullPolicy?: PullPolicy;
  /** A Docker config.json holding registry credentials (`auths`), read for each pull. */
  registryConfig?: string | null;
  /** How long `stop` waits after SIGTERM before the engine kills the container. */
  stopGraceMs?: number;
}

export const DOCKER_DEFAULTS = {
  network: "auto",
  user: { uid: 10001, gid: 10001 },
  pullPolicy: "if-not-present",
  registryConfig: null,
  stopGraceMs: 5000,
} as const satisfies Partial<DockerConfig>;

/** Where jobs see their volumes inside containers. */
export const DOCKER_PATHS = { data: "/slipway/data", runtime: "/opt/slipway-runtime" } as const;

/** Where the content-init image copies the runtime components to, inside its own container. */
export const INIT_TARGET = "/mnt/slipway-runtime";

/** The label prefix of everything the runner makes. */
export const LABEL = "io.slipway";
