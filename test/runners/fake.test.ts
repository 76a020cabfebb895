/** The in-memory fake backend meets the same contract as the real ones. */

import { CASES, runRunnerContract } from "./contract.js";
import { FakeRunner, FakeWorld } from "./fake-backend.js";

const world = new FakeWorld();

runRunnerContract({
  name: "fake",
  create: () => new FakeRunner({ world }),
  skipCases: {
    [CASES.supervisor]: "the fake acts out scripts and has no programs for a supervisor to wrap",
  },
});
