/**
 * The place a hub's position is kept, for the model-based tests (hub.model.test.ts): one per sequence, it outlives
 * every Node-RED "process" (generation) as a disk or a database does. The hub writes to it through the project's own
 * ContextPosition (throttle, format, read timeout), so the model exercises what a user runs. Three kinds:
 * - "file": like the resume file: read synchronously at start; a write is durable once acknowledged;
 * - "durable": a context store such as Redis or a database: reads and writes answer asynchronously, a write is durable
 *   once acknowledged;
 * - "lagging": like Node-RED's localfilesystem with its cache: a write is acknowledged at once, kept in memory and made
 *   durable only when the cache is flushed, `flushMs` after the first write since the last flush; a kill loses it.
 * Faults: the next process's read fails once, answers late (after the project's 10 s read limit) or stalls (never
 * answers, as a database that stays down); the next writes fail, or stall for a while.
 *
 * The store records every write with what the world knew when the hub made it (WriteFacts): the model's reference
 * decides what must survive a kill from those facts and from what became durable, never from the content the hub
 * chose to write (see model-world.ts, "killAndResume").
 */
import { ContextPosition, type ContextAccess } from "../../nodes/lib/poll/context-position";
import { checkSaved } from "../../nodes/lib/poll/position-format";
import type { HubPosition } from "../../nodes/lib/poll/subscription-hub";
import { now } from "./model-pbx";

export type StoreKind = "file" | "durable" | "lagging";

export interface StoreParams {
  kind: StoreKind;
  /** How long a read takes to answer ("durable", "lagging"). */
  readMs: number;
  /** How long a write takes to be acknowledged ("file", "durable"). */
  writeMs: number;
  /** "lagging": how long after the first unflushed write the cache is written out. */
  flushMs: number;
}

export type ReadFault = "failsOnce" | "late" | "stalls";

/** What the world knew when the hub made a write (the write's content is never looked at). */
export interface WriteFacts {
  gen: number;
  /** The PBX's epoch then. */
  epoch: number;
  /** Test time (monotonic) of the write, which is when the hub captured the position it holds. */
  at: number;
  /** msgs received by all flows before it (World.serial): what it may cover. */
  serial: number;
  /** The writing process had read its own saved position (or had none to read). */
  loaded: boolean;
  /**
   * A position written then can let the next process carry on: the writing process had a cursor of this epoch (an
   * answer) or started from a durable position that had (which it must not lose while it reads or starts polling).
   */
  carries: boolean;
  /** ... only because of the position it started from: it had no answer of its own yet. */
  inherited: boolean;
  /**
   * Per extension, the msgs (World.serial) it covers: all of them up to the write on an extension the writer's polls
   * had an answer for; else what the position it started from covered there. Absent: none.
   */
  covers: Record<string, number>;
  /** Per extension, the PBX epoch of the writer's cursor (-1: unknown); absent: it held none (World.cursorEpochs). */
  cursorEpochs: Record<string, number>;
  /** Per node id of the writing process: the extensions it watched then. */
  watching: Record<string, string[]>;
  /**
   * Per node id awaited then (announced at the start, not registered yet: model-late.ts): the extensions the durable
   * position its process started from said it watched, and the msgs (World.serial) its flow had got by that position.
   * The hub keeps that watch for it until it registers (GUARDS.item1), so such a write says it too.
   */
  awaitedWatching: Record<string, AwaitedWatch>;
  /** Extensions the writer held a cursor for only from the position it started from (no answer of its own yet). */
  fromStart: string[];
  /** The epoch of the writer's latest cursor. */
  lastEpoch: number | undefined;
}

/** What an awaited node watched, as the durable position its process started from says (WriteFacts.awaitedWatching). */
export interface AwaitedWatch {
  extensions: string[];
  serial: number;
}

interface Copy {
  value: unknown;
  facts: WriteFacts;
}

/** Beyond the project's 10 s read limit (ContextPosition's readTimeoutMs). */
export const LATE_READ_MS = 12_000;
/** Saved positions are refused past this age (the config node's "resume within"): far more than any sequence. */
const MAX_AGE_MS = 24 * 3_600_000;
/** The position's wall clock for `savedAt`: steady, so that a clock step (issue 23 item 8, not modelled here) does not refuse it. */
const WALL_BASE = 1_800_000_000_000;
const OWNER = { host: "https://pbx.model.test", authMode: "header" };

