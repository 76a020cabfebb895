/**
 * A small tmpfs of its own, mounted for a test that needs a disk that fills up: the data
 * folder on it, filled to the last page, then freed or grown again. Needs root (CI runs as
 * root; so do these machines).
 */
import { execFileSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, rmdirSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

export interface SmallDisk {
  readonly path: string;
  /** Writes a filler file until not one more byte fits. */
  fill(): void;
  /** Removes the filler, giving its space back. */
  free(): void;
  /** Grows (or shrinks) the file system. */
  resize(bytes: number): void;
  unmount(): void;
}

/** Why no small disk can be mounted here, or undefined when it can. */
export function smallDiskUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "mounting a tmpfs needs root";
  try {
    mountSmallDisk(1024 * 1024).unmount();
    return undefined;
  } catch (error) {
    return `mount -t tmpfs was refused: ${(error as Error).message.split("\n")[0]}`;
  }
}

export function mountSmallDisk(bytes: number): SmallDisk {
  const dir = mkdtempSync(path.join(tmpdir(), "slipway-small-disk-"));
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${bytes},mode=0755`, "tmpfs", dir], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  const filler = path.join(dir, "filler");
  return {
    path: dir,
    fill() {
      const fd = openSync(filler, "a");
      try {
        for (const size of [1024 * 1024, 64 * 1024, 4096, 512, 1]) {
          const block = Buffer.alloc(size, 0x61);
          for (;;) {
            try {
              writeSync(fd, block);
            } catch (error) {
              if ((error as NodeJS.ErrnoException).code === "ENOSPC") break;
              throw error;
            }
          }
        }
      } finally {
        closeSync(fd);
      }
    },
    free() {
      rmSync(filler, { force: true });
    },
    resize(size) {
      execFileSync("mount", ["-o", `remount,size=${size}`, dir]);
    },
    unmount() {
      execFileSync("umount", [dir]);
      rmdirSync(dir);
    },
  };
}
