/**
 * A hub's position kept in a Node-RED context store (settings.js `contextStorage`: localfilesystem, FlowFuse's
 * persistent store, Redis, ...) instead of the resume file: for installs whose user directory does not survive a
 * restart (FlowFuse, a container without a volume). The same content, checks and throttle as the file
 * (position-format.ts, position-writer.ts); how durable a write is, is the store's business (localfilesystem writes
 * its cache out every flushInterval). Knows nothing of Node-RED beyond the shape of a context's get/set.
 *
 * A read that fails or does not answer is tried again, with a growing pause, for `readForMs` (3 min, retried-read.ts):
 * a store still connecting at boot (a database, Redis) must not cost the calls made while Node-RED was down. Until one
 * has answered, the hub writes nothing (a crash then must leave the position as it was).
 */
import type { BackoffOptions } from "./backoff";
import { checkSaved, type LoadResult } from "./position-format";
import { PositionWriter, type PositionWriterOptions } from "./position-writer";
import { READ_FOR_MS, type ReadRetry, retriedRead } from "./retried-read";

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

export { READ_FOR_MS, type ReadRetry } from "./retried-read";

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
  async load(maxAgeMs: number, onRetry?: ReadRetry): Promise<LoadResult> {
    const forMs = this.options.readForMs ?? READ_FOR_MS;
    const outcome = await retriedRead((callback) => this.options.context.get(POSITION_KEY, this.options.store, callback), {
      timeoutMs: this.options.readTimeoutMs, forMs, backoff: this.options.readBackoff, onRetry,
    });
    if ("gaveUp" in outcome) return { position: undefined, reason: "gaveUp", detail: outcome.problem, triedMs: outcome.triedMs };
    return checkSaved(outcome.value, this.options, maxAgeMs, this.now());
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
