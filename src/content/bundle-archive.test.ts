import { mkdtemp, readdir, readFile, readlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { type TarEntry, tarGz } from "../../test/support/bundles.js";
import { unpackBundle } from "./bundle-archive.js";

const LIMITS = { maxBytes: 1024 * 1024, maxFiles: 100 };

async function unpack(archive: Buffer, limits = LIMITS) {
  const dir = await mkdtemp(path.join(tmpdir(), "slipway-unpack-"));
  const dest = path.join(dir, "files");
  const count = await unpackBundle(Readable.from([archive]), dest, limits);
  return { dest, count };
}

describe("unpacking bundles", () => {
  it("unpacks files, folders and links that stay inside", async () => {
    const { dest, count } = await unpack(
      tarGz([
        { path: "manifest.json", content: "{}" },
        { path: "app/", type: "Directory" },
        { path: "app/main.py", content: "print('hi')", mode: 0o4755 },
        { path: "latest", type: "SymbolicLink", linkpath: "app/main.py" },
        { path: "app/copy.py", type: "Link", linkpath: "app/main.py" },
      ]),
    );
    expect(count).toBe(5);
    expect(await readFile(path.join(dest, "latest"), "utf8")).toBe("print('hi')");
    expect(await readlink(path.join(dest, "latest"))).toBe("app/main.py");
    expect((await readdir(path.join(dest, "app"))).sort()).toEqual(["copy.py", "main.py"]);
  });

  it.each<[string, TarEntry[], string]>([
    [
      "path traversal",
      [{ path: "../evil.txt", content: "x" }],
      "../evil.txt points outside the bundle",
    ],
    ["nested traversal", [{ path: "a/../../evil.txt", content: "x" }], "points outside the bundle"],
    ["an absolute path", [{ path: "/etc/evil", content: "x" }], "/etc/evil has an absolute path"],
    [
      "a symlink out",
      [{ path: "link", type: "SymbolicLink", linkpath: "../../etc/passwd" }],
      "link points outside the bundle",
    ],
    [
      "an absolute symlink",
      [{ path: "link", type: "SymbolicLink", linkpath: "/etc/passwd" }],
      "links to the absolute path /etc/passwd",
    ],
    [
      "a hard link out",
      [{ path: "link", type: "Link", linkpath: "../outside" }],
      "link points outside the bundle",
    ],
    ["a device", [{ path: "dev", type: "CharacterDevice" }], "dev is a CharacterDevice entry"],
    ["a fifo", [{ path: "pipe", type: "FIFO" }], "pipe is a FIFO entry"],
  ])("refuses %s", async (_, entries, message) => {
    await expect(
      unpack(tarGz([{ path: "manifest.json", content: "{}" }, ...entries])),
    ).rejects.toThrow(message);
  });

  it("refuses archives over the limits", async () => {
    const many = Array.from({ length: 5 }, (_, i) => ({ path: `f${i}`, content: "x" }));
    await expect(unpack(tarGz(many), { maxBytes: 1000, maxFiles: 3 })).rejects.toThrow(
      "more than 3 files",
    );
    await expect(
      unpack(tarGz([{ path: "big", content: "x".repeat(2000) }]), { maxBytes: 1000, maxFiles: 10 }),
    ).rejects.toThrow("more than 1000 bytes");
  });

  it("refuses garbage and empty archives", async () => {
    await expect(
      unpack(Buffer.from("this is not a tarball at all, not even close".repeat(20))),
    ).rejects.toThrow("The bundle was refused");
    await expect(unpack(tarGz([]))).rejects.toThrow("The bundle was refused");
  });
});
