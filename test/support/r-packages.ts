/** What the host's R can do, for the tests that render or serve R content on it. */
import { execFileSync } from "node:child_process";

/** Why Rscript cannot run the expression, or undefined when it can. */
export function rCannot(expression: string, missing: string): string | undefined {
  try {
    execFileSync("Rscript", ["-e", expression], { stdio: "ignore" });
    return undefined;
  } catch {
    return missing;
  }
}

/** Why R Markdown documents cannot render here, or undefined when they can. */
export function rmarkdownMissing(): string | undefined {
  return rCannot(
    "library(rmarkdown); stopifnot(rmarkdown::pandoc_available())",
    "Rscript with rmarkdown and pandoc is not installed",
  );
}
