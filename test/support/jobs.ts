import type { Job } from "../../src/runners/runner.js";

/**
 * A job with only what the test gives it: `true` in /tmp, no image, volumes, ports,
 * supervisor, limits or deadline, labelled with its name as its spec hash.
 */
export function testJob(job: Pick<Job, "name"> & Partial<Job>): Job {
  return {
    kind: "run",
    image: null,
    pullPolicy: null,
    argv: ["true"],
    env: {},
    workingDir: "/tmp",
    volumes: [],
    runtime: false,
    ports: [],
    supervisor: null,
    resources: {},
    deadlineSeconds: null,
    labels: { "spec-hash": job.name },
    ...job,
  };
}
