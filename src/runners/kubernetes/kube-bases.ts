/**
 * The Job and Service bases (Connect's DefaultResourceJobBase / DefaultResourceServiceBase):
 * YAML files holding one object that every content Job or Service starts from. A base of the
 * wrong kind, or one that mounts over a folder Slipway reserves or takes a name Slipway adds,
 * is refused at start with the offending field named, before any content runs on it.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { V1Container, V1Job, V1Service } from "@kubernetes/client-node";
import { parse } from "yaml";
import { DATA_VOLUME, INIT_CONTAINER, RESERVED_PATHS, RUNTIME_VOLUME } from "./kube-config.js";

export class BaseRefused extends Error {
  constructor(file: string, setting: string, problem: string) {
    super(`The ${setting} ${file} cannot be used: ${problem}`);
    this.name = "BaseRefused";
  }
}

function under(mountPath: string, reserved: string): boolean {
  const a = path.posix.normalize(mountPath).replace(/\/$/, "");
  return a === reserved || a.startsWith(`${reserved}/`);
}

/** The problem with a Job base, as `field: what`, or null when Slipway can start from it. */
export function jobBaseProblem(base: unknown): string | null {
  const job = base as V1Job | null;
  if (!job || typeof job !== "object" || Array.isArray(job)) return "it does not hold an object";
  if (job.apiVersion !== "batch/v1" || job.kind !== "Job") {
    return `apiVersion/kind is ${String(job.apiVersion)}/${String(job.kind)}, not batch/v1/Job`;
  }
  const spec = job.spec?.template?.spec;
  const groups: [string, V1Container[] | undefined][] = [
    ["spec.template.spec.containers", spec?.containers],
    ["spec.template.spec.initContainers", spec?.initContainers],
  ];
  for (const [field, containers] of groups) {
    for (const [i, container] of (containers ?? []).entries()) {
      if (container.name === INIT_CONTAINER) {
        return `${field}[${i}].name: ${INIT_CONTAINER} is the name of Slipway's own init container`;
      }
      for (const [j, mount] of (container.volumeMounts ?? []).entries()) {
        const reserved = RESERVED_PATHS.find((r) => under(mount.mountPath, r));
        if (reserved) {
          return `${field}[${i}].volumeMounts[${j}].mountPath: ${mount.mountPath} mounts over ${reserved}, which Slipway reserves for its own volumes`;
        }
      }
    }
  }
  for (const [i, volume] of (spec?.volumes ?? []).entries()) {
    if (volume.name === DATA_VOLUME || volume.name === RUNTIME_VOLUME) {
      return `spec.template.spec.volumes[${i}].name: ${volume.name} is the name of one of Slipway's own volumes`;
    }
  }
  return null;
}

export function serviceBaseProblem(base: unknown): string | null {
  const service = base as V1Service | null;
  if (!service || typeof service !== "object" || Array.isArray(service)) {
    return "it does not hold an object";
  }
  if (service.apiVersion !== "v1" || service.kind !== "Service") {
    return `apiVersion/kind is ${String(service.apiVersion)}/${String(service.kind)}, not v1/Service`;
  }
  return null;
}

async function load(file: string, setting: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (error) {
    throw new BaseRefused(file, setting, (error as Error).message);
  }
  try {
    return parse(text);
  } catch (error) {
    throw new BaseRefused(file, setting, `it is not YAML: ${(error as Error).message}`);
  }
}

export async function loadJobBase(file: string): Promise<V1Job> {
  const setting = "[Kubernetes] DefaultResourceJobBase";
  const base = await load(file, setting);
  const problem = jobBaseProblem(base);
  if (problem) throw new BaseRefused(file, setting, problem);
  return base as V1Job;
}

export async function loadServiceBase(file: string): Promise<V1Service> {
  const setting = "[Kubernetes] DefaultResourceServiceBase";
  const base = await load(file, setting);
  const problem = serviceBaseProblem(base);
  if (problem) throw new BaseRefused(file, setting, problem);
  return base as V1Service;
}
