import { describe, expect, it } from "vitest";
import { isApiError } from "../errors.js";
import { type ContentNeeds, contentNeeds, parseManifest } from "./manifest.js";
import { type Modes, type SelectableEnvironment, selectEnvironment } from "./selection.js";

let clock = 0;
function env(
  name: string,
  runtimes: Partial<Record<"python" | "r" | "quarto", string[]>>,
  extra: Partial<SelectableEnvironment> = {},
): SelectableEnvironment {
  clock++;
  const list = (runtime: "python" | "r" | "quarto") =>
    runtimes[runtime]
      ? {
          installations: runtimes[runtime]!.map((version) => ({
            version,
            path: `/opt/${runtime}/${version}/bin/${runtime}`,
          })),
        }
      : null;
  return {
    guid: `guid-${name}`,
    name,
    title: name,
    matching: "any",
    created_time: `2026-01-01T00:00:${String(clock).padStart(2, "0")}Z`,
    python: list("python"),
    r: list("r"),
    quarto: list("quarto"),
    ...extra,
  };
}

function needs(manifest: object): ContentNeeds {
  return contentNeeds(parseManifest({ version: 1, ...manifest }));
}
const py = (version?: string, requires?: string, extra: object = {}) =>
  needs({
    metadata: { appmode: "python-api" },
    python: version ? { version } : {},
    ...(requires ? { environment: { python: { requires } } } : {}),
    ...extra,
  });
const r = (platform?: string) =>
  needs({ metadata: { appmode: "shiny" }, ...(platform ? { platform } : {}) });

function pick(
  contentNeeds: ContentNeeds,
  environments: SelectableEnvironment[],
  options: {
    modes?: Partial<Modes>;
    defaultEnvironmentGuid?: string;
    defaultImageName?: string;
  } = {},
) {
  return selectEnvironment({ needs: contentNeeds, environments, ...options });
}

function refusal(fn: () => unknown): { code: number; message: string; payload: unknown } {
  try {
    fn();
  } catch (error) {
    if (isApiError(error))
      return { code: error.code, message: error.message, payload: error.payload };
    throw error;
  }
  throw new Error("expected a refusal");
}

describe("matching modes", () => {
  const catalog = [
    env("a:3.10", { python: ["3.10.12"] }),
    env("b:3.11", { python: ["3.11.2"] }),
    env("c:3.12", { python: ["3.12.1"] }),
  ];

  it("major-minor takes the same major.minor only", () => {
    expect(pick(py("3.11.7"), catalog).environment?.name).toBe("b:3.11");
    expect(refusal(() => pick(py("3.9.1"), catalog)).message).toBe(
      "Cannot find compatible environment: no compatible environment with Python version 3.9.1 (major-minor)",
    );
  });

  it("exact takes the same version only", () => {
    expect(refusal(() => pick(py("3.11.7"), catalog, { modes: { python: "exact" } })).code).toBe(
      106,
    );
    expect(
      pick(py("3.11.2"), catalog, { modes: { python: "exact" } }).installations.python,
    ).toEqual({
      version: "3.11.2",
      path: "/opt/python/3.11.2/bin/python",
    });
    expect(pick(py("3.11.2.0"), catalog, { modes: { python: "exact" } }).environment?.name).toBe(
      "b:3.11",
    );
  });

  it("nearest takes any version, the closest one", () => {
    expect(pick(py("3.9.1"), catalog, { modes: { python: "nearest" } }).environment?.name).toBe(
      "a:3.10",
    );
    expect(pick(py("3.13.0"), catalog, { modes: { python: "nearest" } }).environment?.name).toBe(
      "c:3.12",
    );
  });

  it("R defaults to nearest and Quarto to nearest", () => {
    const rs = [env("r41", { r: ["4.1.3"] }), env("r43", { r: ["4.3.2"] })];
    expect(pick(r("4.2.9"), rs).environment?.name).toBe("r43");
    const quarto = needs({
      metadata: { appmode: "quarto-static" },
      quarto: { version: "1.3.100", engines: ["markdown"] },
    });
    expect(pick(quarto, [env("q14", { quarto: ["1.4.550"] })]).installations.quarto?.version).toBe(
      "1.4.550",
    );
  });

  it("with no wanted version takes the newest installation", () => {
    const result = pick(py(), [env("many", { python: ["3.9.1", "3.12.0", "3.10.4"] })]);
    expect(result.installations.python?.version).toBe("3.12.0");
  });
});

describe("closeness ranking", () => {
  it.each([
    ["same version beats same major.minor", ["3.11.6", "3.11.7"], "3.11.7"],
    ["same major.minor beats same major", ["3.10.7", "3.11.1"], "3.11.1"],
    ["same major beats other major", ["2.11.7", "3.9.0"], "3.9.0"],
    ["smaller distance wins within a tier", ["3.11.2", "3.11.5"], "3.11.5"],
    ["newer before older at equal distance", ["3.11.6", "3.11.8"], "3.11.8"],
    ["other majors by distance", ["1.0", "5.0"], "5.0"],
    ["missing components count as zero", ["3.11", "3.11.1"], "3.11"],
  ])("%s", (_, versions, expected) => {
    const wanted = _.includes("zero") ? "3.11.0" : _.includes("other majors") ? "4.0" : "3.11.7";
    const result = pick(py(wanted), [env("one", { python: versions })], {
      modes: { python: "nearest" },
    });
    expect(result.installations.python?.version).toBe(expected);
  });

  it("the higher version wins a full tie of tier and distance and direction", () => {
    const result = pick(py("3.11.7"), [env("one", { python: ["3.11.8", "3.11.8.1"] })], {
      modes: { python: "nearest" },
    });
    expect(result.installations.python?.version).toBe("3.11.8.1");
  });
});

