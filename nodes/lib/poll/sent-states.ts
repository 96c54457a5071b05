/**
 * The state each subscriber was last sent for each leg, so that a replay of the current state (initial: a leg
 * re-read when its extension moves between the hub's chunks, a late subscriber handed the changes kept for it) never
 * sends a subscriber the state it has already. Knows nothing of Node-RED.
 */
import type { CallEvent } from "./poll-types";

/**
 * Legs remembered per subscriber, past which the oldest are forgotten (a leg goes at once at its Hungup). Not at Busy or
 * No Answer: the PBX lists such a leg as in progress until its Hungup, so a current-state read brings that state again
 * (found by the model-based test: a late subscriber handed a kept Busy got it again from the read of its extension).
 */
const MAX_LEGS = 20_000;

export class SentStates {
  private readonly bySubscriber = new WeakMap<object, Map<string, string | undefined>>();

  /** True when `event` replays, as the current state, the very state `subscriber` was last sent for its leg. */
  repeats(subscriber: object, event: CallEvent): boolean {
    if (!event.initial) return false;
    const last = this.bySubscriber.get(subscriber)?.get(legOf(event));
    return last !== undefined && last === event.eventId;
  }

  sent(subscriber: object, event: CallEvent): void {
    let legs = this.bySubscriber.get(subscriber);
    if (!legs) this.bySubscriber.set(subscriber, (legs = new Map()));
    const leg = legOf(event);
    legs.delete(leg);
    if (event.data.status === "Hungup") return;
    legs.set(leg, event.eventId);
    if (legs.size > MAX_LEGS) legs.delete(legs.keys().next().value as string);
  }
}

const legOf = (event: CallEvent): string => `${event.extension}\u0000${event.data.uniqueCallId}`;
