/**
 * How a poll loop runs, apart from what it asks the PBX (PollLoop, poll-loop.ts, says what one turn does): one run at
 * a time (a start waits for a stop still in progress), a stop that aborts the request in flight and wakes any wait, a
 * request cut short by a change of extensions that is no failure, waits that such a change may end, and each steady
 * status reported once. Knows nothing of Node-RED.
 */
import type { LoopStatus } from "./poll-types";

export abstract class LoopRunner {
  private controller: AbortController | undefined;
  /** The request in flight was aborted to ask again (the extensions changed): its failure is no failure. */
  private restartRequested = false;
  private wake: (() => void) | undefined;
  private wakeOnChange = false;
  private sleepTimer: ReturnType<typeof setTimeout> | undefined;
  private running: Promise<void> | undefined;
  /** Bumped by every start and stop: a run of an older generation returns at its next turn. */
  private generation = 0;
  protected stopped = true;
  /** Failures in a row. */
  protected attempt = 0;
  private lastState: LoopStatus["state"] | undefined;

  constructor(private readonly report: (status: LoopStatus) => void) {}

  get isRunning(): boolean {
    return !this.stopped;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.attempt = 0;
    const generation = ++this.generation;
    this.starting();
    this.lastState = undefined;
    this.setStatus({ state: "connecting" });
    // A stop still in progress first finishes its run: never two runs, never two polls.
    const previous = this.running;
    this.running = previous
      ? previous.then(() => (generation === this.generation ? this.run(generation) : undefined))
      : this.run(generation);
  }

  /** Aborts the request in flight, clears the timer, and resolves once the loop has returned. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.generation += 1;
    this.controller?.abort();
    this.wakeUp();
    this.stopping();
    const running = this.running;
    await running;
    if (this.running === running) this.running = undefined;
  }

  /** Nothing to poll: the run waits until the extensions change. */
  protected abstract get idle(): boolean;
  /** One turn: a request and what its answer brings. */
  protected abstract step(): Promise<void>;
  /**
   * Whether the turn just done, having succeeded, ends a run of failures. False for a turn that answered without
   * showing that the failing requests work again: the failing status and the backoff stay.
   */
  protected get turnEndsFailures(): boolean {
    return true;
  }
  /** A turn succeeded (after `attempt` was reset, before "listening" is reported). */
  protected abstract succeeded(): void;
  /** A turn failed: report it and wait before the next. */
  protected abstract backOff(err: unknown): Promise<void>;
  /** At start, before "connecting" is reported. */
  protected starting(): void {}
  /** At stop, once the request is aborted. */
  protected stopping(): void {}

  private async run(generation: number): Promise<void> {
    const current = (): boolean => !this.stopped && generation === this.generation;
    while (current()) {
      if (this.idle) {
        await this.sleep(undefined, true);
        continue;
      }
      try {
        await this.step();
        if (!current()) break;
        // During a run of failures only a turn that shows the requests work again ends it (status, backoff).
        if (this.attempt > 0 && !this.turnEndsFailures) continue;
        this.attempt = 0;
        this.succeeded();
        this.setStatus({ state: "listening" });
      } catch (err) {
        if (!current()) break;
        if (this.restartRequested) {
          this.restartRequested = false;
          continue;
        }
        await this.backOff(err);
      }
    }
  }

  /** The extensions changed: the request in flight is cut short (no failure), a wait that allows it ends. */
  protected interrupt(): void {
    if (this.controller) {
      this.restartRequested = true;
      this.controller.abort();
    }
    if (this.wakeOnChange) this.wakeUp();
  }

  /** True when the last request was stopped or cut short on purpose (not a failure to judge). */
  protected get interrupted(): boolean {
    return this.stopped || this.restartRequested;
  }

  /** Sends one request with a signal that stop() and interrupt() abort. */
  protected async abortable<T>(send: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    this.controller = controller;
    this.restartRequested = false;
    try {
      return await send(controller.signal);
    } finally {
      if (this.controller === controller) this.controller = undefined;
    }
  }

  /** Waits `ms` (or until woken when undefined); stop() always wakes it, interrupt() when `onChange`. */
  protected sleep(ms: number | undefined, onChange: boolean): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      this.wakeOnChange = onChange;
      this.wake = resolve;
      if (ms !== undefined) this.sleepTimer = setTimeout(() => this.wakeUp(), ms);
    });
  }

  private wakeUp(): void {
    if (this.sleepTimer !== undefined) clearTimeout(this.sleepTimer);
    this.sleepTimer = undefined;
    const wake = this.wake;
    this.wake = undefined;
    this.wakeOnChange = false;
    wake?.();
  }

  protected setStatus(status: LoopStatus): void {
    // Failures are always reported (the attempt and delay change); steady states once.
    if (status.state !== "failing" && status.state === this.lastState) return;
    this.lastState = status.state;
    this.report(status);
  }
}
