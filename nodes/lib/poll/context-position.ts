/**
 * A hub's position kept in a Node-RED context store (settings.js `contextStorage`: localfilesystem, FlowFuse's
 * persistent store, Redis, ...) instead of the resume file: for installs whose user directory does not survive a
 * restart (FlowFuse, a container without a volume). The same content, checks and throttle as the file
 * (position-format.ts, position-writer.ts); how durable a write is, is the store's business (localfilesystem writes
 * its cache out every flushInterval). Knows nothing of Node-RED beyond the shape of a context's get/set.
 *
 * A read that fails or does not answer is tried again, with a growing pause, for `readForMs` (3 min): a store still
 * connecting at boot (a database, Redis) must not cost the calls made while Node-RED was down. Whichever read answers
 * first counts, a late one too. Until one has, the hub writes nothing (a crash then must leave the position as it was).
 */
import { backoffDelay, type BackoffOptions } from "./backoff";
import { checkSaved, type LoadResult } from "./position-format";
import { PositionWriter, type PositionWriterOptions, reasonOf } from "./position-writer";

/** The key of the config node's own context that holds its position. */
export const POSITION_KEY = "noojee-position";

/** The asynchronous get/set of a Node-RED context (node.context()). */
export interface ContextAccess {
  get(key: string, store: string, callback: (err: Error | null | undefined, value?: unknown) => void): void;
  set(key: string, value: unknown, store: string, callback: (err?: Error | null) => void): void;
}

export interface ContextPositionOptions extends PositionWriterOptions {
  context: ContextAccess;
  /** The context store's name, as in settings.js. */
  store: string;
  /** How long a read may take before another is tried (its answer still counts when it comes). Default 10 s. */
  readTimeoutMs?: number;
  /** How long reads are tried before the polls start without the position. Default 3 min. */
  readForMs?: number;
  /** The pauses between reads. Default 1 s doubling to 15 s. */
  readBackoff?: BackoffOptions;
}

/** Why a read has not given the position yet, and when the next one goes (for the log). */
export type ReadRetry = (problem: string, attempt: number, retryInMs: number) => void;

/** How long a start tries to read the position from a store, by default. */
export const READ_FOR_MS = 180_000;

const READ_BACKOFF: BackoffOptions = { initialMs: 1000, maxMs: 15_000, jitter: 0.2 };

export class ContextPosition extends PositionWriter {
  constructor(protected override readonly options: ContextPositionOptions) {
    super(options);
  }

  get where(): string {
    return `context store "${this.options.store}" (key ${POSITION_KEY} of the configuration node)`;
  }

  /**
   * Reads the saved position; only one of the same host saved less than `maxAgeMs` ago is returned. Failed reads are
   * tried again (`onRetry` says so) for `readForMs`; past it the result is "gaveUp".
   */
  load(maxAgeMs: number, onRetry?: ReadRetry): Promise<LoadResult> {
    const timeoutMs = this.options.readTimeoutMs ?? 10_000;
    const forMs = this.options.readForMs ?? READ_FOR_MS;
    return new Promise<LoadResult>((resolve) => {
      const timers = new Set<ReturnType<typeof setTimeout>>();
      const after = (ms: number, run: () => void): void => {
        const timer = setTimeout(() => {
          timers.delete(timer);
          run();
        }, ms);
        timer.unref?.();
        timers.add(timer);
      };
      let settled = false;
      let attempt = 0;
      let problem = "";
      const finish = (result: LoadResult): void => {
        if (settled) return;
        settled = true;
        for (const timer of timers) clearTimeout(timer);
        resolve(result);
      };
      // Only the latest read's failure or silence leads to the next; any read's answer is the position.
      const failed = (id: number, why: string): void => {
        if (settled || id !== attempt) return;
        problem = why;
        const retryInMs = backoffDelay(attempt, this.options.readBackoff ?? READ_BACKOFF);
        onRetry?.(why, attempt, retryInMs);
        after(retryInMs, read);
      };
      const read = (): void => {
        const id = ++attempt;
        let answered = false;
        after(timeoutMs, () => answered || failed(id, `no answer in ${timeoutMs / 1000} s`));
        try {
          this.options.context.get(POSITION_KEY, this.options.store, (err, value) => {
            if (answered) return;
            answered = true;
            if (err) failed(id, reasonOf(err));
            else finish(checkSaved(value, this.options, maxAgeMs, this.now()));
          });
        } catch (err) {
          answered = true;
          failed(id, reasonOf(err));
        }
      };
      // A store that never answers (a database down) must not hold the polls back for ever.
      after(forMs, () => finish({ position: undefined, reason: "gaveUp", detail: problem, triedMs: forMs }));
      read();
    });
  }

  protected persist(text: string): Promise<void> {
    // A copy of its own: a store that keeps the object (the memory cache of localfilesystem) never sees it change.
    return this.put(JSON.parse(text));
  }

  protected erase(): Promise<void> {
    return this.put(undefined);
  }

  private put(value: unknown): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      try {
        this.options.context.set(POSITION_KEY, value, this.options.store, (err) => (err ? reject(err) : resolve()));
      } catch (err) {
        reject(err as Error);
      }
    });
  }
}
