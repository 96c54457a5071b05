/**
 * A Node-RED context store for the node tests whose reads the test controls: asynchronous only (a get or set without
 * a callback throws, as Redis-backed stores and localfilesystem with `cache: false` do), in memory, one value per key
 * whatever the scope. A read of a held key waits until the test releases it; a read may be made to fail. Every
 * operation goes to `log` in order, so a test can tell whether a write came before a read had answered.
 *
 * settings: `contextStorage: { keep: { module: store.module } }`.
 */
type Callback = (err: Error | null, ...values: unknown[]) => void;

export class GatedStore {
  readonly values = new Map<string, unknown>();
  readonly log: string[] = [];
  /** Reads of these keys fail, this many more times. */
  readonly failures = new Map<string, number>();
  private readonly held = new Map<string, Array<() => void>>();
  private readonly watchers: Array<() => void> = [];

  /** Reads of `key` wait from now on until release(key). */
  hold(key: string): void {
    if (!this.held.has(key)) this.held.set(key, []);
  }

  /** Answers the held reads of `key`, and those to come. */
  release(key: string): void {
    const waiting = this.held.get(key) ?? [];
    this.held.delete(key);
    waiting.forEach((answer) => answer());
  }

  /** Resolves once the log has an entry matching `pattern`. */
  async logged(pattern: RegExp, timeoutMs = 5000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (!this.log.some((line) => pattern.test(line))) {
      if (Date.now() > end) throw new Error(`no ${pattern} in the store's log: ${this.log.join("; ")}`);
      await new Promise<void>((resolve) => {
        this.watchers.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  private note(line: string): void {
    this.log.push(line);
    this.watchers.splice(0).forEach((wake) => wake());
  }

  /** The store module Node-RED's context calls (its `module` in settings.js). */
  readonly module = (): Record<string, unknown> => ({
    open: async (): Promise<void> => undefined,
    close: async (): Promise<void> => undefined,
    get: (_scope: string, key: string | string[], callback?: Callback): void => {
      if (typeof callback !== "function") throw new Error("this store is asynchronous only");
      const keys = Array.isArray(key) ? key : [key];
      this.note(`get ${keys.join(",")}`);
      const answer = (): void => {
        const failing = keys.find((k) => (this.failures.get(k) ?? 0) > 0);
        if (failing !== undefined) {
          this.failures.set(failing, (this.failures.get(failing) ?? 0) - 1);
          this.note(`failed ${keys.join(",")}`);
          return callback(new Error("store not ready"));
        }
        this.note(`answered ${keys.join(",")}`);
        callback(null, ...keys.map((k) => structuredClone(this.values.get(k))));
      };
      const waiting = keys.map((k) => this.held.get(k)).find((list) => list !== undefined);
      if (waiting) waiting.push(answer);
      else setImmediate(answer);
    },
    set: (_scope: string, key: string | string[], value: unknown, callback?: Callback): void => {
      if (typeof callback !== "function") throw new Error("this store is asynchronous only");
      const keys = Array.isArray(key) ? key : [key];
      const values = Array.isArray(key) ? (value as unknown[]) : [value];
      keys.forEach((k, i) => {
        this.note(`set ${k}`);
        if (values[i] === undefined) this.values.delete(k);
        else this.values.set(k, structuredClone(values[i]));
      });
      setImmediate(() => callback(null));
    },
    keys: (_scope: string, callback: Callback): void => {
      setImmediate(() => callback(null, [...this.values.keys()]));
    },
    delete: async (): Promise<void> => undefined,
    clean: async (): Promise<void> => undefined,
  });
}
