/** A client of the fake PBX whose requests can be held on their way to it, one by one, until a test lets them go. */
import { NoojeeClient } from "../../nodes/lib/client/api-client";
import type { SubscribeApi } from "../../nodes/lib/poll/poll-types";
import type { FakePbx } from "../fake-pbx";

export interface Hold {
  /** Resolves once the request has reached the gate (its turn came, it waits there). */
  reached: Promise<void>;
  open(): void;
}

/** A client whose next request matching a gate waits there, before it reaches the PBX, until the gate opens. */
export class Gates {
  readonly api: SubscribeApi;
  private readonly holds: Array<{ match: (last: number) => boolean; arrive: () => void; opened: Promise<void> }> = [];

  /** The client, to close once done (its keep-alive sockets). */
  readonly client: NoojeeClient;

  constructor(pbx: FakePbx, timeOutUnitMs?: number) {
    const real = new NoojeeClient({ origin: pbx.url, apiKey: pbx.apiKey, verifyTls: false, authMode: "apiKey", timeOutUnitMs });
    this.client = real;
    this.api = {
      subscribe: async (extensions, last, timeOut, signal) => {
        const i = this.holds.findIndex((h) => h.match(last));
        if (i >= 0) {
          const [hold] = this.holds.splice(i, 1);
          hold.arrive();
          await Promise.race([hold.opened, aborted(signal)]);
        }
        return real.subscribe(extensions, last, timeOut, signal);
      },
    };
  }

  /** The next request with this lastSequenceNumber waits. */
  hold(last: number): Hold {
    let arrive!: () => void;
    let open!: () => void;
    const reached = new Promise<void>((resolve) => (arrive = resolve));
    const opened = new Promise<void>((resolve) => (open = resolve));
    this.holds.push({ match: (l) => l === last, arrive, opened });
    return { reached, open };
  }
}

const aborted = (signal: AbortSignal | undefined): Promise<never> =>
  new Promise((_, reject) => signal?.addEventListener("abort", () => reject(new Error("aborted")), { once: true }));
