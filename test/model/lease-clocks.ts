/**
 * The clocks and timers of each replica in the lease model (lease.model.test.ts): every replica is a process of its
 * own, with its own monotonic clock (which a suspended VM's does not advance), its own wall clock (which can step) and
 * its own timers, which run on its monotonic clock and wait while it is frozen. sinon's fake timers fake one clock per
 * global, so a replica's timers are kept here instead: while `install()` is in effect, setTimeout/clearTimeout called
 * within `proc.run(...)` (and everything that continues from it: AsyncLocalStorage follows awaits) go to that
 * replica's queue; called anywhere else (mocha, ioredis, the model), to the real ones.
 */
import { AsyncLocalStorage } from "node:async_hooks";

const context = new AsyncLocalStorage<ReplicaClock>();
const realSetTimeout = globalThis.setTimeout;
const realClearTimeout = globalThis.clearTimeout;

interface Timer {
  id: number;
  at: number;
  fn: () => void;
}

/** A timer handle as Node's: the product calls unref() on some. */
class Handle {
  constructor(readonly id: number, readonly owner: ReplicaClock) {}
  unref(): this {
    return this;
  }
  ref(): this {
    return this;
  }
  hasRef(): boolean {
    return false;
  }
  [Symbol.toPrimitive](): number {
    return this.id;
  }
}

export class ReplicaClock {
  /** Its monotonic clock (ms): moves with the world unless suspended. */
  mono: number;
  /** Its wall clock (ms since the epoch). */
  wall: number;
  /** Frozen (SIGSTOP, a GC pause): timers and Redis answers wait; the clocks run on. */
  frozen = false;
  /** A suspended VM: frozen, and the monotonic clock does not move either. */
  suspended = false;
  /**
   * The lease's assumption: within one process's life at most one of its clocks misses time (a suspended VM's
   * monotonic clock, or a wall clock stepped back); each is the other's backstop. Which one this process has had.
   */
  clockFault: "suspended" | "steppedBack" | undefined;
  private timers: Timer[] = [];
  private nextId = 1;

  constructor(mono: number, wall: number) {
    this.mono = mono;
    this.wall = wall;
  }

  /** Runs `fn` as this replica: the timers it (and what it awaits) sets are this replica's. */
  run<T>(fn: () => T): T {
    return context.run(this, fn);
  }

  /** The world moved `ms` on. */
  pass(ms: number): void {
    this.wall += ms;
    if (!this.suspended) this.mono += ms;
  }

  /** In how many world ms its next timer is due (Infinity when none, or while frozen). */
  nextDueIn(): number {
    if (this.frozen || this.timers.length === 0) return Infinity;
    return Math.max(0, Math.min(...this.timers.map((t) => t.at)) - this.mono);
  }

  /** Fires the earliest due timer, if any (as this replica): true when one ran. */
  fireOne(): boolean {
    if (this.frozen) return false;
    let first: Timer | undefined;
    for (const t of this.timers) if (t.at <= this.mono && (first === undefined || t.at < first.at)) first = t;
    if (!first) return false;
    this.timers = this.timers.filter((t) => t !== first);
    this.run(first.fn);
    return true;
  }

  /** The process ended: its timers with it. */
  clear(): void {
    this.timers = [];
  }

  setTimeout(fn: () => void, ms: number): Handle {
    const id = this.nextId++;
    // Same-time timers fire in the order set, as Node's do: `at` ties are broken by id (filter keeps order).
    this.timers.push({ id, at: this.mono + Math.max(1, Math.floor(ms || 0)), fn });
    return new Handle(id, this);
  }

  clearTimeout(id: number): void {
    this.timers = this.timers.filter((t) => t.id !== id);
  }
}

/** Routes setTimeout/clearTimeout as described above; returns the function that puts the real ones back. */
export function install(): () => void {
  const fakeSet = (fn: (...args: unknown[]) => void, ms?: number, ...args: unknown[]): unknown => {
    const clock = context.getStore();
    if (!clock) return realSetTimeout(fn, ms, ...args);
    return clock.setTimeout(() => fn(...args), ms ?? 0);
  };
  const fakeClear = (handle: unknown): void => {
    if (handle instanceof Handle) handle.owner.clearTimeout(handle.id);
    else realClearTimeout(handle as Parameters<typeof clearTimeout>[0]);
  };
  globalThis.setTimeout = fakeSet as unknown as typeof setTimeout;
  globalThis.clearTimeout = fakeClear as typeof clearTimeout;
  return () => {
    globalThis.setTimeout = realSetTimeout;
    globalThis.clearTimeout = realClearTimeout;
  };
}

/** Runs `fn` outside every replica (real timers): for the Redis client. */
export function outside<T>(fn: () => T): T {
  return context.exit(fn);
}

/** One real macrotask: lets Redis answers arrive and promise continuations run. */
export function realTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
