import { afterEach, describe, expect, it, vi } from "vitest";
import { unavailable } from "./requirements.js";

describe("a missing requirement", () => {
  afterEach(() => vi.unstubAllEnvs());

  it("skips with the reason off CI", () => {
    vi.stubEnv("CI", "");
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    expect(unavailable("The engine tests", "no Docker engine is reachable")).toBe(true);
    expect(warn).toHaveBeenCalledWith("The engine tests skipped: no Docker engine is reachable.");
    warn.mockRestore();
  });

  it("fails in CI, naming what is missing", () => {
    vi.stubEnv("CI", "true");
    expect(() => unavailable("The engine tests", "no Docker engine is reachable")).toThrow(
      "The engine tests cannot run: no Docker engine is reachable.",
    );
  });

  it("is no reason to skip when nothing is missing, in CI or not", () => {
    for (const ci of ["true", ""]) {
      vi.stubEnv("CI", ci);
      expect(unavailable("The engine tests", undefined)).toBe(false);
    }
  });
});
