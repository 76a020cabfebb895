/**
 * Deliberately broken backends, like JupyterHub's SlowSpawner, NeverSpawner and BadSpawner:
 * the fake backend with one fault each, for testing the code that drives runners without any
 * real infrastructure.
 */
import type { Job, RunHandle, StartOptions } from "../../src/runners/runner.js";
import { type FakeOptions, FakeRunner, FakeWorld } from "./fake-backend.js";
import type { Script } from "./script.js";

/** What an application job does on the fake: answers HTTP until stopped. */
export const SERVES: Script = [{ out: "listening" }, { serve: "http" }, { idle: true }];

/** Every application serves; every other job (builds, renders) succeeds at once. */
export function appProgram(job: Job): Script {
  return job.kind === "run" ? SERVES : [{ out: `${job.kind} done` }, { exit: 0 }];
}

export function fakeFor(world = new FakeWorld(), options: FakeOptions = {}): FakeRunner {
  return new FakeRunner({ world, program: appProgram, ...options });
}

/** Starts only once `release()` is called: a backend pulling a large image. */
export class SlowRunner extends FakeRunner {
  #gate: Promise<void>;
  release!: () => void;

  constructor(world = new FakeWorld()) {
    super({ world, program: appProgram });
    this.#gate = new Promise((resolve) => {
      this.release = resolve;
    });
  }

  override async start(job: Job, options?: StartOptions): Promise<RunHandle> {
    await this.#gate;
    return super.start(job, options);
  }
}

/** Applications run but never answer on their port. */
export class NeverReadyRunner extends FakeRunner {
  constructor(world = new FakeWorld()) {
    super({
      world,
      program: (job) =>
        job.kind === "run" ? [{ out: "thinking" }, { idle: true }] : appProgram(job),
    });
  }
}

/** Applications exit at once with an error. */
export class CrashingRunner extends FakeRunner {
  constructor(world = new FakeWorld()) {
    super({
      world,
      program: (job) =>
        job.kind === "run"
          ? [{ out: "Traceback: ImportError: no module named flask", stderr: true }, { exit: 1 }]
          : appProgram(job),
    });
  }
}

/** Forgets a running application's work (a node lost, a container removed by hand). */
export class ForgetfulRunner extends FakeRunner {
  constructor(world = new FakeWorld()) {
    super({ world, program: appProgram });
  }

  /** Makes the backend lose every job it runs. */
  loseEverything(): void {
    for (const name of [...this.world.jobs.keys()]) this.world.lose(name);
  }
}
