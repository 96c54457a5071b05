/**
 * The resume file of one config node: where its polls stood and the last state sent for each call leg, so that a
 * restarted Node-RED carries on from the PBX's `seq` (getting the calls that changed while it was down) instead of
 * reading the current state. Knows nothing of Node-RED.
 *
 * - Written atomically and durably: a temp file beside it, fsync, rename (then the folder is fsynced, best effort).
 *   Hand-written rather than write-file-atomic: its current release needs Node 22.22 or later.
 * - Throttled: at most one write every `minIntervalMs`, of the position as it is when the write starts; flush() writes
 *   at once (on close).
 * - Bounded: past `maxBytes` the oldest legs are left out (they only keep repeats from being sent again).
 * - Never the API key: the file records the host, the sign-in mode, the polls and the legs.
 * - Any failure is one warning and no resume (reading) or a longer pause (writing): never a throw, never a hot loop.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { CallData } from "../client/types";
import type { HubPosition, PositionStore } from "./subscription-hub";
import { monotonicNow } from "../monotonic";

const FORMAT = "node-red-contrib-noojee/resume";
const VERSION = 1;
/** Legs kept in the file at most (the newest): enough to recognise repeats of the states sent lately. */
const MAX_LEGS = 5000;
/**
 * How far the saving clock may be ahead of this one for a position to be used. A little is ordinary skew (two
 * machines sharing a folder, NTP not yet settled): resume. More means this clock was set back, or that one was wrong,
 * and the position's real age is unknown: it may be far older than the "resume within" bound, so do not resume.
 */
export const MAX_CLOCK_AHEAD_MS = 60_000;

export interface ResumeFileOptions {
  file: string;
  /** The PBX origin (`https://host:port`) and sign-in mode the position belongs to. */
  host: string;
  authMode: string;
  onWarning: (message: string) => void;
  /** Least time between two writes. Default 300 ms. */
  minIntervalMs?: number;
  /** Pause after a failed write before the next attempt. Default 30 s. */
  retryMs?: number;
  /** Most bytes a file may take. Default 1 MiB. */
  maxBytes?: number;
  /** Wall clock: only for `savedAt`, a time read by the next process, and the age of what is read. */
  now?: () => number;
  /** The clock the write throttle and retry pause are measured on. Default monotonic. */
  monotonic?: () => number;
}

/**
 * `ageMs` is how long ago the position was saved by this machine's clock: negative when the saving clock was ahead
 * (within MAX_CLOCK_AHEAD_MS when the position is returned; "clockAhead" past it).
 */
export type LoadResult =
  | { position: HubPosition; ageMs: number }
  | { position: undefined; reason: "tooOld" | "clockAhead"; detail: string; ageMs: number }
  | { position: undefined; reason: "missing" | "otherHost" | "unreadable" | "corrupt"; detail: string };

interface FileContent extends HubPosition {
  format: string;
  version: number;
  host: string;
  authMode: string;
  savedAt: number;
}

export class ResumeFile implements PositionStore {
  private readonly minIntervalMs: number;
  private readonly retryMs: number;
  private readonly maxBytes: number;
  private readonly now: () => number;
  private readonly monotonic: () => number;
  private capture: (() => HubPosition | undefined) | undefined;
  private dirty = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private writing: Promise<void> | undefined;
  // On the monotonic clock: a wall-clock step back would otherwise hold every write back for as long as the step.
  private notBefore = -Infinity;
  private failing = false;
  private closed = false;

  constructor(private readonly options: ResumeFileOptions) {
    this.minIntervalMs = options.minIntervalMs ?? 300;
    this.retryMs = options.retryMs ?? 30_000;
    this.maxBytes = options.maxBytes ?? 1024 * 1024;
    this.now = options.now ?? Date.now;
    this.monotonic = options.monotonic ?? monotonicNow;
  }

  get path(): string {
    return this.options.file;
  }

