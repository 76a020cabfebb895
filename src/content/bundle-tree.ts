/**
 * What a bundle archive has placed so far, as a tree of names, and the checks each new entry
 * must pass before anything is written: its path stays inside and within the path limits, it
 * does not pass through a link or a file, it does not replace an earlier entry, and a hard link
 * names a file already placed. Every check costs time in proportion to the entry's own path, so
 * an archive of many or deep entries costs no more than its size.
 */
import path from "node:path";
import type { Settings } from "../config/settings.js";
import { ApiError } from "../errors.js";

export type BundleLimits = Readonly<Omit<Settings["Bundles"], "StagingMaxAgeMinutes">>;

export type Kind = "dir" | "file" | "link";

export interface TreeNode {
  kind: Kind;
  children?: Map<string, TreeNode>;
  /** A folder that exists on disk already. */
  made?: boolean;
}

/** The parts of a tar entry the checks read (a ReadEntry of the tar library fits). */
export interface EntryHeader {
  path: string;
  type: string;
  linkpath?: string;
}

export interface EntryPlan {
  kind: Kind;
  /** Normalized path relative to the bundle root. */
  relative: string;
  /** The folder the entry is placed in. */
  parent: TreeNode;
  node: TreeNode;
  /** For links: the target as written (symbolic) or as a bundle path (hard). */
  target?: string;
}

export class BundleTree {
  readonly root: TreeNode = { kind: "dir", children: new Map(), made: true };
  /** Every symbolic link placed, to be resolved once the whole archive is on disk. */
  readonly links: string[] = [];

  constructor(private readonly limits: BundleLimits) {}

  plan(entry: EntryHeader): EntryPlan {
    const kind = kindOf(entry);
    // The entry itself is one level; the folders it lies inside are the rest.
    const depth = checkPathLimits(entry.path, entry.path, this.limits) - 1;
    if (depth > this.limits.MaxDepth) {
      throw refuse(
        `${show(entry.path)} lies ${depth} folders deep, deeper than ${this.limits.MaxDepth} (Bundles.MaxDepth)`,
      );
    }
    const relative = bundlePath(entry.path, entry.path);
    if (relative === "." && kind !== "dir")
      throw refuse(`${show(entry.path)} names the bundle itself`);
    let target: string | undefined;
    if (entry.type === "SymbolicLink") {
      target = entry.linkpath ?? "";
      checkPathLimits(target, entry.path, this.limits);
      if (path.isAbsolute(target)) {
        throw refuse(`${show(entry.path)} links to the absolute path ${show(target)}`);
      }
      bundlePath(path.join(path.dirname(relative), target), entry.path);
    } else if (entry.type === "Link") {
      checkPathLimits(entry.linkpath ?? "", entry.path, this.limits);
      target = bundlePath(entry.linkpath ?? "", entry.path);
      if (this.#find(target)?.kind !== "file") {
        throw refuse(
          `${show(entry.path)} is a hard link to ${show(entry.linkpath ?? "")}, which is not a file before it`,
        );
      }
    }
    if (relative === ".") return { kind, relative, parent: this.root, node: this.root, target };

    const names = relative.split("/");
    const last = names.pop()!;
    let parent = this.root;
    for (const [i, name] of names.entries()) {
      let child = parent.children!.get(name);
      if (!child) {
        child = { kind: "dir", children: new Map() };
        parent.children!.set(name, child);
      } else if (child.kind !== "dir") {
        const what = child.kind === "link" ? "link" : "file";
        const inside = names.slice(0, i + 1).join("/");
        throw refuse(`${show(entry.path)} lies inside the ${what} ${show(inside)}`);
      }
      parent = child;
    }
    const existing = parent.children!.get(last);
    if (existing) {
      if (existing.kind === "dir" && kind === "dir") {
        return { kind, relative, parent, node: existing, target };
      }
      throw refuse(`${show(entry.path)} appears twice`);
    }
    const node: TreeNode = kind === "dir" ? { kind, children: new Map() } : { kind };
    parent.children!.set(last, node);
    if (kind === "link") this.links.push(relative);
    return { kind, relative, parent, node, target };
  }

  /** Every folder of the tree, with its path relative to the root ("." for the root). */
  *folders(): Generator<string> {
    const stack: [string, TreeNode][] = [[".", this.root]];
    for (let next = stack.pop(); next; next = stack.pop()) {
      const [at, node] = next;
      yield at;
      for (const [name, child] of node.children ?? []) {
        if (child.kind === "dir") stack.push([at === "." ? name : `${at}/${name}`, child]);
      }
    }
  }

  #find(relative: string): TreeNode | undefined {
    let node: TreeNode | undefined = this.root;
    for (const name of relative.split("/")) {
      if (node?.kind !== "dir") return undefined;
      node = node.children!.get(name);
    }
    return node;
  }
}

function kindOf(entry: EntryHeader): Kind {
  switch (entry.type) {
    case "Directory":
      return "dir";
    case "File":
    case "OldFile":
    case "ContiguousFile":
    case "Link":
      return "file";
    case "SymbolicLink":
      return "link";
    default:
      throw refuse(
        `${show(entry.path)} is a ${entry.type} entry; bundles hold only files, folders and links`,
      );
  }
}

/**
 * Refuses a path (or link target) over the length and name limits, before any other work on it;
 * returns how many names it has.
 */
function checkPathLimits(name: string, entryName: string, limits: BundleLimits): number {
  if (name.includes("\0")) throw refuse(`${show(entryName)} has a NUL byte in its path`);
  const bytes = Buffer.byteLength(name);
  if (bytes > limits.MaxPathLength) {
    throw refuse(
      `${show(entryName)} has a path of ${bytes} bytes, longer than ${limits.MaxPathLength} (Bundles.MaxPathLength)`,
    );
  }
  let depth = 0;
  for (const part of name.split("/")) {
    if (part === "" || part === ".") continue;
    depth++;
    if (Buffer.byteLength(part) > limits.MaxNameLength) {
      throw refuse(
        `${show(entryName)} has a name of ${Buffer.byteLength(part)} bytes, longer than ${limits.MaxNameLength} (Bundles.MaxNameLength)`,
      );
    }
  }
  return depth;
}

/** `name` as a normalized path relative to the bundle root, refusing anything that would leave it. */
function bundlePath(name: string, entryName: string): string {
  if (path.isAbsolute(name) || /^[A-Za-z]:/.test(name)) {
    throw refuse(`${show(entryName)} has an absolute path`);
  }
  const relative = path.normalize(name).replace(/\/+$/, "") || ".";
  if (relative === ".." || relative.startsWith("../")) {
    throw refuse(`${show(entryName)} points outside the bundle`);
  }
  return relative;
}

/** A path short enough to quote in a message, however long the archive made it. */
export function show(name: string): string {
  return name.length > 200 ? `${name.slice(0, 100)}…(${name.length} characters)` : name;
}

export function refuse(why: string): ApiError {
  return new ApiError("badRequest", `The bundle was refused: ${why}.`);
}
