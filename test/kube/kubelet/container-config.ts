/**
 * The engine's create options for one run of a container, from the pod spec as the kubelet
 * maps it: command/args onto entrypoint/cmd with $(VAR) expansion, the security context
 * (user, groups, capabilities, no-new-privileges, read-only root), memory and cpu limits, and
 * host networking (the pod's own loopback address stands in for its network namespace).
 */
import type { V1Container } from "@kubernetes/client-node";
import type Docker from "dockerode";
import { parseQuantity } from "../quantity.js";
import type { Pod } from "../types.js";
import { ContainerConfigError, expand } from "./container-env.js";

export interface ContainerRun {
  pod: Pod;
  container: V1Container;
  env: Record<string, string>;
  /** The image's configured user (`USER`), for runAsNonRoot. */
  imageUser: string;
  binds: string[];
  /** How many runs of this container came before (restarts). */
  run: number;
  instance: string;
}

type SecurityContext = NonNullable<V1Container["securityContext"]> & {
  supplementalGroups?: number[];
  fsGroup?: number;
};

export function containerCreateOptions(r: ContainerRun): Docker.ContainerCreateOptions {
  const { pod, container: c, env } = r;
  const uid = pod.metadata.uid!;
  const sc = { ...pod.spec.securityContext, ...c.securityContext } as SecurityContext;
  if (sc.runAsNonRoot) {
    const user = sc.runAsUser !== undefined ? String(sc.runAsUser) : r.imageUser.split(":")[0]!;
    const where = `(pod: "${pod.metadata.name}_${pod.metadata.namespace}(${uid})", container: ${c.name})`;
    if (user !== "" && !/^\d+$/.test(user))
      throw new ContainerConfigError(
        `container has runAsNonRoot and image has non-numeric user (${user}), cannot verify user is non-root ${where}`,
      );
    if (user === "" || user === "0")
      throw new ContainerConfigError(
        `container has runAsNonRoot and image will run as root ${where}`,
      );
  }
  const limits = c.resources?.limits ?? {};
  const memory = limits.memory ? Math.floor(parseQuantity(limits.memory)) : undefined;
  const user =
    sc.runAsUser !== undefined
      ? `${sc.runAsUser}${sc.runAsGroup !== undefined ? `:${sc.runAsGroup}` : ""}`
      : undefined;
  const groups = [
    ...(sc.supplementalGroups ?? []),
    ...(sc.fsGroup !== undefined ? [sc.fsGroup] : []),
  ].map(String);
  const expandAll = (list: string[]) => list.map((a) => expand(a, env));
  return {
    name: `k8s_${c.name}_${pod.metadata.name}_${pod.metadata.namespace}_${uid.slice(0, 8)}_${r.run}`,
    Image: c.image!,
    // As the kubelet: command replaces the entrypoint and drops the image's CMD; args alone replace CMD.
    ...(c.command ? { Entrypoint: expandAll(c.command), Cmd: expandAll(c.args ?? []) } : {}),
    ...(!c.command && c.args ? { Cmd: expandAll(c.args) } : {}),
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    ...(c.workingDir ? { WorkingDir: c.workingDir } : {}),
    ...(user ? { User: user } : {}),
    Tty: false,
    OpenStdin: Boolean(c.stdin),
    Labels: {
      "io.kubernetes.pod.name": pod.metadata.name!,
      "io.kubernetes.pod.namespace": pod.metadata.namespace!,
      "io.kubernetes.pod.uid": uid,
      "io.kubernetes.container.name": c.name,
      "slipway.kube-standin": r.instance,
    },
    HostConfig: {
      NetworkMode: "host",
      Binds: r.binds,
      ...(memory ? { Memory: memory, MemorySwap: memory } : {}),
      ...(limits.cpu ? { NanoCpus: Math.floor(parseQuantity(limits.cpu) * 1e9) } : {}),
      CapAdd: sc.capabilities?.add ?? [],
      CapDrop: sc.capabilities?.drop ?? [],
      SecurityOpt: sc.allowPrivilegeEscalation === false ? ["no-new-privileges"] : [],
      Privileged: Boolean(sc.privileged),
      ReadonlyRootfs: Boolean(sc.readOnlyRootFilesystem),
      ...(groups.length ? { GroupAdd: groups } : {}),
    },
  };
}
