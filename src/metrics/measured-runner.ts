/**
 * The runner as the rest of the server sees it, with every image pull its starts wait for
 * observed: builds, renders and application starts all start jobs, and any of them may pull.
 * A proxy rather than a copy, so the backend's own members and private state stay its own.
 */
import type { Runner, StartOptions } from "../runners/runner.js";
import type { Metrics } from "./metrics.js";

export function measuredRunner(runner: Runner, metrics: Metrics): Runner {
  const start: Runner["start"] = (job, options: StartOptions = {}) =>
    runner.start(job, {
      ...options,
      onPulled: (pull) => {
        metrics.imagePull.observe({ result: pull.ok ? "pulled" : "failed" }, pull.seconds);
        options.onPulled?.(pull);
      },
    });
  return new Proxy(runner, {
    get(target, key) {
      if (key === "start") return start;
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
