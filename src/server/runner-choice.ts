/**
 * Picks the runner the settings ask for, the way Connect picks Kubernetes: `[Docker] Enabled`
 * for a Docker or Podman engine, the local runner otherwise. The composition root calls it.
 */
import path from "node:path";
import type { FastifyBaseLogger } from "fastify";
import type { Settings } from "../config/settings.js";
import { DockerRunner } from "../runners/docker/docker-backend.js";
import { loadJobBase, loadServiceBase } from "../runners/kubernetes/kube-bases.js";
import { KubernetesRunner } from "../runners/kubernetes/kubernetes-backend.js";
import { LocalRunner } from "../runners/local/local-backend.js";
import { localIsolation } from "../runners/local/local-isolation.js";
import type { Runner } from "../runners/runner.js";
import { RUNTIME_DIR } from "../runtime-dir.js";
import { SLIPWAY_VERSION } from "../version.js";

export async function chooseRunner(
  settings: Settings,
  instance: string,
  logger: FastifyBaseLogger,
): Promise<Runner> {
  const dataDir = settings.Server.DataDir;
  if (settings.Kubernetes.Enabled) return kubernetesRunner(settings, instance, logger);
  if (settings.Docker.Enabled) {
    const [uid, gid] = settings.Docker.User.split(":").map(Number);
    const runner = await DockerRunner.connect({
      host: settings.Docker.Host,
      dataDir,
      instance,
      initImage:
        settings.Docker.InitContainerImage || `localhost/slipway/content-init:${SLIPWAY_VERSION}`,
      network: settings.Docker.Network,
      user: { uid: uid!, gid: gid! },
      pullPolicy: settings.Docker.PullPolicy,
      registryConfig: settings.Docker.RegistryConfig || null,
    });
    logger.info({ engine: runner.description }, "Content builds and runs in containers");
    if (settings.Applications.Supervisor) {
      logger.warn(
        { supervisor: settings.Applications.Supervisor },
        "Applications.Supervisor wraps only processes local to the server, never content builds and runs in containers; give environments their own supervisor",
      );
    }
    return runner;
  }
  const isolation = await localIsolation({
    runAs: settings.Applications.RunAs,
    rootAllowed: settings.Applications.RunAsRootAllowed,
    sandbox: settings.Applications.Sandbox,
    dataDir,
  });
  for (const warning of isolation.warnings) logger.warn(warning);
  logger.info(
    { account: isolation.user?.name ?? "the server's own", bubblewrap: isolation.bubblewrap },
    "Content builds and runs on this machine",
  );
  return new LocalRunner({
    logDir: path.join(dataDir, "logs", "local"),
    dataDir,
    runtimeDir: RUNTIME_DIR,
    user: isolation.user && { uid: isolation.user.uid, gid: isolation.user.gid },
    bubblewrap: isolation.bubblewrap,
    hidden: isolation.hidden,
  });
}

async function kubernetesRunner(
  settings: Settings,
  instance: string,
  logger: FastifyBaseLogger,
): Promise<Runner> {
  const k = settings.Kubernetes;
  if (!k.DataDirPVCName) {
    throw new Error(
      "[Kubernetes] DataDirPVCName must name the ReadWriteMany claim that holds DataDir: content pods read bundles and package caches from it.",
    );
  }
  const runner = await KubernetesRunner.connect(
    {
      kubeconfig: k.Kubeconfig || null,
      namespace: k.Namespace || null,
      instance,
      dataClaim: k.DataDirPVCName,
      dataClaimSubPath: k.DataDirPVCSubPath,
      dataDir: settings.Server.DataDir,
      initImage: k.InitContainerImage || `localhost/slipway/content-init:${SLIPWAY_VERSION}`,
      initPullPolicy: k.InitContainerImagePullPolicy,
      jobBase: k.DefaultResourceJobBase ? await loadJobBase(k.DefaultResourceJobBase) : null,
      serviceBase: k.DefaultResourceServiceBase
        ? await loadServiceBase(k.DefaultResourceServiceBase)
        : null,
      ttlSecondsAfterFinished: k.JobTTLSeconds || null,
      prePullImages: k.PrePullImages,
    },
    {
      onWatchError: (error) => logger.warn({ err: error }, "A Kubernetes watch failed; relisting"),
    },
  );
  logger.info({ cluster: runner.description }, "Content builds and runs as Kubernetes Jobs");
  // In the background: a start must not wait on a pull, and the answer only needs to be loud.
  void runner.sharedVolumeProblem().then(
    (problem) => {
      if (problem)
        logger.error({ problem }, `The data volume is not shared with content pods: ${problem}`);
      else logger.info("The data volume is shared with content pods (checked by a Job)");
    },
    (error: Error) => logger.warn({ err: error }, "The data volume check did not finish"),
  );
  return runner;
}