describe("constraints", () => {
  it("filters installations hard and says so", () => {
    const catalog = [env("a", { python: ["3.11.2", "3.12.1"] })];
    expect(
      pick(py("3.12.0", "~=3.11.0", {}), catalog, { modes: { python: "nearest" } }).installations
        .python?.version,
    ).toBe("3.11.2");
    const refused = refusal(() =>
      pick(py("3.12.0", ">=3.13"), catalog, { modes: { python: "nearest" } }),
    );
    expect(refused.message).toBe(
      "Cannot find compatible environment: no compatible environment with Python version 3.12.0 (nearest, >=3.13)",
    );
    expect(JSON.stringify(refused.payload)).toContain("python 3.11.2 fails constraint >=3.13");
  });
});

describe("candidates and pins", () => {
  const any = env("img:any", { python: ["3.11.4"] });
  const exact = env("img:exact", { python: ["3.11.4"] }, { matching: "exact" });
  const none = env("img:none", { python: ["3.11.4"] }, { matching: "none" });
  const catalog = [any, exact, none];

  it("automatic selection skips exact and none, saying why", () => {
    const result = pick(py("3.11.4"), catalog);
    expect(result.environment?.name).toBe("img:any");
    expect(
      Object.fromEntries(result.explanation.map((c) => [c.name, [c.verdict, c.detail]])),
    ).toEqual({
      "img:any": ["chosen", "python 3.11.4 (same version)"],
      "img:exact": ["excluded", "exact and not requested"],
      "img:none": ["excluded", "matching none"],
    });
  });

  it("a manifest image pin selects an exact environment", () => {
    expect(
      pick(py("3.11.4", undefined, { environment: { image: "img:exact" } }), catalog).environment
        ?.name,
    ).toBe("img:exact");
  });

  it("a manifest identifier pin wins over an image pin and over content defaults", () => {
    const manifest = py("3.11.4", undefined, {
      environment: { identifier: exact.guid, image: "img:any" },
    });
    expect(pick(manifest, catalog, { defaultImageName: "img:any" }).environment?.name).toBe(
      "img:exact",
    );
  });

  it("the content's default environment, then its default image, pin when the manifest does not", () => {
    expect(
      pick(py("3.11.4"), catalog, { defaultEnvironmentGuid: exact.guid }).environment?.name,
    ).toBe("img:exact");
    expect(pick(py("3.11.4"), catalog, { defaultImageName: "img:exact" }).environment?.name).toBe(
      "img:exact",
    );
  });

  it("refuses a pin to a none environment with 108", () => {
    const refused = refusal(() =>
      pick(py("3.11.4", undefined, { environment: { image: "img:none" } }), catalog),
    );
    expect(refused.code).toBe(108);
    expect(refused.message).toContain("img:none");
  });

  it("refuses a pin to an image no environment uses with 106", () => {
    const refused = refusal(() =>
      pick(py("3.11.4", undefined, { environment: { image: "img:missing" } }), catalog),
    );
    expect(refused.code).toBe(106);
    expect(refused.message).toContain("img:missing");
    expect(
      refusal(() => pick(py("3.11.4"), catalog, { defaultEnvironmentGuid: "gone" })).code,
    ).toBe(106);
  });

  it("never falls back from an incompatible pin", () => {
    const refused = refusal(() =>
      pick(py("3.10.1", undefined, { environment: { image: "img:exact" } }), catalog),
    );
    expect(refused.code).toBe(106);
    expect(refused.message).toBe(
      "Cannot find compatible environment: the requested image img:exact is not compatible with Python version 3.10.1 (major-minor)",
    );
  });

  it("needs no environment for static content", () => {
    const result = pick(needs({ metadata: { appmode: "static" } }), catalog);
    expect(result.environment).toBeNull();
  });
});

describe("choosing between environments", () => {
  it("compares R first, then Python, then Quarto", () => {
    const both = needs({
      metadata: { appmode: "quarto-static" },
      platform: "4.3.2",
      python: { version: "3.11.4" },
      quarto: { version: "1.4.1", engines: ["knitr"] },
    });
    const rBetter = env("r-better", { r: ["4.3.2"], python: ["3.11.1"], quarto: ["1.4.1"] });
    const pyBetter = env("py-better", { r: ["4.3.1"], python: ["3.11.4"], quarto: ["1.4.1"] });
    expect(pick(both, [pyBetter, rBetter]).environment?.name).toBe("r-better");
  });

  it("prefers the leaner image, then the older environment, then the smaller guid", () => {
    const lean = env("lean", { python: ["3.11.4"] });
    const fat = env("fat", { python: ["3.11.4"], r: ["4.3.2"] });
    expect(pick(py("3.11.4"), [fat, lean]).environment?.name).toBe("lean");
    const older = env("older", { python: ["3.11.4"] });
    const newer = env("newer", { python: ["3.11.4"] });
    expect(pick(py("3.11.4"), [newer, older]).environment?.name).toBe("older");
    const twinA = {
      ...env("twin-a", { python: ["3.11.4"] }),
      guid: "a",
      created_time: "2026-01-01T00:00:00Z",
    };
    const twinB = { ...twinA, name: "twin-b", guid: "b" };
    expect(pick(py("3.11.4"), [twinB, twinA]).environment?.name).toBe("twin-a");
  });

  it("reports each environment's ranks and reasons", () => {
    const result = pick(r("4.2.1"), [
      env("r41", { r: ["4.1.3"] }),
      env("py", { python: ["3.11.1"] }),
    ]);
    expect(result.explanation.map((c) => c.detail)).toEqual([
      "r 4.1.3 (same major, 1 older)",
      "no R installation",
    ]);
  });
});
