/** A subscriber that records what reaches its flow, for the hub tests over the fake PBX (test/unit/hub-*.test.ts). */
import type { CallEvent } from "../../nodes/lib/poll/poll-loop";
import type { Subscriber } from "../../nodes/lib/poll/subscription-hub";

export type Recorder = Subscriber & { events: CallEvent[]; waitFor(pred: (e: CallEvent) => boolean): Promise<void> };

/** `alive` false: the process is dead, nothing reaches its flow. */
export function recorder(extensions: string[], alive: () => boolean = () => true): Recorder {
  const events: CallEvent[] = [];
  const waiters: Array<{ pred: (e: CallEvent) => boolean; resolve: () => void }> = [];
  return {
    extensions,
    timeoutSec: 30,
    events,
    onStatus: () => undefined,
    onEvent(event) {
      if (!alive()) return;
      events.push(event);
      for (const w of waiters.filter((x) => x.pred(event))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    },
    waitFor(pred) {
      if (events.some(pred)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
}

/** Matches an event of call leg `id` (in state `status`, when given). */
export const of = (id: string, status?: string) => (e: CallEvent): boolean =>
  e.data.uniqueCallId === id && (status === undefined || e.data.status === status);

/** The states of call leg `id` that reached the flow, in order. */
export const statuses = (flow: Recorder, id: string): string[] => flow.events.filter(of(id)).map((e) => e.data.status);
