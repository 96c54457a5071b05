/**
 * What the flows sent over UDP (test/perf/common.ts UdpSink), kept in arrival order, with waits for a datagram that
 * matches: tests await an event instead of sleeping.
 */
import { UdpSink } from "../perf/common";

export interface Datagram extends Record<string, unknown> {
  /** Date.now() at arrival. */
  wall: number;
}

export class UdpInbox {
  readonly received: Datagram[] = [];
  private readonly sink: UdpSink;
  private waiters: Array<{ test: (d: Datagram) => boolean; resolve: (d: Datagram) => void }> = [];

  constructor() {
    this.sink = new UdpSink((message) => {
      const d: Datagram = { ...message, wall: Date.now() };
      this.received.push(d);
      const ready = this.waiters.filter((w) => w.test(d));
      this.waiters = this.waiters.filter((w) => !ready.includes(w));
      for (const w of ready) w.resolve(d);
    });
  }

  async start(): Promise<void> {
    await this.sink.start();
  }

  get port(): number {
    return this.sink.port;
  }

  /** The first datagram (already here, or to come) that passes `test`, within `timeoutMs`. */
  waitFor(test: (d: Datagram) => boolean, what: string, timeoutMs: number, since = 0): Promise<Datagram> {
    const found = this.received.find((d) => d.wall >= since && test(d));
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter = {
        test: (d: Datagram) => d.wall >= since && test(d),
        resolve: (d: Datagram) => {
          clearTimeout(timer);
          resolve(d);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        const tail = this.received.slice(-15).map((d) => JSON.stringify(d)).join("\n");
        reject(new Error(`no ${what} within ${timeoutMs} ms; the last datagrams:\n${tail}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  async stop(): Promise<void> {
    await this.sink.stop();
  }
}
