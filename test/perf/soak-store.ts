/**
 * `--store NAME` of the soak: the config node keeps its position in a context store outside the user directory, and
 * every Node-RED kill also deletes the user directory's files as a container restart does (only the flows,
 * credentials, settings and packages stay). NAME is one of:
 *
 * - `durable`: the store written for the kill tests (test/resume/durable-store.ts), which fsyncs every write, as a
 *   persistent store such as FlowFuse's or a database does;
 * - `localfilesystem`: Node-RED's own, at its default flushInterval (30 s), as most installs run it: a kill may find
 *   the position on disk up to that old, and the restarted flow may be sent again what it got since.
 *
 * The kill accounting reads the position from the store's files once the process is dead, as it reads the resume
 * file otherwise: re-sends are allowed back to that position, no further (soak-accounting.ts).
 *
 * localfilesystem first writes a position out 30 s after the first set: a kill before that finds none, and the
 * downtime is lost as the README documents. So that a short soak proves the promise that matters (nothing lost once
 * the store has written a position out), its first kill is held until the store's file on disk holds a position
 * (FirstWriteOut); later kills are not held.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { POSITION_KEY } from "../../nodes/lib/poll/context-position";

export const SOAK_STORES = ["durable", "localfilesystem"] as const;
export type SoakStoreName = (typeof SOAK_STORES)[number];

export class SoakStore {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-soak-store-"));

  constructor(readonly name: SoakStoreName) {}

  /** Writes out late (localfilesystem at its default 30 s flush) rather than on every set (durable). */
  get flushesLate(): boolean {
    return this.name === "localfilesystem";
  }

  /** Parses `--store`; undefined when not given. */
  static fromArg(value: string | boolean | undefined): SoakStore | undefined {
    if (value === undefined) return undefined;
    const name = String(value);
    if (!(SOAK_STORES as readonly string[]).includes(name)) throw new Error(`--store: "${name}" is not one of ${SOAK_STORES.join(", ")}`);
    return new SoakStore(name as SoakStoreName);
  }

  /** settings.js code configuring the store (its name in settings.js is NAME). */
  get settingsCode(): string {
    const module = this.name === "durable"
      ? `require(${JSON.stringify(path.join(__dirname, "..", "resume", "durable-store.js"))})`
      : JSON.stringify("localfilesystem");
    // localfilesystem: no flushInterval, so Node-RED's default applies.
    const config = { dir: this.dir };
    return `module.exports.contextStorage = { default: { module: "memory" }, ${this.name}: { module: ${module}, config: ${JSON.stringify(config)} } };`;
  }

  /** The config node's position as the store holds it on disk now (undefined: none yet). */
  savedPosition(configId = "cfg"): unknown {
    return storedPosition(this.name, this.dir, configId);
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The position of config node `configId` as store `name`, kept in `dir`, holds it on disk now (undefined: none yet). */
export function storedPosition(name: SoakStoreName, dir: string, configId = "cfg"): unknown {
  // The durable store: a file per scope; localfilesystem: a config node's scope (no flow) is stored like a flow's.
  const file = name === "durable" ? path.join(dir, `${configId}.json`) : path.join(dir, "context", configId, "flow.json");
  try {
    return (JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>)[POSITION_KEY];
  } catch {
    return undefined;
  }
}

/**
 * The soak's first kill with a store that writes out late: held until the store's file on disk holds a position (read
 * from disk, never from Node-RED's log), then placed at random 1 to 10 s after it was seen. Without such a store, or
 * once a kill happened, kills come when due.
 */
export class FirstWriteOut {
  /** Date.now() when a position was first seen on disk, and that position's savedAt. */
  seenAt: number | undefined;
  savedAt: number | undefined;
  /** How long the first kill was held past the time it was due (ms; 0: not held). */
  heldMs = 0;
  private placed: number | undefined;

  constructor(private readonly store: SoakStore | undefined) {}

  get applies(): boolean {
    return this.store?.flushesLate === true;
  }

  /** Looks at the store's file, until it first holds a position. */
  poll(now = Date.now()): void {
    if (!this.applies || this.seenAt !== undefined) return;
    const saved = this.store?.savedPosition() as { savedAt?: unknown } | undefined;
    if (saved === undefined) return;
    this.seenAt = now;
    this.savedAt = typeof saved.savedAt === "number" ? saved.savedAt : undefined;
  }

  /**
   * When a kill due at `dueAt` comes: then, unless it is the first (`killsSoFar` 0) with a late store that had not
   * written a position out by then: undefined (held) until it has, then 1 to 10 s after that was seen (`between`).
   */
  killAt(dueAt: number, killsSoFar: number, between: (lo: number, hi: number) => number, now = Date.now()): number | undefined {
    if (!this.applies || killsSoFar > 0) return dueAt;
    if (this.placed !== undefined) return this.placed;
    this.poll(now);
    if (this.seenAt === undefined) return undefined;
    if (this.seenAt <= dueAt) return (this.placed = dueAt);
    this.placed = this.seenAt + between(1_000, 10_000);
    this.heldMs = this.placed - dueAt;
    return this.placed;
  }

  /** The figures of the tallies (times from `start`; `firstKill`: Date.now() of the first kill). */
  describe(start: number, firstKill: number | undefined): string {
    const s = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
    if (this.seenAt === undefined) return "never";
    const taken = this.savedAt === undefined ? "" : ` (its position taken ${s(this.seenAt - this.savedAt)} before)`;
    const kill = firstKill === undefined ? "no kill" : `the first kill ${s(firstKill - this.seenAt)} after it, held ${s(this.heldMs)} for it`;
    return `${s(this.seenAt - start)} after the chaos began${taken}; ${kill}`;
  }
}
