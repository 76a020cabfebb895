/**
 * Turns a job into the container create bodies of the Docker Engine API (which Podman's
 * compatible API takes too): the job's container and, when it needs Slipway's runtime
 * components, the content-init container that fills its runtime volume first. Pure.
 */
import path from "node:path";
import type { ContainerCreateOptions } from "dockerode";
import { type Job, portVariable, UnsupportedByBackend } from "../runner.js";
import { DOCKER_PATHS, INIT_TARGET, LABEL } from "./docker-config.js";

export interface DockerSpawn {
  dataDir: string;
  instance: string;
  initImage: string;
  network: "bridge" | "host";
  user: { uid: number; gid: number };
  /** With host networking, the free host ports picked for the job's ports, by name. */
  hostPorts: Readonly<Record<string, number>>;
  /** The job's runtime volume, when it asks for the runtime components. */
  runtimeVolume: string | null;
  /** Whether the engine offers NVIDIA GPUs to containers. */
  nvidia: boolean;
}

export interface ContainerSpecs {
  main: ContainerCreateOptions & { name: string };
  init: (ContainerCreateOptions & { name: string }) | null;
}

export function labelsOf(job: Job, instance: string): Record<string, string> {
  const labels: Record<string, string> = { [`${LABEL}.job`]: job.name };
  for (const [key, value] of Object.entries({ ...job.labels, instance })) {
    labels[`${LABEL}.${key}`] = value;
  }
  return labels;
}

export function containerSpecs(job: Job, spawn: DockerSpawn): ContainerSpecs {
  if (job.image === null) {
    throw new UnsupportedByBackend(
      "docker",
      "run content on the server's own host (an environment of the Local cluster); give the environment an image",
    );
  }
  const argv = job.supervisor ? [job.supervisor, ...job.argv] : [...job.argv];
  if (argv.length === 0) throw new UnsupportedByBackend("docker", "run a job with no command");
  const labels = labelsOf(job, spawn.instance);
  const mounts: NonNullable<NonNullable<ContainerCreateOptions["HostConfig"]>["Mounts"]> = [];
  for (const volume of job.volumes) {
    if (volume.kind === "data") {
      mounts.push({
        Type: "bind",
        Source: path.join(spawn.dataDir, volume.subPath),
        Target: path.join(DOCKER_PATHS.data, volume.subPath),
        ReadOnly: volume.readOnly,
      });
    } else if (volume.kind === "host") {
      mounts.push({
        Type: "bind",
        Source: volume.path,
        Target: volume.target,
        ReadOnly: volume.readOnly,
      });
    } else if (volume.kind === "claim") {
      mounts.push({
        Type: "volume",
        Source: volume.claim,
        Target: volume.target,
        ReadOnly: volume.readOnly,
      });
    } else {
      // An anonymous volume of the local driver mounts the export, and goes with the container.
      mounts.push({
        Type: "volume",
        Source: "",
        Target: volume.target,
        ReadOnly: volume.readOnly,
        VolumeOptions: {
          NoCopy: true,
          Labels: {},
          DriverConfig: {
            Name: "local",
            Options: {
              type: "nfs",
              o: `addr=${volume.server}${volume.readOnly ? ",ro" : ""}`,
              device: `:${volume.path}`,
            },
          },
        },
      });
    }
  }
  if (job.runtime) {
    if (!spawn.runtimeVolume) throw new Error("a job with runtime components needs its volume");
    mounts.push({
      Type: "volume",
      Source: spawn.runtimeVolume,
      Target: DOCKER_PATHS.runtime,
      ReadOnly: true,
    });
  }

  const env: Record<string, string> = { HOME: "/tmp", ...job.env };
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  if (job.ports.length > 0) env.SLIPWAY_HOST = spawn.network === "host" ? "127.0.0.1" : "0.0.0.0";
  for (const port of job.ports) {
    if (spawn.network === "host") {
      env[portVariable(port)] = String(spawn.hostPorts[port.name]);
    } else {
      env[portVariable(port)] = String(port.port);
      exposed[`${port.port}/tcp`] = {};
      // Published on loopback only: the server's proxy is the way in.
      bindings[`${port.port}/tcp`] = [{ HostIp: "127.0.0.1", HostPort: "" }];
    }
  }

  const { resources } = job;
  if (resources.amdGpus) {
    throw new UnsupportedByBackend("docker", "give containers AMD GPUs (amd_gpu_limit)");
  }
  if (resources.nvidiaGpus && !spawn.nvidia) {
    throw new UnsupportedByBackend(
      "docker",
      "give containers NVIDIA GPUs: the engine has no nvidia runtime (nvidia_gpu_limit)",
    );
  }
  const hostConfig: NonNullable<ContainerCreateOptions["HostConfig"]> = {
    Mounts: mounts,
    NetworkMode: spawn.network === "host" ? "host" : "bridge",
    PortBindings: bindings,
    // An init as PID 1 passes the stop signal on to the command and reaps what it leaves.
    Init: true,
    SecurityOpt: ["no-new-privileges"],
    CapDrop: ["ALL"],
    ...(resources.memoryLimitBytes
      ? { Memory: resources.memoryLimitBytes, MemorySwap: resources.memoryLimitBytes }
      : {}),
    ...(resources.memoryRequestBytes ? { MemoryReservation: resources.memoryRequestBytes } : {}),
    ...(resources.cpuLimit ? { NanoCpus: Math.round(resources.cpuLimit * 1e9) } : {}),
    ...(resources.cpuRequest
      ? { CpuShares: Math.max(2, Math.round(resources.cpuRequest * 1024)) }
      : {}),
    ...(resources.nvidiaGpus
      ? {
          DeviceRequests: [
            { Driver: "nvidia", Count: resources.nvidiaGpus, Capabilities: [["gpu"]] },
          ],
        }
      : {}),
  };
  const user = `${spawn.user.uid}:${spawn.user.gid}`;
  const main = {
    name: job.name,
    Image: job.image,
    Entrypoint: [argv[0]!],
    Cmd: argv.slice(1),
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    WorkingDir: job.workingDir,
    User: user,
    Labels: labels,
    ExposedPorts: exposed,
    HostConfig: hostConfig,
  };
  const init = job.runtime
    ? {
        name: `${job.name}-init`,
        Image: spawn.initImage,
        Cmd: [INIT_TARGET],
        // A new volume belongs to root; the copy step, Slipway's own busybox image with every
        // capability dropped and no network, writes it as root, and the content only reads it.
        User: "0:0",
        Labels: { ...labels, [`${LABEL}.kind`]: "init" },
        HostConfig: {
          Mounts: [
            {
              Type: "volume" as const,
              Source: spawn.runtimeVolume!,
              Target: INIT_TARGET,
              ReadOnly: false,
            },
          ],
          NetworkMode: "none",
          SecurityOpt: ["no-new-privileges"],
          CapDrop: ["ALL"],
        },
      }
    : null;
  return { main, init };
}
