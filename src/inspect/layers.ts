/**
 * An image's file system from its layers, without running anything: entries are applied in
 * order, whiteouts remove what earlier layers added, and paths are looked up through symlinks
 * as the kernel would. Pure.
 */
import { isVersion } from "../environments/versions.js";
import {
  EXECUTABLES,
  emptyFindings,
  type Findings,
  PATH_NAMES,
  tidy,
  VERSIONED_ROOTS,
} from "./locations.js";

export interface LayerEntry {
  path: string;
  type: "file" | "dir" | "symlink";
  linkpath?: string;
  /** Kept only for small files whose content tells a version. */
  content?: string;
}

export type FileTree = Map<string, Omit<LayerEntry, "path">>;

const WHITEOUT = ".wh.";
const OPAQUE = ".wh..wh..opq";

export function normalize(name: string): string {
  const parts: string[] = [];
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return `/${parts.join("/")}`;
}

export function applyLayer(tree: FileTree, entries: Iterable<LayerEntry>): void {
  for (const entry of entries) {
    const name = normalize(entry.path);
    const base = name.slice(name.lastIndexOf("/") + 1);
    const dir = name.slice(0, name.lastIndexOf("/")) || "/";
    if (base === OPAQUE) {
      removeUnder(tree, dir, false);
    } else if (base.startsWith(WHITEOUT)) {
      removeUnder(tree, `${dir === "/" ? "" : dir}/${base.slice(WHITEOUT.length)}`, true);
    } else {
      tree.set(name, { type: entry.type, linkpath: entry.linkpath, content: entry.content });
    }
  }
}

function removeUnder(tree: FileTree, path: string, includingSelf: boolean): void {
  const prefix = path === "/" ? "/" : `${path}/`;
  for (const key of [...tree.keys()]) {
    if ((includingSelf && key === path) || key.startsWith(prefix)) tree.delete(key);
  }
}

/** The path with every symlink along it resolved; undefined for a loop or a dangling link. */
export function resolve(tree: FileTree, path: string): string | undefined {
  let parts = normalize(path).split("/").slice(1);
  let done = "";
  for (let hops = 0; parts.length > 0; ) {
    const next = `${done}/${parts.shift()!}`;
    const entry = tree.get(next);
    if (entry?.type === "symlink" && entry.linkpath !== undefined) {
      if (++hops > 40) return undefined;
      const target = entry.linkpath.startsWith("/") ? entry.linkpath : `${done}/${entry.linkpath}`;
      parts = [...normalize(target).split("/").slice(1), ...parts];
      done = "";
      continue;
    }
    done = next;
  }
  if (done === "") return "/";
  return tree.has(done) || hasChildren(tree, done) ? done : undefined;
}

/** Layers need not list every parent folder: one exists when anything lies under it. */
function hasChildren(tree: FileTree, dir: string): boolean {
  const prefix = `${dir}/`;
  for (const key of tree.keys()) if (key.startsWith(prefix)) return true;
  return false;
}

function isFile(tree: FileTree, path: string): boolean {
  const real = resolve(tree, path);
  return real !== undefined && tree.get(real)?.type === "file";
}

function children(tree: FileTree, dir: string): string[] {
  const real = resolve(tree, dir);
  if (!real) return [];
  const prefix = real === "/" ? "/" : `${real}/`;
  const names = new Set<string>();
  for (const key of tree.keys()) {
    if (key.startsWith(prefix)) names.add(key.slice(prefix.length).split("/")[0]!);
  }
  return [...names].sort();
}

/** The installations the well-known places (and, failing those, the PATH) hold. */
export function findInstallations(
  tree: FileTree,
  searchPath: string | undefined,
  pathLookups: boolean,
): Findings {
  const findings = emptyFindings();
  for (const runtime of ["r", "python", "quarto"] as const) {
    for (const root of VERSIONED_ROOTS[runtime]) {
      for (const version of children(tree, root).filter(isVersion)) {
        const exe = EXECUTABLES[runtime]
          .map((e) => `${root}/${version}/bin/${e}`)
          .find((p) => isFile(tree, p));
        if (exe) findings[runtime].push({ runtime, version, path: exe });
      }
      if (runtime === "quarto" && isFile(tree, `${root}/bin/quarto`)) {
        const real = resolve(tree, `${root}/share/version`);
        const version = real ? tree.get(real)?.content?.trim() : undefined;
        if (version && isVersion(version))
          findings.quarto.push({ runtime, version, path: `${root}/bin/quarto` });
      }
    }
    if (findings[runtime].length > 0 || !pathLookups) continue;
    for (const name of PATH_NAMES[runtime]) {
      for (const dir of (searchPath ?? "").split(":").filter(Boolean)) {
        const candidate = `${dir}/${name}`;
        if (!isFile(tree, candidate)) continue;
        // Without running it, only a name such as python3.11 along the links tells the version.
        const version =
          versionInName(resolve(tree, candidate) ?? "") ??
          versionInName(linkNames(tree, candidate).join(" "));
        if (version) findings[runtime].push({ runtime, version, path: candidate });
        break;
      }
    }
  }
  return tidy(findings);
}

function linkNames(tree: FileTree, path: string): string[] {
  const names: string[] = [];
  let current = normalize(path);
  for (let i = 0; i < 10; i++) {
    const entry = tree.get(current);
    if (entry?.type !== "symlink" || !entry.linkpath) break;
    names.push(entry.linkpath);
    current = normalize(
      entry.linkpath.startsWith("/")
        ? entry.linkpath
        : `${current.slice(0, current.lastIndexOf("/"))}/${entry.linkpath}`,
    );
  }
  return names;
}

function versionInName(text: string): string | undefined {
  return /(?:python|R-?|quarto-?)(\d+(?:\.\d+)+)/.exec(text)?.[1];
}
