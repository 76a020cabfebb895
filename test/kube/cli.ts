/**
 * `npm run kube:standin -- --port PORT --kubeconfig FILE [--pv CLAIM=HOSTDIR ...]`: the
 * stand-in for a person trying the Kubernetes backend on one machine. Give the server's
 * DataDir for the shared-storage claim, so the server and the pods share data as in a cluster.
 */
import path from "node:path";
import { Command, InvalidArgumentError } from "commander";
import { startKubeStandin } from "./standin.js";

function pvMapping(value: string, previous: Record<string, string>): Record<string, string> {
  const at = value.indexOf("=");
  if (at <= 0 || at === value.length - 1)
    throw new InvalidArgumentError(`expected CLAIM=HOSTDIR, got "${value}"`);
  return { ...previous, [value.slice(0, at)]: path.resolve(value.slice(at + 1)) };
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new InvalidArgumentError(`not a port: "${value}"`);
  return n;
}

const program = new Command("kube-standin")
  .description(
    "A loopback Kubernetes API server whose pods run as Docker containers (for tests and trials).",
  )
  .option("--port <port>", "port to listen on (0: any free port)", port, 0)
  .option("--host <address>", "address to listen on", "127.0.0.1")
  .requiredOption("--kubeconfig <file>", "where to write a kubeconfig that points at the stand-in")
  .option(
    "--pv <claim=hostdir>",
    "back a PersistentVolumeClaim (name or namespace/name) with a host folder; repeatable",
    pvMapping,
    {},
  )
  .option(
    "--data-dir <dir>",
    "folder for pod volumes and claims without a mapping (default: a temporary folder)",
  )
  .option("--memory <quantity>", "the node's allocatable memory", "8Gi")
  .option("--cpu <quantity>", "the node's allocatable cpu", "4")
  .option("--gpus <count>", "the node's nvidia.com/gpu capacity", "0")
  .action(
    async (opts: {
      port: number;
      host: string;
      kubeconfig: string;
      pv: Record<string, string>;
      dataDir?: string;
      memory: string;
      cpu: string;
      gpus: string;
    }) => {
      const standin = await startKubeStandin({
        port: opts.port,
        host: opts.host,
        kubeconfigPath: path.resolve(opts.kubeconfig),
        pv: opts.pv,
        ...(opts.dataDir ? { dataDir: path.resolve(opts.dataDir) } : {}),
        node: {
          capacity: {
            memory: opts.memory,
            cpu: opts.cpu,
            ...(opts.gpus !== "0" ? { "nvidia.com/gpu": opts.gpus } : {}),
          },
        },
      });
      console.log(`Kubernetes stand-in listening on ${standin.url}`);
      console.log(
        `kubeconfig written to ${standin.kubeconfigPath} (export KUBECONFIG=${standin.kubeconfigPath})`,
      );
      for (const [claim, dir] of Object.entries(opts.pv))
        console.log(`claim ${claim} is backed by ${dir}`);
      let stopping = false;
      const stop = async () => {
        // A wrapper (npm, tsx) may pass the same signal on again: clean up once, ignore the rest.
        if (stopping) return;
        stopping = true;
        console.log("stopping: removing the pods' containers");
        await standin.close();
        process.exit(0);
      };
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
    },
  );

await program.parseAsync();
