/**
 * What to run for each kind of content: a pure function from the app mode and the selected
 * installations to an argument list. Runners decide where it runs; this decides what. Paths are
 * as the job sees them. Applications listen where the runner tells them, in `SLIPWAY_HOST`
 * and `SLIPWAY_PORT_HTTP`; nothing here names an address or a port.
 */
import { ApiError } from "../errors.js";

export type RunPlan =
  | { kind: "static" }
  | { kind: "render"; argv: string[]; env: Record<string, string>; output: string }
  | { kind: "app"; argv: string[]; env: Record<string, string> };

export interface CommandInput {
  appMode: string;
  /** Entrypoint from the manifest: "module:object" for Python, a file for documents. */
  entrypoint: string | null;
  /** Interpreter chosen for each runtime the content needs (venv python when built). */
  python?: string;
  r?: string;
  quarto?: string;
  /** Folder of Slipway's runtime helpers (runtime/), as the job sees it. */
  runtimeDir: string;
  /** Folder the rendered document goes to. */
  outputDir: string;
  /** URL prefix the content is served under, such as /content/<guid>. */
  rootPath: string;
}

const R_APP = (expression: string) => ["-e", expression];
const R_LISTEN =
  'host = Sys.getenv("SLIPWAY_HOST"), port = as.integer(Sys.getenv("SLIPWAY_PORT_HTTP"))';

const RENDERED = new Set(["jupyter-static", "rmd-static", "quarto-static"]);
const APPS = new Set([
  "python-api",
  "python-dash",
  "python-fastapi",
  "python-shiny",
  "python-streamlit",
  "shiny",
  "api",
]);

/** Refuses an app mode Slipway cannot run, before anything is built for it. */
export function checkAppMode(appMode: string): void {
  if (appMode !== "static" && !RENDERED.has(appMode) && !APPS.has(appMode)) unsupported(appMode);
}

/** Whether the app mode is a document rendered once and then served as files. */
export function isRendered(appMode: string): boolean {
  return RENDERED.has(appMode);
}

/** The name of the deploy's last phase, for the task log. */
export function activationPhase(appMode: string): string {
  return appMode === "static"
    ? "Publishing files"
    : RENDERED.has(appMode)
      ? "Rendering"
      : "Starting";
}

export function runPlan(input: CommandInput): RunPlan {
  const { appMode } = input;
  const entry = input.entrypoint ?? "";
  const env = { SLIPWAY_ROOT_PATH: input.rootPath };
  const launch = (mode: string, fallback: string): RunPlan => ({
    kind: "app",
    argv: [
      need(input.python, "Python", appMode),
      `${input.runtimeDir}/python/slipway_launch.py`,
      mode,
      entry || fallback,
    ],
    env,
  });
  const rscript = () => need(input.r, "R", appMode).replace(/\/R$/, "/Rscript");

  switch (appMode) {
    case "static":
      return { kind: "static" };
    case "python-api":
    case "python-dash":
      return launch("wsgi", "app");
    case "python-fastapi":
    case "python-shiny":
      return launch("asgi", "app");
    case "python-streamlit":
      return launch("streamlit", "app.py");
    case "shiny":
      return {
        kind: "app",
        argv: [rscript(), ...R_APP(`shiny::runApp(".", ${R_LISTEN}, launch.browser = FALSE)`)],
        env,
      };
    case "api":
      return {
        kind: "app",
        argv: [
          rscript(),
          ...R_APP(`plumber::pr_run(plumber::pr(${rString(entry || "plumber.R")}), ${R_LISTEN})`),
        ],
        env,
      };
    case "jupyter-static":
      return {
        kind: "render",
        argv: [
          need(input.python, "Python", appMode),
          "-m",
          "nbconvert",
          "--to",
          "html",
          "--execute",
          "--output-dir",
          input.outputDir,
          "--output",
          "index",
          entry || "index.ipynb",
        ],
        env,
        output: "index.html",
      };
    case "rmd-static":
      return {
        kind: "render",
        argv: [
          rscript(),
          ...R_APP(
            `rmarkdown::render(${rString(entry || "index.Rmd")}, output_dir = ${rString(input.outputDir)}, output_file = "index.html")`,
          ),
        ],
        env,
        output: "index.html",
      };
    case "quarto-static":
      return {
        kind: "render",
        argv: [
          need(input.quarto, "Quarto", appMode),
          "render",
          entry || ".",
          "--output-dir",
          input.outputDir,
          "--to",
          "html",
        ],
        env: { ...env, ...(input.python ? { QUARTO_PYTHON: input.python } : {}) },
        output: "index.html",
      };
    default:
      return unsupported(appMode);
  }
}

function unsupported(appMode: string): never {
  throw new ApiError(
    "invalidManifest",
    `Slipway cannot run content of app mode "${appMode}" yet; supported: static, ${[...APPS, ...RENDERED].join(", ")}.`,
  );
}

function need(path: string | undefined, runtime: string, appMode: string): string {
  if (!path)
    throw new ApiError(
      "versionMismatch",
      `Content of app mode ${appMode} needs ${runtime}, but no ${runtime} installation was selected.`,
    );
  return path;
}

/** An R string literal: the value travels as data, never as code. */
function rString(value: string): string {
  return JSON.stringify(value);
}
