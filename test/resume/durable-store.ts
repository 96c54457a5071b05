/**
 * A Node-RED context store for the kill tests, standing in for a persistent store outside the user directory
 * (FlowFuse's persistent context, a database): one JSON file per scope in `config.dir`, written and fsynced on every
 * set, so that what a set acknowledged survives a SIGKILL (and, on request, stalling a write as a busy disk does).
 * Used from the test's settings.js:
 *
 *   contextStorage: { keep: { module: require("<this file>"), config: { dir: "/somewhere/else" } } }
 *
 * The store API is Node-RED's (open, close, get, set, keys, delete, clean), asynchronous only.
 */
import * as fs from "node:fs";
import * as path from "node:path";

type Callback = (err: Error | null, ...values: unknown[]) => void;
type Scope = Record<string, unknown>;

function durableStore(config: { dir: string }) {
  const file = (scope: string): string => path.join(config.dir, `${encodeURIComponent(scope)}.json`);
  const read = (scope: string): Scope => {
    try {
      return JSON.parse(fs.readFileSync(file(scope), "utf8")) as Scope;
    } catch {
      return {};
    }
  };
  const write = (scope: string, data: Scope): void => {
    stallIfAsked();
    const temp = `${file(scope)}.tmp`;
    const fd = fs.openSync(temp, "w");
    try {
      fs.writeSync(fd, JSON.stringify(data));
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(temp, file(scope));
  };
  // A disk that stalls (an fsync held up by other I/O): a test writes "<ms>" to <dir>/stall, and the next write then
  // blocks, as fsync does, for that long, after leaving <dir>/stalling to say it has begun.
  const stallIfAsked = (): void => {
    const stall = path.join(config.dir, "stall");
    if (!fs.existsSync(stall)) return;
    const ms = Number(fs.readFileSync(stall, "utf8"));
    fs.rmSync(stall, { force: true });
    fs.writeFileSync(path.join(config.dir, "stalling"), "");
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  };
  const asList = <T>(v: T | T[]): T[] => (Array.isArray(v) ? v : [v]);
  return {
    open: async (): Promise<void> => {
      fs.mkdirSync(config.dir, { recursive: true });
    },
    close: async (): Promise<void> => undefined,
    get(scope: string, key: string | string[], callback?: Callback): void {
      if (typeof callback !== "function") throw new Error("this store is asynchronous only");
      const data = read(scope);
      const values = asList(key).map((k) => data[k]);
      setImmediate(() => callback(null, ...values));
    },
    set(scope: string, key: string | string[], value: unknown, callback?: Callback): void {
      const data = read(scope);
      const keys = asList(key);
      const values = Array.isArray(key) ? (value as unknown[]) : [value];
      keys.forEach((k, i) => {
        if (values[i] === undefined) delete data[k];
        else data[k] = values[i];
      });
      let error: Error | null = null;
      try {
        write(scope, data);
      } catch (err) {
        error = err as Error;
      }
      if (callback) setImmediate(() => callback(error));
    },
    keys(scope: string, callback?: Callback): void {
      if (typeof callback !== "function") throw new Error("this store is asynchronous only");
      const keys = Object.keys(read(scope));
      setImmediate(() => callback(null, keys));
    },
    delete: async (scope: string): Promise<void> => {
      fs.rmSync(file(scope), { force: true });
    },
    clean: async (activeNodes: string[]): Promise<void> => {
      // Scopes of nodes (and flows) that no longer exist go, as in Node-RED's own stores.
      for (const name of fs.existsSync(config.dir) ? fs.readdirSync(config.dir) : []) {
        if (!name.endsWith(".json")) continue;
        const scope = decodeURIComponent(name.slice(0, -5));
        if (scope !== "global" && !activeNodes.includes(scope.split(":")[0])) fs.rmSync(path.join(config.dir, name), { force: true });
      }
    },
  };
}

export = durableStore;
