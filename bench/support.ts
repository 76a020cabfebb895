/** What the benchmarks share: waiting for a first answer, medians, percentiles, the verdict line. */
import { createServer } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/** Resolves once `url` answers 200 with a body `accept` takes (any, by default). */
export async function firstOk(
  url: string,
  headers: Record<string, string> = {},
  accept: (body: string) => boolean = () => true,
): Promise<void> {
  for (;;) {
    const body = await fetch(url, { headers }).then(
      async (r) => (r.ok ? await r.text() : undefined),
      () => undefined,
    );
    if (body !== undefined && accept(body)) return;
    await sleep(5);
  }
}

export function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** One result beside its baseline: both figures, the ratio and whether the aim was met. */
export function verdict(
  what: string,
  ours: { label: string; value: number },
  base: { label: string; value: number },
  aim: { text: string; met: boolean },
  unit = "ms",
): void {
  console.log(what);
  const figure = (value: number) =>
    value >= 100 ? value.toFixed(unit === "ms" ? 0 : 1) : value.toPrecision(3);
  console.log(`  slipway : ${figure(ours.value)} ${unit}  ${ours.label}`);
  console.log(`  baseline: ${figure(base.value)} ${unit}  ${base.label}`);
  console.log(
    `  ratio   : ${(ours.value / base.value).toFixed(2)}x; aim: ${aim.text} (${aim.met ? "met" : "not met"})`,
  );
}