  /** Reads the saved position; only one of the same host saved less than `maxAgeMs` ago is returned. */
  load(maxAgeMs: number): LoadResult {
    let text: string;
    try {
      text = fs.readFileSync(this.options.file, "utf8");
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOENT") return { position: undefined, reason: "missing", detail: "no saved position" };
      return { position: undefined, reason: "unreadable", detail: code ?? String(err) };
    }
    let content: FileContent;
    try {
      content = parseContent(JSON.parse(text));
    } catch (err) {
      return { position: undefined, reason: "corrupt", detail: (err as Error).message };
    }
    if (content.host !== this.options.host) {
      return { position: undefined, reason: "otherHost", detail: "saved for another host" };
    }
    const ageMs = this.now() - content.savedAt;
    if (ageMs > maxAgeMs) {
      return { position: undefined, reason: "tooOld", detail: `saved ${Math.round(ageMs / 60_000)} min ago`, ageMs };
    }
    if (ageMs < -MAX_CLOCK_AHEAD_MS) {
      const detail = `saved by a clock ${Math.round(-ageMs / 60_000)} min ahead of this one`;
      return { position: undefined, reason: "clockAhead", detail, ageMs };
    }
    return { position: { polls: content.polls, legs: content.legs }, ageMs };
  }

  /**
   * The position changed (an answer reached the flow): write it soon, at most every minIntervalMs. `capture` is called
   * when the write starts; undefined then means there is nothing safe to write yet (the caller saves again later).
   */
  save(capture: () => HubPosition | undefined): void {
    if (this.closed) return;
    this.capture = capture;
    this.dirty = true;
    this.arm();
  }

  /** Writes the latest position now (after a write in progress), e.g. when the node closes. */
  async flush(): Promise<void> {
    this.clearTimer();
    await this.writing;
    this.clearTimer(); // armed by the write that just ended: this one takes its place
    if (this.dirty && !this.closed) await this.write();
  }

  /** Stops writing and deletes the file: the config node was deleted, or resuming turned off. */
  async remove(): Promise<void> {
    this.closed = true;
    this.clearTimer();
    await this.writing;
    await deleteResumeFile(this.options.file, this.options.onWarning);
  }

  /** Stops writing; the file stays for the next start. */
  close(): void {
    this.closed = true;
    this.clearTimer();
  }

