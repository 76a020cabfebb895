/** A warning at start when the data folder's file system is nearly full, before writes fail. */
import { statfs } from "node:fs/promises";
import type { FastifyBaseLogger } from "fastify";

export interface DiskThresholds {
  /** Warn below this share of the file system free, in percent; 0 never warns. */
  freePercent: number;
  /** Warn below this many free bytes; 0 never warns. */
  freeBytes: number;
}

export interface DiskSpace {
  freeBytes: number;
  totalBytes: number;
  freePercent: number;
}

/** Free space as an unprivileged writer sees it (root's reserved blocks do not count). */
export async function diskSpace(dir: string): Promise<DiskSpace> {
  const stats = await statfs(dir);
  const freeBytes = stats.bavail * stats.bsize;
  const totalBytes = stats.blocks * stats.bsize;
  return {
    freeBytes,
    totalBytes,
    freePercent: totalBytes > 0 ? (freeBytes / totalBytes) * 100 : 100,
  };
}

export async function warnIfNearlyFull(
  dir: string,
  thresholds: DiskThresholds,
  logger: FastifyBaseLogger,
): Promise<void> {
  const space = await diskSpace(dir);
  const lowBytes = thresholds.freeBytes > 0 && space.freeBytes < thresholds.freeBytes;
  const lowShare = thresholds.freePercent > 0 && space.freePercent < thresholds.freePercent;
  if (!lowBytes && !lowShare) return;
  logger.warn(
    {
      dataDir: dir,
      free_bytes: space.freeBytes,
      total_bytes: space.totalBytes,
      free_percent: Math.round(space.freePercent * 10) / 10,
    },
    `The data folder is nearly full: ${formatBytes(space.freeBytes)} free of ${formatBytes(space.totalBytes)}. Uploads, builds and (with SQLite) every change will fail once it is full; free space or raise [Server] DiskFreeWarningBytes / DiskFreeWarningPercent to silence this.`,
  );
}

function formatBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}
