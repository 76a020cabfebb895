import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isApiError } from "../errors.js";
import { contentNeeds, parseManifest } from "./manifest.js";

const base = { version: 1, metadata: { appmode: "python-api", entrypoint: "app:app" }, files: {} };

describe("manifest.json", () => {
  it("reads what rsconnect-python writes", () => {
    const manifest = parseManifest(
      JSON.stringify({
        ...base,
        locale: "en_US.UTF-8",
        python: {
          version: "3.11.7",
          package_manager: { name: "pip", version: "23.2.1", package_file: "requirements.txt" },
        },
        environment: {
          image: "ghcr.io/org/py:3.11",
          python: { requires: "~=3.11.0" },
          environment_management: { python: false },
        },
        something_new: { tolerated: true },
      }),
    );
    const needs = contentNeeds(manifest);
    expect(needs.appMode).toBe("python-api");
    expect(needs.entrypoint).toBe("app:app");
    expect(needs.python?.version).toBe("3.11.7");
    expect(needs.python?.constraint?.text).toBe("~=3.11.0");
    expect(needs.r).toBeUndefined();
    expect(needs.quarto).toBeUndefined();
    expect(needs.pin).toEqual({ image: "ghcr.io/org/py:3.11" });
    expect(needs.management).toEqual({ python: false });
  });

  it.each([
    ["shiny", { platform: "4.3.2", packages: { shiny: {} } }, { r: "4.3.2" }],
    ["api", { platform: "4.2.1" }, { r: "4.2.1" }],
    ["rmd-static", {}, { r: null }],
    [
      "quarto-static",
      { quarto: { version: "1.4.550", engines: ["knitr"] }, platform: "4.3.1" },
      { r: "4.3.1", quarto: "1.4.550" },
    ],
    [
      "quarto-static",
      { quarto: { version: "1.4.550", engines: ["jupyter"] }, python: { version: "3.11.4" } },
      { python: "3.11.4", quarto: "1.4.550" },
    ],
    ["quarto-static", { quarto: { engines: ["markdown"] } }, { quarto: null }],
    ["jupyter-static", { python: { version: "3.12.0rc1" } }, { python: "3.12.0" }],
    ["python-shiny", {}, { python: null }],
    ["static", { python: { version: "3.11.4" }, platform: "4.3.2" }, {}],
  ])("derives what %s content needs", (appmode, extra, expected) => {
    const needs = contentNeeds(parseManifest({ ...base, ...extra, metadata: { appmode } }));
    const got: Record<string, string | null> = {};
    for (const runtime of ["python", "r", "quarto"] as const) {
      if (needs[runtime]) got[runtime] = needs[runtime]!.version;
    }
    expect(got).toEqual(expected);
  });

  it("takes the identifier pin before the image pin", () => {
    const needs = contentNeeds(
      parseManifest({ ...base, environment: { identifier: "abc", image: "x:1" } }),
    );
    expect(needs.pin).toEqual({ identifier: "abc", image: "x:1" });
  });

  it.each([
    ["not JSON", "{", "is not valid JSON"],
    ["an array", "[]", "the manifest must be an object"],
    ["no metadata", "{}", "metadata must be an object"],
    ["no appmode", JSON.stringify({ metadata: {} }), "metadata.appmode is required"],
    [
      "numeric python version",
      JSON.stringify({ ...base, python: { version: 3.11 } }),
      "python.version must be a string",
    ],
    [
      "bad engines",
      JSON.stringify({ ...base, quarto: { engines: ["knitr", 2] } }),
      "quarto.engines[1] must be a string",
    ],
    [
      "bad requires",
      JSON.stringify({ ...base, environment: { python: { requires: "3.11" } } }),
      "environment.python.requires",
    ],
    [
      "bad version",
      JSON.stringify({ ...base, python: { version: "three" } }),
      'python version "three"',
    ],
    [
      "bad management",
      JSON.stringify({ ...base, environment: { environment_management: { r: "no" } } }),
      "environment.environment_management.r must be a boolean",
    ],
  ])("refuses %s with code 38 naming the path", (_, text, message) => {
    try {
      contentNeeds(parseManifest(text));
      expect.unreachable();
    } catch (error) {
      expect(isApiError(error) && error.code).toBe(38);
      expect((error as Error).message).toContain(message);
    }
  });

  it("never throws anything but the typed manifest error on arbitrary input", () => {
    const manifestish = fc.record(
      {
        metadata: fc.oneof(
          fc.record({
            appmode: fc.oneof(
              fc.constantFrom("python-api", "shiny", "quarto-static", "static"),
              fc.anything(),
            ),
          }),
          fc.anything(),
        ),
        python: fc.oneof(
          fc.record({ version: fc.oneof(fc.string(), fc.anything()) }),
          fc.anything(),
        ),
        quarto: fc.anything(),
        environment: fc.oneof(
          fc.record({ python: fc.record({ requires: fc.string() }), image: fc.anything() }),
          fc.anything(),
        ),
        platform: fc.anything(),
        packages: fc.anything(),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.anything(), manifestish, fc.string()), (value) => {
        try {
          contentNeeds(parseManifest(value as never));
        } catch (error) {
          if (!isApiError(error) || error.code !== 38) throw error;
        }
      }),
      { numRuns: 3000 },
    );
  });
});