  private arm(): void {
    if (this.timer !== undefined || this.writing || !this.dirty || this.closed) return;
    const delay = Math.max(0, this.notBefore - this.monotonic());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.write();
    }, delay);
    this.timer.unref?.();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private write(): Promise<void> {
    const capture = this.capture;
    if (!capture || this.writing) return this.writing ?? Promise.resolve();
    this.dirty = false;
    const position = capture();
    if (!position) return Promise.resolve(); // the file keeps the last position that is safe to resume from
    const started = this.monotonic();
    this.writing = this.writeFile(this.serialise(position, this.now()))
      .then(() => {
        this.notBefore = started + this.minIntervalMs;
        this.failing = false;
      })
      .catch((err: unknown) => {
        this.notBefore = this.monotonic() + this.retryMs;
        this.dirty = true;
        if (this.failing) return;
        this.failing = true;
        const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
        this.options.onWarning(`cannot write the resume file ${this.options.file} (${reason}): retrying every ${this.retryMs / 1000} s`);
      })
      .finally(() => {
        this.writing = undefined;
        this.arm();
      });
    return this.writing;
  }

  private serialise(position: HubPosition, savedAt: number): string {
    // Newest legs last: when the file would be too big, the oldest go first.
    let legs = position.legs.slice(-MAX_LEGS);
    for (;;) {
      const content: FileContent = {
        format: FORMAT, version: VERSION, host: this.options.host, authMode: this.options.authMode, savedAt,
        polls: position.polls, legs,
      };
      const text = JSON.stringify(content);
      if (Buffer.byteLength(text) <= this.maxBytes || legs.length === 0) return text;
      legs = legs.slice(Math.ceil(legs.length / 2));
    }
  }

  private async writeFile(text: string): Promise<void> {
    const file = this.options.file;
    const dir = path.dirname(file);
    const temp = `${file}.tmp`;
    await fs.promises.mkdir(dir, { recursive: true });
    const handle = await fs.promises.open(temp, "w", 0o600);
    try {
      await handle.writeFile(text, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.promises.rename(temp, file);
    // The rename itself survives a power cut only once the folder is synced; not every file system allows it.
    try {
      const folder = await fs.promises.open(dir, "r");
      try {
        await folder.sync();
      } finally {
        await folder.close();
      }
    } catch {
      // best effort
    }
  }
}

/** The config node's "resume within" bound, in minutes: 1 to a week; anything else (or nothing) is 60. */
export const RESUME_MAX_AGE_MINUTES = { default: 60, min: 1, max: 7 * 24 * 60 } as const;

export function resumeMaxAgeMs(minutes: unknown): number {
  const value = typeof minutes === "string" && minutes.trim() !== "" ? Number(minutes) : minutes;
  const ok = typeof value === "number" && Number.isInteger(value) &&
    value >= RESUME_MAX_AGE_MINUTES.min && value <= RESUME_MAX_AGE_MINUTES.max;
  return (ok ? value : RESUME_MAX_AGE_MINUTES.default) * 60_000;
}

/** Deletes a resume file and its temp file, if there; a failure is a warning. */
export async function deleteResumeFile(file: string, onWarning: (message: string) => void): Promise<void> {
  for (const name of [file, `${file}.tmp`]) {
    try {
      await fs.promises.rm(name, { force: true });
    } catch (err) {
      onWarning(`could not delete ${name}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
}

/** The resume file of a config node in a Node-RED user directory. */
export function resumeFilePath(userDir: string, nodeId: string): string {
  return path.join(userDir, "noojee-resume", `${nodeId.replace(/[^A-Za-z0-9_-]/g, "_")}.json`);
}

// ------------------------------------------------------------------ validation of what is read

function fail(what: string): never {
  throw new Error(`invalid ${what}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
// 0 is a position too (a PBX that had no change yet): it is saved, so it must load.
const isSeq = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;

/** Checks every field of a parsed file; throws on anything it would not have written. */
export function parseContent(raw: unknown): FileContent {
  if (!isObject(raw) || raw.format !== FORMAT) fail("format");
  if (raw.version !== VERSION) fail("version");
  if (typeof raw.host !== "string" || typeof raw.authMode !== "string") fail("host");
  if (typeof raw.savedAt !== "number" || !Number.isFinite(raw.savedAt)) fail("savedAt");
  if (!Array.isArray(raw.polls) || !Array.isArray(raw.legs)) fail("polls or legs");
  const polls = raw.polls.map((p: unknown) => {
    if (!isObject(p) || !isSeq(p.seq) || !Array.isArray(p.extensions) || !isObject(p.fences)) fail("poll");
    if (!p.extensions.every((e: unknown) => typeof e === "string" && e !== "")) fail("extensions");
    const fences: Record<string, number> = {};
    for (const [extension, seq] of Object.entries(p.fences)) {
      if (!isSeq(seq)) fail("fence");
      fences[extension] = seq;
    }
    return { seq: p.seq, extensions: p.extensions as string[], fences };
  });
  const legs = raw.legs.map((l: unknown) => {
    if (!isObject(l) || typeof l.extension !== "string" || !isObject(l.data)) fail("leg");
    const data = l.data;
    if (typeof data.status !== "string" || typeof data.uniqueCallId !== "string") fail("leg state");
    if (l.callId !== undefined && typeof l.callId !== "number") fail("callId");
    return { extension: l.extension, data: data as CallData, callId: l.callId as number | undefined };
  });
  return {
    format: FORMAT, version: VERSION, host: raw.host, authMode: raw.authMode, savedAt: raw.savedAt, polls, legs,
  };
}
