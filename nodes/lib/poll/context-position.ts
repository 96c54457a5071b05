/**
 * A hub's position kept in a Node-RED context store (settings.js `contextStorage`: localfilesystem, FlowFuse's
 * persistent store, Redis, ...) instead of the resume file: for installs whose user directory does not survive a
 * restart (FlowFuse, a container without a volume). The same content, checks and throttle as the file
 * (position-format.ts, position-writer.ts); how durable a write is, is the store's business (localfilesystem writes
 * its cache out every flushInterval). Knows nothing of Node-RED beyond the shape of a context's get/set.
 */
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
  /** How long a read may take before the polls start without it. Default 10 s. */
  readTimeoutMs?: number;
}

export class ContextPosition extends PositionWriter {
  constructor(protected override readonly options: ContextPositionOptions) {
    super(options);
  }

  get where(): string {
    return `context store "${this.options.store}" (key ${POSITION_KEY} of the configuration node)`;
  }

  /** Reads the saved position; only one of the same host saved less than `maxAgeMs` ago is returned. */
  load(maxAgeMs: number): Promise<LoadResult> {
    const timeoutMs = this.options.readTimeoutMs ?? 10_000;
    return new Promise<LoadResult>((resolve) => {
      // A store that never answers (a database down) must not hold the polls back for ever.
      const timer = setTimeout(() => {
        resolve({ position: undefined, reason: "unreadable", detail: `no answer in ${timeoutMs / 1000} s` });
      }, timeoutMs);
      timer.unref?.();
      try {
        this.options.context.get(POSITION_KEY, this.options.store, (err, value) => {
          clearTimeout(timer);
          if (err) resolve({ position: undefined, reason: "unreadable", detail: reasonOf(err) });
          else resolve(checkSaved(value, this.options, maxAgeMs, this.now()));
        });
      } catch (err) {
        clearTimeout(timer);
        resolve({ position: undefined, reason: "unreadable", detail: reasonOf(err) });
      }
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
