/**
 * Loopback addresses for pods and Services. All of 127.0.0.0/8 reaches `lo` on Linux, so
 * every pod gets an address of its own and two pods can both listen on $POD_IP:8080 under
 * host networking. Each stand-in takes a random second octet, so that stand-ins started by
 * tests running side by side rarely share addresses.
 */
export class LoopbackPool {
  #used = new Set<string>();
  #next = 0;

  constructor(
    readonly secondOctet: number,
    /** Third octets this pool hands out, e.g. [1, 99] for pods. */
    readonly range: [number, number],
  ) {}

  allocate(): string {
    const size = (this.range[1] - this.range[0] + 1) * 254;
    for (let i = 0; i < size; i++) {
      const n = (this.#next + i) % size;
      const ip = `127.${this.secondOctet}.${this.range[0] + Math.floor(n / 254)}.${(n % 254) + 1}`;
      if (!this.#used.has(ip)) {
        this.#used.add(ip);
        this.#next = n + 1;
        return ip;
      }
    }
    throw new Error("the loopback address pool is exhausted");
  }

  release(ip: string | undefined): void {
    if (ip) this.#used.delete(ip);
  }
}

export function randomSecondOctet(): number {
  return 16 + Math.floor(Math.random() * 224);
}
