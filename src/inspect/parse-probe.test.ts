import { describe, expect, it } from "vitest";
import { parseProbeOutput } from "./parse-probe.js";

describe("the probe's output", () => {
  it("takes each interpreter's version from what it printed, and skips the rest", () => {
    const output = [
      'r\t/opt/R/4.2.2/bin/R\tR version 4.2.2 (2022-10-31) -- "Innocent and Trusting"',
      'r\t/usr/bin/R\tR version 4.1.3 Patched (2022-03-10 r81896) -- "One Push-Up"',
      "python\t/opt/python/3.11.2/bin/python3\tPython 3.11.2",
      "python\t/usr/bin/python2\tPython 2.7.18",
      "python\t/usr/local/bin/python\tpyenv: python: command not found",
      "quarto\t/opt/quarto/bin/quarto\t1.4.550",
      "quarto\t/opt/quarto/bin/quarto\t1.4.550",
      "garbage line",
      "perl\t/usr/bin/perl\tThis is perl 5",
    ].join("\n");
    const found = parseProbeOutput(output);
    expect(found).toEqual({
      python: [
        { runtime: "python", version: "3.11.2", path: "/opt/python/3.11.2/bin/python3" },
        { runtime: "python", version: "2.7.18", path: "/usr/bin/python2" },
      ],
      r: [
        { runtime: "r", version: "4.2.2", path: "/opt/R/4.2.2/bin/R" },
        { runtime: "r", version: "4.1.3", path: "/usr/bin/R" },
      ],
      quarto: [{ runtime: "quarto", version: "1.4.550", path: "/opt/quarto/bin/quarto" }],
    });
  });
});
