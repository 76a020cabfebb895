/**
 * What to run for each kind of content: a pure function from the app mode and the selected
 * installations to an argument list. Runners decide where it runs; this decides what.
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
  /** Absolute folder of Slipway's runtime helpers (runtime/). */
  runtimeDir: string;
  /** Folder the rendered document goes to. */
  outputDir: string;
  port: number;
  /** URL prefix the content is served under, such as /content/<guid>. */
  rootPath: string;
}

const R_APP = (expression: string) => ["-e", expression];

const RENDERED = new Set(["jupyter-static", "rmd-static", "quarto-static"]);

/** The name of the deploy's last phase, for the task log. */
export function activationPhase(appMode: string): string {
  return appMode === "static"
    ? "Publishing files"
    : RENDERED.has(appMode)
      ? "Rendering"
      : "Starting";
}

export function runPlan(input: CommandInput): RunPlan {
  const { appMode, port } = input;
  const entry = input.entrypoint ?? "";
  const env = { SLIPWAY_ROOT_PATH: input.rootPath, PORT: String(port) };
  const launcher = `${input.runtimeDir}/python/slipway_launch.py`;
  const rscript = () => need(input.r, "R", appMode).replace(/\/R$/, "/Rscript");

  switch (appMode) {
    case "static":
      return { kind: "static" };
    case "python-api":
    case "python-dash":
      return {
        kind: "app",
        argv: [
          need(input.python, "Python", appMode),
          launcher,
          "wsgi",
          entry || "app",
          String(port),
        ],
        env,
      };
    case "python-fastapi":
    case "python-shiny":
      return {
        kind: "app",
        argv: [
          need(input.python, "Python", appMode),
          launcher,
          "asgi",
          entry || "app",
          String(port),
        ],
        env,
      };
    case "python-streamlit":
      return {
        kind: "app",
        argv: [
          need(input.python, "Python", appMode),
          "-m",
          "streamlit",
          "run",
          entry || "app.py",
          "--server.port",
          String(port),
          "--server.address",
          "127.0.0.1",
          "--server.headless",
          "true",
          "--server.baseUrlPath",
          input.rootPath,
        ],
        env,
      };
    case "shiny":
      return {
        kind: "app",
        argv: [
          rscript(),
          ...R_APP(
            `shiny::runApp(".", host = "127.0.0.1", port = ${port}, launch.browser = FALSE)`,
          ),
        ],
        env,
      };
    case "api":
      return {
        kind: "app",
        argv: [
          rscript(),
          ...R_APP(
            `plumber::pr_run(plumber::pr(${rString(entry || "plumber.R")}), host = "127.0.0.1", port = ${port})`,
          ),
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
      throw new ApiError(
        "invalidManifest",
        `Slipway cannot run content of app mode "${appMode}" yet; supported: static, python-api, python-dash, python-fastapi, python-shiny, python-streamlit, shiny, api, jupyter-static, rmd-static, quarto-static.`,
      );
  }
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