export class ModelStore {
  /** What survives a kill. */
  durable: Copy | undefined;
  /** "lagging": acknowledged, not yet flushed (lost with its process). */
  private cache: Copy | undefined;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly dead = new Set<number>();
  private readonly readFaults: ReadFault[] = [];
  /** The fault of each process's reads (taken at its start). */
  private readonly genFault = new Map<number, ReadFault | undefined>();
  private writeFailures = 0;
  private stallUntil = 0;
  readonly writes: WriteFacts[] = [];
  /** Reads answered, writes acknowledged, flushes: settle() waits for quiet. */
  activity = 0;
  private pending = 0;

  constructor(readonly params: StoreParams, private readonly facts: (gen: number) => Omit<WriteFacts, "gen" | "epoch" | "at">,
    private readonly epoch: () => number) {}

  /** True while a read or write has not answered yet. */
  get busy(): boolean {
    return this.pending > 0;
  }

  failNextRead(fault: ReadFault): void {
    this.readFaults.push(fault);
  }

  failNextWrites(count: number): void {
    this.writeFailures += count;
  }

  stallWrites(ms: number): void {
    this.stallUntil = Math.max(this.stallUntil, now() + ms);
  }

  /** A new process starts: it takes the next read fault, if any, for its reads (a context store's). */
  start(gen: number): ReadFault | undefined {
    // A file is read synchronously, at once: its faults are the context stores' (they wait for the next one).
    const fault = this.params.kind === "file" ? undefined : this.readFaults.shift();
    this.genFault.set(gen, fault);
    return fault;
  }

  /** The process dies: its writes in flight never land, its cache is never flushed. */
  kill(gen: number): void {
    this.dead.add(gen);
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.cache = undefined;
  }

  /** The writer (and, for a context store, the reader) of one process. */
  writerFor(gen: number, onWarning: (message: string) => void): ContextPosition {
    return new ContextPosition({ context: this.contextFor(gen), store: "model", ...OWNER, onWarning, now: () => WALL_BASE + now() });
  }

  /** What a process is given at its start: the file read synchronously, or the context store's read. */
  positionFor(writer: ContextPosition): HubPosition | Promise<HubPosition | undefined> | undefined {
    if (this.params.kind === "file") {
      return checkSaved(this.copy(this.durable?.value), OWNER, MAX_AGE_MS, WALL_BASE + now()).position;
    }
    return writer.load(MAX_AGE_MS).then((loaded) => loaded.position);
  }

  private contextFor(gen: number): ContextAccess {
    return {
      get: (_key, _store, callback) => this.get(gen, callback),
      set: (_key, value, _store, callback) => this.set(gen, value, callback),
    };
  }

  private get(gen: number, callback: (err: Error | null | undefined, value?: unknown) => void): void {
    if (this.dead.has(gen)) return;
    const fault = this.genFault.get(gen);
    if (fault === "failsOnce") this.genFault.set(gen, undefined);
    if (fault === "stalls") return;
    // The value as it is when the read is made (a cached store answers from its cache).
    const value = this.copy((this.params.kind === "lagging" ? this.cache ?? this.durable : this.durable)?.value);
    this.later(gen, fault === "late" ? LATE_READ_MS : this.params.readMs, () => {
      if (fault === "failsOnce") callback(new Error("ECONNRESET"));
      else callback(null, value);
    });
  }

  private set(gen: number, value: unknown, callback: (err?: Error | null) => void): void {
    if (this.dead.has(gen)) return;
    const facts: WriteFacts = { gen, epoch: this.epoch(), at: now(), ...this.facts(gen) };
    this.writes.push(facts);
    const copy: Copy = { value: this.copy(value), facts };
    const stall = Math.max(0, this.stallUntil - now());
    if (this.writeFailures > 0) {
      this.writeFailures -= 1;
      this.later(gen, this.params.writeMs + stall, () => callback(new Error("EIO")));
      return;
    }
    if (this.params.kind === "lagging") {
      this.cache = copy;
      this.flushTimer ??= setTimeout(() => this.flush(gen), this.params.flushMs);
      this.later(gen, stall, () => callback(null));
      return;
    }
    this.later(gen, this.params.writeMs + stall, () => {
      this.durable = copy;
      callback(null);
    });
  }

  private flush(gen: number): void {
    this.flushTimer = undefined;
    if (this.dead.has(gen) || !this.cache) return;
    this.durable = this.cache;
    this.activity += 1;
  }

  /** Runs `then` after `ms`, unless the process has died by then (its callbacks are never called). */
  private later(gen: number, ms: number, then: () => void): void {
    this.pending += 1;
    setTimeout(() => {
      this.pending -= 1;
      this.activity += 1;
      if (!this.dead.has(gen)) then();
    }, ms);
  }

  private copy(value: unknown): unknown {
    return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
  }
}
