/**
 * What subscribers keep of their own (a subscribe node's call summaries so far) saved with the hub's position, by
 * subscriber id (the node's id, the same after a restart or a redeploy). Knows nothing of Node-RED.
 *
 * A subscriber's state is taken at the same moment as the position, so it has seen exactly the changes the position
 * covers: after a restart it carries on with the changes that came after, as if it had never stopped. The state of
 * a subscriber that left for a deploy is kept until the deploy is over, for the node that comes back with its id.
 */

export type SubscriberState = Record<string, unknown>;

/** The part of a subscriber this module deals with. */
export interface StatefulSubscriber {
  saveState?(): SubscriberState | undefined;
  restoreState?(state: SubscriberState): void;
}

export class SubscriberStates {
  /** States of subscribers not (or not yet) registered. */
  private readonly waiting = new Map<string, SubscriberState>();

  /** The states of a saved position, for the subscribers that register from now on. */
  restore(saved: Readonly<Record<string, SubscriberState>> | undefined): void {
    for (const [id, state] of Object.entries(saved ?? {})) this.waiting.set(id, state);
  }

  /** A subscriber registered: hands it its saved state, if there is one. */
  handBack(id: string, subscriber: StatefulSubscriber): void {
    const state = this.waiting.get(id);
    if (state === undefined) return;
    this.waiting.delete(id);
    subscriber.restoreState?.(state);
  }

  /** A subscriber left (a deploy): keeps its state for the one that comes back with its id. */
  keep(id: string, subscriber: StatefulSubscriber): void {
    const state = subscriber.saveState?.();
    if (state !== undefined) this.waiting.set(id, state);
  }

  /** The start or the deploy is over: states nobody took back are of no use. */
  retainOnly(ids: ReadonlySet<string>): void {
    for (const id of [...this.waiting.keys()]) if (!ids.has(id)) this.waiting.delete(id);
  }

  forget(): void {
    this.waiting.clear();
  }

  /** Every state as it is now: the registered subscribers' and those kept for a returning one. */
  export(subscribers: ReadonlyMap<string, StatefulSubscriber>): Record<string, SubscriberState> | undefined {
    const states: Record<string, SubscriberState> = Object.fromEntries(this.waiting);
    for (const [id, subscriber] of subscribers) {
      const state = subscriber.saveState?.();
      if (state !== undefined) states[id] = state;
    }
    return Object.keys(states).length > 0 ? states : undefined;
  }
}
