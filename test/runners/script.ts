/**
 * The few things a conformance job does, as data: real backends run them as a /bin/sh script
 * (busybox's applets, present on the host and in every test image), the in-memory fake
 * backend acts them out. One description, so the fake is held to what the real ones do.
 */

export type Step =
  /** A line on standard output (or standard error). */
  | { readonly out: string; readonly stderr?: boolean }
  /** The value of an environment variable, as a line. */
  | { readonly env: string }
  /** The working directory, as a line. */
  | { readonly pwd: true }
  /** The file's lines. */
  | { readonly cat: string }
  /** Writes `text` to the file, marked executable; fails the job when it cannot. */
  | { readonly write: string; readonly text: string }
  /** Prints "writable" or "read-only" for the file, without failing. */
  | { readonly probeWrite: string }
  /** From here on, a polite stop runs these steps (then exits 0), or is ignored. */
  | { readonly onStop: readonly Step[] | "ignore" }
  /** A background loop printing "beat" every 50 ms while the job lives. */
  | { readonly beats: true }
  /** Serves HTTP on the declared port `http` at the address the backend gave. */
  | { readonly serve: "http" }
  /** Waits until stopped. */
  | { readonly idle: true }
  | { readonly exit: number };

export type Script = readonly Step[];

/** A single-quoted shell word. */
function quote(text: string): string {
  return `'${text.replaceAll("'", `'\\''`)}'`;
}

export function toShell(script: Script): string {
  return script.map(shellStep).join("\n");
}

function shellStep(step: Step): string {
  if ("out" in step) return `echo ${quote(step.out)}${step.stderr ? " >&2" : ""}`;
  if ("env" in step) return `printf '%s\\n' "$${step.env}"`;
  if ("pwd" in step) return "pwd";
  if ("cat" in step) return `cat ${quote(step.cat)}`;
  if ("write" in step) {
    return `printf '%s' ${quote(step.text)} > ${quote(step.write)} && chmod 755 ${quote(step.write)} || exit 1`;
  }
  if ("probeWrite" in step) {
    return `if (printf x >> ${quote(step.probeWrite)}) 2>/dev/null; then echo writable; else echo read-only; fi`;
  }
  if ("onStop" in step) {
    return step.onStop === "ignore"
      ? "trap '' TERM"
      : `trap ${quote(`${toShell(step.onStop)}\nexit 0`)} TERM`;
  }
  if ("beats" in step) return "(while :; do echo beat; sleep 0.05; done) &";
  if ("serve" in step) {
    return 'mkdir -p /tmp/www.$$ && echo ok > /tmp/www.$$/index.html && busybox httpd -f -p "$SLIPWAY_HOST:$SLIPWAY_PORT_HTTP" -h /tmp/www.$$ &';
  }
  // Waiting on a background sleep lets a trap run at once. When the stop reaches the sleep
  // first, wait reports it ("Terminated") before the trap runs: 3 in 150 stops under load.
  if ("idle" in step) return "while :; do sleep 1 & wait $! 2>/dev/null; done";
  return `exit ${step.exit}`;
}

const scripts = new Map<string, Script>();

/** The argv that runs the script in a shell; the fake backend finds the script again by it. */
export function shellArgv(script: Script): string[] {
  const text = toShell(script);
  scripts.set(text, script);
  return ["/bin/sh", "-c", text];
}

/** The script an argv made by shellArgv stands for. */
export function scriptOf(argv: readonly string[]): Script | undefined {
  return argv.length === 3 && argv[0] === "/bin/sh" && argv[1] === "-c"
    ? scripts.get(argv[2]!)
    : undefined;
}
