/** One run of a probe (httpGet, tcpSocket, exec) against a container, as the kubelet's prober. */
import { connect } from "node:net";
import type { V1Container, V1Probe } from "@kubernetes/client-node";
import type Docker from "dockerode";

export function resolvePort(container: V1Container, port: number | string): number {
  if (typeof port === "number") return port;
  const named = container.ports?.find((p) => p.name === port);
  return named ? named.containerPort : Number(port);
}

export async function runProbe(
  probe: V1Probe,
  container: V1Container,
  podIP: string,
  docker: Docker,
  containerId: string,
): Promise<boolean> {
  const timeoutMs = (probe.timeoutSeconds ?? 1) * 1000;
  if (probe.httpGet) {
    const host = probe.httpGet.host ?? podIP;
    const port = resolvePort(container, probe.httpGet.port);
    const headers: Record<string, string> = { "user-agent": "kube-probe/1.33" };
    for (const h of probe.httpGet.httpHeaders ?? []) headers[h.name] = h.value;
    try {
      const response = await fetch(`http://${host}:${port}${probe.httpGet.path ?? "/"}`, {
        headers,
        signal: AbortSignal.timeout(timeoutMs),
        redirect: "manual",
      });
      await response.body?.cancel();
      return response.status >= 200 && response.status < 400;
    } catch {
      return false;
    }
  }
  if (probe.tcpSocket) {
    const port = resolvePort(container, probe.tcpSocket.port);
    return new Promise((resolve) => {
      const socket = connect({ host: probe.tcpSocket!.host ?? podIP, port, timeout: timeoutMs });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("timeout", () => {
        socket.destroy();
        resolve(false);
      });
      socket.once("error", () => resolve(false));
    });
  }
  if (probe.exec?.command) {
    try {
      const exec = await docker
        .getContainer(containerId)
        .exec({ Cmd: probe.exec.command, AttachStdout: true, AttachStderr: true });
      const stream = await exec.start({});
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        stream.on("end", () => {
          clearTimeout(timer);
          resolve();
        });
        stream.resume();
      });
      return (await exec.inspect()).ExitCode === 0;
    } catch {
      return false;
    }
  }
  return true;
}

/**
 * Runs a readiness probe after initialDelaySeconds and then every periodSeconds, and reports
 * a change of readiness once successThreshold successes or failureThreshold failures are
 * reached in a row. Returns a function that stops it.
 */
export function startReadinessProber(
  probe: V1Probe,
  on: { check: () => Promise<boolean>; ready: (ready: boolean) => void; failed: () => void },
): () => void {
  let stopped = false;
  let ready = false;
  let successes = 0;
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  const tick = async () => {
    if (stopped) return;
    const ok = await on.check();
    if (stopped) return;
    successes = ok ? successes + 1 : 0;
    failures = ok ? 0 : failures + 1;
    if (!ready && successes >= (probe.successThreshold ?? 1)) {
      ready = true;
      on.ready(true);
    } else if (ready && failures >= (probe.failureThreshold ?? 3)) {
      ready = false;
      on.ready(false);
    }
    if (failures === 1) on.failed();
    timer = setTimeout(tick, (probe.periodSeconds ?? 10) * 1000);
  };
  timer = setTimeout(tick, (probe.initialDelaySeconds ?? 0) * 1000);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
