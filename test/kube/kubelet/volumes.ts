/**
 * Pod volumes as host folders bind-mounted into the containers: emptyDir → a fresh folder of
 * the pod, a PVC → the folder its claim maps to (a `--pv CLAIM=HOSTDIR` mapping or one the
 * stand-in makes), ConfigMap/Secret/downwardAPI → files written into a folder of the pod,
 * hostPath → itself. Mounts honour subPath (created when missing, as the kubelet does) and readOnly.
 * ConfigMap and Secret folders are laid out as the kubelet's atomic writer lays them out (each key
 * a link into `..data`, itself a link to a timestamped folder) and rewritten the same way when
 * their object changes, so a mounted folder changes live, by one rename, as in a cluster.
 */
import { randomBytes } from "node:crypto";
import { chmod, lstat, mkdir, readdir, rename, rm, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import type { V1Container, V1Volume } from "@kubernetes/client-node";
import type { KubeObject, Pod } from "../types.js";
import { fieldRef } from "./container-env.js";

export class MountError extends Error {}

export interface VolumeSources {
  configMap(namespace: string, name: string): KubeObject | undefined;
  secret(namespace: string, name: string): KubeObject | undefined;
  claim(namespace: string, name: string): KubeObject | undefined;
  /** The host folder behind a claim. */
  claimFolder(namespace: string, claim: string): Promise<string>;
}

/** Makes every volume of the pod under `podDir`; returns volume name → host folder. */
export async function prepareVolumes(
  pod: Pod,
  podDir: string,
  sources: VolumeSources,
): Promise<Map<string, string>> {
  const ns = pod.metadata.namespace!;
  const out = new Map<string, string>();
  for (const volume of pod.spec.volumes ?? [])
    out.set(volume.name, await prepare(volume, pod, ns, podDir, sources));
  return out;
}

async function prepare(
  volume: V1Volume,
  pod: Pod,
  ns: string,
  podDir: string,
  sources: VolumeSources,
): Promise<string> {
  const dir = path.join(podDir, "volumes", volume.name);
  if (volume.emptyDir) {
    await mkdir(dir, { recursive: true, mode: 0o777 });
    await chmod(dir, 0o777);
    return dir;
  }
  if (volume.persistentVolumeClaim) {
    const name = volume.persistentVolumeClaim.claimName;
    if (!sources.claim(ns, name)) throw new MountError(`persistentvolumeclaim "${name}" not found`);
    return sources.claimFolder(ns, name);
  }
  if (volume.hostPath) return volume.hostPath.path;
  if (volume.configMap || volume.secret) {
    const isSecret = Boolean(volume.secret);
    const name = (isSecret ? volume.secret!.secretName : volume.configMap!.name)!;
    const object = isSecret ? sources.secret(ns, name) : sources.configMap(ns, name);
    const optional = isSecret ? volume.secret!.optional : volume.configMap!.optional;
    if (!object && !optional)
      throw new MountError(
        `MountVolume.SetUp failed for volume "${volume.name}" : ${isSecret ? "secret" : "configmap"} "${name}" not found`,
      );
    await writeProjected(dir, projectedFiles(volume, object, isSecret));
    return dir;
  }
  if (volume.downwardAPI) {
    await mkdir(dir, { recursive: true });
    for (const item of volume.downwardAPI.items ?? [])
      if (item.fieldRef)
        await writeInto(dir, item.path, fieldRef(pod, item.fieldRef.fieldPath), item.mode ?? 0o644);
    return dir;
  }
  throw new MountError(
    `MountVolume.SetUp failed for volume "${volume.name}" : the stand-in does not implement this volume type`,
  );
}

/** The files a ConfigMap or Secret volume holds for `object` (absent: an optional volume). */
function projectedFiles(
  volume: V1Volume,
  object: KubeObject | undefined,
  isSecret: boolean,
): { path: string; value: Buffer; mode: number }[] {
  const data = object ? dataOf(object, isSecret) : {};
  const items: { key: string; path: string; mode?: number }[] =
    (isSecret ? volume.secret!.items : volume.configMap!.items) ??
    Object.keys(data).map((key) => ({ key, path: key }));
  const mode = (isSecret ? volume.secret!.defaultMode : volume.configMap!.defaultMode) ?? 0o644;
  return items.map((item) => {
    const value = data[item.key];
    if (value === undefined)
      throw new MountError(
        `MountVolume.SetUp failed for volume "${volume.name}" : configmap references non-existent config key: ${item.key}`,
      );
    return { path: item.path, value, mode: item.mode ?? mode };
  });
}

/** The kubelet's atomic writer: a new `..<time>` folder, `..data` renamed onto it, key links. */
async function writeProjected(
  dir: string,
  files: { path: string; value: Buffer; mode: number }[],
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const stamp = `..${new Date().toISOString().replace(/[-:.]/g, "_")}.${randomBytes(4).toString("hex")}`;
  for (const file of files)
    await writeInto(path.join(dir, stamp), file.path, file.value, file.mode);
  await mkdir(path.join(dir, stamp), { recursive: true });
  await rm(path.join(dir, "..data_tmp"), { force: true });
  await symlink(stamp, path.join(dir, "..data_tmp"));
  await rename(path.join(dir, "..data_tmp"), path.join(dir, "..data"));
  const names = new Set(files.map((file) => file.path.split("/")[0]!));
  for (const name of names) {
    const exists = await lstat(path.join(dir, name)).then(
      () => true,
      () => false,
    );
    if (!exists) await symlink(`..data/${name}`, path.join(dir, name));
  }
  for (const entry of await readdir(dir)) {
    const old = entry.startsWith("..") ? entry !== "..data" && entry !== stamp : !names.has(entry);
    if (old) await rm(path.join(dir, entry), { recursive: true, force: true });
  }
}

/**
 * Rewrites the pod's folders of the ConfigMap or Secret that changed, as the kubelet's periodic
 * sync does. A key that the object no longer has leaves the old files in place (the kubelet
 * keeps the last good content too).
 */
export async function refreshProjected(
  pod: Pod,
  podDir: string,
  sources: VolumeSources,
  changed: { kind: "configmaps" | "secrets"; namespace: string; name: string },
): Promise<void> {
  if (pod.metadata.namespace !== changed.namespace) return;
  for (const volume of pod.spec.volumes ?? []) {
    const isSecret = Boolean(volume.secret);
    const name = isSecret ? volume.secret?.secretName : volume.configMap?.name;
    if (!name || name !== changed.name || (changed.kind === "secrets") !== isSecret) continue;
    const object = isSecret
      ? sources.secret(changed.namespace, name)
      : sources.configMap(changed.namespace, name);
    if (!object) continue;
    try {
      await writeProjected(
        path.join(podDir, "volumes", volume.name),
        projectedFiles(volume, object, isSecret),
      );
    } catch (error) {
      if (!(error instanceof MountError)) throw error;
    }
  }
}

async function writeInto(
  dir: string,
  relative: string,
  value: Buffer | string,
  mode: number,
): Promise<void> {
  const file = path.join(dir, relative);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, value);
  await chmod(file, mode);
}

function dataOf(object: KubeObject, secret: boolean): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  const text = (secret ? object.stringData : object.data) as Record<string, string> | undefined;
  const binary = (secret ? object.data : object.binaryData) as Record<string, string> | undefined;
  for (const [k, v] of Object.entries(binary ?? {})) out[k] = Buffer.from(v, "base64");
  for (const [k, v] of Object.entries(text ?? {})) out[k] = Buffer.from(v, "utf8");
  return out;
}

/** Docker binds (`host:container[:ro]`) for a container's volumeMounts. */
export async function bindsFor(
  container: V1Container,
  folders: Map<string, string>,
): Promise<string[]> {
  const binds: string[] = [];
  for (const mount of container.volumeMounts ?? []) {
    let host = folders.get(mount.name)!;
    if (mount.subPath) {
      host = path.join(host, mount.subPath);
      await mkdir(host, { recursive: true, mode: 0o777 }).catch(() => undefined);
    }
    binds.push(`${host}:${mount.mountPath}${mount.readOnly ? ":ro" : ""}`);
  }
  return binds;
}
