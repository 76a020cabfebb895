import { tmpdir } from "node:os";
import type { FastifyBaseLogger } from "fastify";
import { describe, expect, it } from "vitest";
import { diskSpace, warnIfNearlyFull } from "./disk-space.js";

function logger() {
  const warnings: { fields: Record<string, unknown>; message: string }[] = [];
  const log = {
    warn: (fields: Record<string, unknown>, message: string) => warnings.push({ fields, message }),
  };
  return { log: log as unknown as FastifyBaseLogger, warnings };
}

describe("the nearly-full warning", () => {
  it("reads the real free and total space of the folder's file system", async () => {
    const space = await diskSpace(tmpdir());
    expect(space.totalBytes).toBeGreaterThan(0);
    expect(space.freeBytes).toBeLessThanOrEqual(space.totalBytes);
    expect(space.freePercent).toBeCloseTo((space.freeBytes / space.totalBytes) * 100);
  });

  it("warns below either threshold, naming the settings, and never when both are 0", async () => {
    const { freeBytes, freePercent } = await diskSpace(tmpdir());
    const byBytes = logger();
    await warnIfNearlyFull(tmpdir(), { freePercent: 0, freeBytes: freeBytes * 2 }, byBytes.log);
    expect(byBytes.warnings).toHaveLength(1);
    expect(byBytes.warnings[0]!.message).toContain("DiskFreeWarningBytes");
    expect(byBytes.warnings[0]!.fields).toMatchObject({ dataDir: tmpdir() });

    const byShare = logger();
    await warnIfNearlyFull(tmpdir(), { freePercent: freePercent + 1, freeBytes: 0 }, byShare.log);
    expect(byShare.warnings).toHaveLength(1);

    const never = logger();
    await warnIfNearlyFull(tmpdir(), { freePercent: 0, freeBytes: 0 }, never.log);
    const roomy = logger();
    await warnIfNearlyFull(tmpdir(), { freePercent: 0, freeBytes: 1 }, roomy.log);
    expect([...never.warnings, ...roomy.warnings]).toEqual([]);
  });
});
