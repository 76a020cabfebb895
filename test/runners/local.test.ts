import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { LocalRunner } from "../../src/runners/local/local-backend.js";
import { runRunnerContract } from "./contract.js";

const logDir = mkdtempSync(path.join(tmpdir(), "slipway-local-runner-"));
runRunnerContract({ name: "local", create: () => new LocalRunner({ logDir }) });
