import { mkdir, mkdtemp, readdir, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { removeTree } from "./remove-tree.js";

describe("removing a tree", () => {
  it("removes folders of many files, links without following them, and single files", async () => {
    const root = await mkdtemp(path.join(tmpdir(), "slipway-remove-tree-"));
    const outside = path.join(root, "outside");
    await mkdir(outside);
    await writeFile(path.join(outside, "keep.txt"), "kept");
    const tree = path.join(root, "tree");
    for (let d = 0; d < 5; d++) {
      await mkdir(path.join(tree, `d${d}`, "deeper"), { recursive: true });
      for (let f = 0; f < 100; f++) await writeFile(path.join(tree, `d${d}`, `f${f}`), "x");
    }
    await symlink(outside, path.join(tree, "d0", "link-to-outside"));
    await removeTree(tree);
    expect(await readdir(root)).toEqual(["outside"]);
    expect(await readdir(outside)).toEqual(["keep.txt"]);
    await removeTree(path.join(outside, "keep.txt"));
    await removeTree(path.join(root, "never-was"));
    expect(await readdir(outside)).toEqual([]);
  });
});
