import { describe, expect, it } from "vitest";
import { applyLayer, type FileTree, findInstallations, resolve } from "./layers.js";

const file = (path: string, content?: string) => ({ path, type: "file" as const, content });
const link = (path: string, linkpath: string) => ({ path, type: "symlink" as const, linkpath });

describe("image layers", () => {
  it("applies whiteouts and opaque folders across layers", () => {
    const tree: FileTree = new Map();
    applyLayer(tree, [
      file("opt/R/4.1.0/bin/R"),
      file("opt/R/4.2.2/bin/R"),
      file("opt/python/3.9.1/bin/python3"),
    ]);
    applyLayer(tree, [
      file("opt/R/.wh.4.1.0"),
      file("opt/python/.wh..wh..opq"),
      file("opt/python/3.11.4/bin/python3"),
    ]);
    const found = findInstallations(tree, undefined, false);
    expect(found.r.map((f) => f.version)).toEqual(["4.2.2"]);
    expect(found.python.map((f) => f.version)).toEqual(["3.11.4"]);
  });

  it("resolves symlinks, relative and absolute, and refuses loops", () => {
    const tree: FileTree = new Map();
    applyLayer(tree, [
      file("usr/lib/R/bin/R"),
      link("opt/R/4.3.1", "/usr/lib/R"),
      link("opt/R/4.0.0", "../../usr/lib/R"),
      link("opt/R/9.9.9", "9.9.8"),
      link("opt/R/9.9.8", "9.9.9"),
      file("opt/quarto/bin/quarto"),
      file("opt/quarto/share/version", "1.3.340\n"),
    ]);
    expect(resolve(tree, "/opt/R/4.3.1/bin/R")).toBe("/usr/lib/R/bin/R");
    expect(resolve(tree, "/opt/R/9.9.9/bin/R")).toBeUndefined();
    const found = findInstallations(tree, undefined, false);
    expect(found.r.map((f) => [f.version, f.path])).toEqual([
      ["4.0.0", "/opt/R/4.0.0/bin/R"],
      ["4.3.1", "/opt/R/4.3.1/bin/R"],
    ]);
    expect(found.quarto).toEqual([
      { runtime: "quarto", version: "1.3.340", path: "/opt/quarto/bin/quarto" },
    ]);
  });

  it("falls back to the PATH, taking the version from the names along the links", () => {
    const tree: FileTree = new Map();
    applyLayer(tree, [file("usr/bin/python3.11"), link("usr/bin/python3", "python3.11")]);
    expect(findInstallations(tree, "/usr/local/bin:/usr/bin", true).python).toEqual([
      { runtime: "python", version: "3.11", path: "/usr/bin/python3" },
    ]);
    expect(findInstallations(tree, "/usr/bin", false).python).toEqual([]);
  });
});
