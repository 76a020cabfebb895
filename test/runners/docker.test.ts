/**
 * The Docker runner against real engines: the shared contract on Docker, and on Podman through
 * its Docker-compatible socket.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { DockerRunner } from "../../src/runners/docker/docker-backend.js";
import {
  contentInitImage,
  engineAvailable,
  ensureImage,
  inPodman,
  PODMAN_SOCKET,
  podmanAvailable,
} from "../support/images.js";
import { runRunnerContract } from "./contract.js";

const unavailable = engineAvailable();
const dockerImages = unavailable
  ? { image: "", initImage: "" }
  : { image: ensureImage("empty"), initImage: contentInitImage() };

const ENGINES = [
  {
    name: "docker",
    host: "/var/run/docker.sock",
    missing: unavailable,
    images: () => dockerImages,
  },
  {
    name: "podman",
    host: PODMAN_SOCKET,
    missing: unavailable ?? podmanAvailable(),
    images: () => ({
      image: inPodman(dockerImages.image),
      initImage: inPodman(dockerImages.initImage),
    }),
  },
];

for (const engine of ENGINES) {
  const { image, initImage } = engine.missing ? dockerImages : engine.images();
  const dataDir = mkdtempSync(path.join(tmpdir(), `slipway-${engine.name}-data-`));
  const connect = () =>
    DockerRunner.connect({
      host: engine.host,
      dataDir,
      instance: `contract-${process.pid}`,
      initImage,
    });
  runRunnerContract({ name: engine.name, create: connect, image, skip: engine.missing });
}
