/**
 * Who is calling: a caller ID's normalised form and kind (caller-id.ts) and its name in the phonebook, kept up to
 * date from a context variable and/or a JSON or CSV file. Knows nothing of Node-RED: the config node gives it a way
 * to read the context variable and a place for warnings.
 *
 * Lookups are two Map reads on the cached reading: the hot path never waits for a reload. Sources are checked every
 * `pollMs`, read asynchronously and indexed apart, in slices; the new index replaces the old one only when it is
 * complete. A file is re-read when its mtime or size changes; a context value when its content fingerprint changes
 * (content-fingerprint.ts: neither an edit in place nor a store that gives a new object at each read fools it), so an
 * unchanged phonebook is never re-indexed and "loaded" means a real change. A failed or malformed source keeps the
 * last good index of that source and is reported, rate limited, never thrown: a JSON file that does not parse, a CSV
 * file without its header (an empty one too).
 *
 * A file caught half written cannot be told by its content (a CSV cut inside a name reads as a shorter name; a
 * finished file saved without a final line break may end on a bad line), so a changed file is judged by whether it
 * still changes: it is read once its size and mtime are the same at two looks `settleMs` apart, or at once when its
 * mtime is already that old (a writer still writing moves both). One that changed while it was read is looked at
 * again. Before any phonebook was loaded from the file a change is read at once: a part of it beats none, and the
 * finished version replaces it. A file that stays cut is then taken as it is, each bad line reported.
 */
import { stat, readFile } from "node:fs/promises";
import { CallerIdKind, CallerIdNormaliser } from "./caller-id";
import { fingerprint, fingerprintNow } from "./content-fingerprint";
import { Phonebook, PhonebookEntry, PhonebookProblem, WHOLE_FILE_PROBLEMS, copyPlain, decodeText, slicer } from "./phonebook";
import { phonebookFromCsv, phonebookFromJson, phonebookFromValue } from "./phonebook";
import { WarningLimiter } from "../poll/warning-limiter";

/** What a msg carrying a caller ID gains (only the fields that apply). */
export interface CallerInfo {
  callerIdE164?: string;
  callerIdKind?: CallerIdKind;
  callerName?: string;
  contact?: Record<string, unknown>;
}

export type PhonebookSource = "context" | "file";

/** The phonebook file as last looked at: fine (or not looked at yet), not there, or there but not a phonebook. */
export type FileState = "ok" | "missing" | "unreadable";

export interface CallerInfoOptions {
  /** ISO 3166 alpha-2, or "" to leave numbers as they are (no callerIdE164 / callerIdKind; names still found). */
  country: string;
  /** Reads the context variable (undefined when it is not set). */
  readContext?: () => Promise<unknown>;
  /** A JSON or CSV phonebook (by its extension: .csv is CSV, anything else JSON). */
  file?: string;
  /** How often sources are checked for a change; default 2000 ms. */
  pollMs?: number;
  /** One line per kind of problem per source per minute (warning-limiter.ts). */
  warn: (line: string) => void;
  /**
   * The text of a warning: the first problem of a kind in a source, `count` problems of that kind in that load,
   * `others` where the next few of them are (`line 7, line 12`), empty when there are none; `kept`: a phonebook was
   * loaded from that source before (a source that cannot be read keeps it), so not "no names".
   */
  describe: (source: PhonebookSource, problem: PhonebookProblem, count: number, others: string, kept: boolean) => string;
  /** The file's state changed (for a note on the nodes' statuses). */
  onFileState?: (state: FileState) => void;
  /** A source loaded (for the log and the tests). */
  onLoaded?: (source: PhonebookSource, entries: number, ms: number) => void;
  /** How long a changed file must stay unchanged (size and mtime) before it is read; default 2000 ms. */
  settleMs?: number;
  /** The wall clock mtimes are compared with (tests); default Date.now. */
  now?: () => number;
}

/** How many more places of one kind of problem a warning names after its first. */
const OTHERS_SHOWN = 10;

const UNSET_PRINT = fingerprintNow(undefined);

const EMPTY: Phonebook = { entries: new Map(), problems: [] };

export class CallerInfoService {
  readonly numbers: CallerIdNormaliser;
  private readonly extensions = new Set<string>();
  private readonly limiter: WarningLimiter;
  private contextBook: Map<string, PhonebookEntry> = EMPTY.entries;
  private fileBook: Map<string, PhonebookEntry> = EMPTY.entries;
  /** The fingerprint of the context value last indexed; at first that of an unset variable (nothing to load). */
  private contextPrint = UNSET_PRINT;
  private fileStamp = "";
  /** A good phonebook was loaded from the file (from then on a change is read only once it has settled). */
  private fileLoaded = false;
  private contextLoaded = false;
  private fileState: FileState = "ok";
  /** A changed file not read yet (still changing): its stamp and when it was first seen so. */
  private pending: { stamp: string; since: number } | undefined;
  private settleTimer: NodeJS.Timeout | undefined;
  private readonly settleMs: number;
  private readonly now: () => number;
  private loading: Partial<Record<PhonebookSource, Promise<void>>> = {};
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly tagged: boolean;

  constructor(private readonly options: CallerInfoOptions) {
    this.numbers = new CallerIdNormaliser({ country: options.country, isExtension: (c) => this.extensions.has(c) });
    this.tagged = this.numbers.country !== undefined;
    this.limiter = new WarningLimiter({ emit: options.warn });
    this.settleMs = options.settleMs ?? 2000;
    this.now = options.now ?? Date.now;
  }

  /** True when there is anything to look up or add: a country or a phonebook source. */
  get active(): boolean {
    return this.tagged || this.options.file !== undefined || this.options.readContext !== undefined;
  }

  /** Loads the sources now, then checks them every pollMs. Resolves when the first loads are done. */
  start(): Promise<void> {
    const first = this.check();
    if (this.options.file !== undefined || this.options.readContext !== undefined) {
      const every = this.options.pollMs ?? 2000;
      this.timer = setInterval(() => void this.check(), every);
      this.timer.unref();
    }
    return first;
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    if (this.settleTimer) clearTimeout(this.settleTimer);
    this.timer = undefined;
    this.settleTimer = undefined;
    this.limiter.close();
  }

  /** `extension`: the PBX extension the event is for, learned so that a call from it reads as `extension`. */
  callerInfo(callerId: unknown, extension?: string): CallerInfo {
    if (extension !== undefined && !this.extensions.has(extension)) this.extensions.add(extension);
    const reading = this.numbers.read(callerId);
    const info: CallerInfo = {};
    if (this.tagged) {
      if (reading.e164 !== undefined) info.callerIdE164 = reading.e164;
      info.callerIdKind = reading.kind;
    }
    if (reading.key !== undefined) {
      const entry = this.contextBook.get(reading.key) ?? this.fileBook.get(reading.key);
      if (entry) {
        info.callerName = entry.name;
        // A deep copy: a flow editing one msg's contact changes no other msg's.
        info.contact = copyPlain(entry.contact) as Record<string, unknown>;
      }
    }
    return info;
  }

  /** Number of entries per source (for tests and the benchmark). */
  get size(): { context: number; file: number } {
    return { context: this.contextBook.size, file: this.fileBook.size };
  }

  /** One check of both sources; a source still being checked is not checked again (its check is awaited). */
  check(): Promise<void> {
    return Promise.all([this.once("context", () => this.checkContext()), this.once("file", () => this.checkFile())]).then(() => undefined);
  }

  private once(source: PhonebookSource, run: () => Promise<void>): Promise<void> {
    const running = this.loading[source];
    if (running) return running;
    const check = run().finally(() => (this.loading[source] = undefined));
    this.loading[source] = check;
    return check;
  }

  private async checkContext(): Promise<void> {
    const read = this.options.readContext;
    if (!read) return;
    try {
      const value = await read();
      if (this.closed) return;
      const { print, keys } = await fingerprint(value, slicer());
      if (print === this.contextPrint || this.closed) return;
      const started = performance.now();
      const book = await phonebookFromValue(value, this.numbers, "context value", keys);
      if (this.closed) return;
      // Taken before indexing: an edit made meanwhile changes the next fingerprint, so it is indexed then.
      this.contextPrint = print;
      this.contextBook = book.entries;
      this.contextLoaded = true;
      this.report("context", book, started);
    } catch (err) {
      this.report("context", { entries: this.contextBook, problems: [{ kind: "badFile", where: "context", value: String(err) }] });
    }
  }

  private async checkFile(): Promise<void> {
    const file = this.options.file;
    if (file === undefined) return;
    try {
      let stamp: string;
      let mtimeMs: number;
      try {
        const info = await stat(file);
        stamp = `${info.mtimeMs}:${info.size}`;
        mtimeMs = info.mtimeMs;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        stamp = `missing:${code ?? ""}`;
        this.pending = undefined;
        if (stamp !== this.fileStamp) {
          this.fileStamp = stamp;
          const missing = code === "ENOENT" || code === "ENOTDIR";
          this.setFileState(missing ? "missing" : "unreadable");
          const problem: PhonebookProblem = missing ? { kind: "missingFile", where: file } : fileProblem(err, file);
          this.report("file", { entries: this.fileBook, problems: [problem] });
        }
        return;
      }
      if (stamp === this.fileStamp) {
        this.pending = undefined;
        return;
      }
      if (!this.settled(stamp, mtimeMs)) return;
      const started = performance.now();
      const csv = /\.csv$/i.test(file);
      const text = decodeText(await readFile(file));
      const after = await stat(file);
      const afterStamp = `${after.mtimeMs}:${after.size}`;
      // Changed while it was read (being written): not a phonebook; looked at again once it has settled.
      if (afterStamp !== stamp) return this.wait(afterStamp);
      this.fileStamp = stamp;
      this.pending = undefined;
      const book = csv ? await phonebookFromCsv({ text }, this.numbers) : await phonebookFromJson(text, this.numbers);
      if (this.closed) return;
      // A file that is not a phonebook keeps the last good index.
      const unreadable = book.problems.some((p) => WHOLE_FILE_PROBLEMS.has(p.kind) || (p.kind === "badShape" && p.where === "JSON"));
      if (!unreadable) {
        this.fileBook = book.entries;
        this.fileLoaded = true;
      }
      this.setFileState(unreadable ? "unreadable" : "ok");
      this.report("file", book, unreadable ? undefined : started);
    } catch (err) {
      this.setFileState("unreadable");
      this.report("file", { entries: this.fileBook, problems: [fileProblem(err, file)] });
    }
  }

  private setFileState(state: FileState): void {
    if (state === this.fileState || this.closed) return;
    this.fileState = state;
    this.options.onFileState?.(state);
  }

  /** Whether a changed file is to be read now (see the top of this file); if not, it is looked at again later. */
  private settled(stamp: string, mtimeMs: number): boolean {
    const now = this.now();
    if (!this.fileLoaded || this.settleMs <= 0 || now - mtimeMs >= this.settleMs) return true;
    if (this.pending?.stamp === stamp && now - this.pending.since >= this.settleMs) return true;
    this.wait(stamp);
    return false;
  }

  /** The file was seen with `stamp`, not settled: look again when it may be (the poll may be much slower). */
  private wait(stamp: string): void {
    const now = this.now();
    if (this.pending?.stamp !== stamp) this.pending = { stamp, since: now };
    if (this.settleTimer || this.closed) return;
    this.settleTimer = setTimeout(
      () => {
        this.settleTimer = undefined;
        void this.once("file", () => this.checkFile());
      },
      Math.max(1, this.pending.since + this.settleMs - now),
    );
    this.settleTimer.unref();
  }

  /**
   * One warning per kind of problem (the first of them, with the count and where the next few are), then the
   * loaded event (none when the source was not taken).
   */
  private report(source: PhonebookSource, book: Phonebook, started?: number): void {
    const byKind = new Map<string, { first: PhonebookProblem; count: number; others: string[] }>();
    for (const problem of book.problems) {
      const seen = byKind.get(problem.kind);
      if (!seen) byKind.set(problem.kind, { first: problem, count: 1, others: [] });
      else if (++seen.count <= OTHERS_SHOWN + 1) seen.others.push(problem.where);
    }
    const kept = source === "file" ? this.fileLoaded : this.contextLoaded;
    for (const [kind, { first, count, others }] of byKind) {
      const list = others.join(", ") + (count - 1 > others.length ? ", …" : "");
      // A file gone after a load is another event than one never there: each is said.
      this.limiter.warn(`${source}:${kind}${kept ? ":kept" : ""}`, this.options.describe(source, first, count, list, kept));
    }
    if (started !== undefined) this.options.onLoaded?.(source, book.entries.size, performance.now() - started);
  }
}

/** Why `file` cannot be read, said plainly: the message names the file already, so its path is left out here. */
export function fileProblem(err: unknown, file: string): PhonebookProblem {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code === "EISDIR") return { kind: "directoryFile", where: file };
  if (code === "EACCES" || code === "EPERM") return { kind: "deniedFile", where: file };
  const message = err instanceof Error ? err.message : String(err);
  // Node's text repeats the path (`EIO: i/o error, read '/path'`): keep what happened, not where.
  const value = message.split(`'${file}'`).join("").split(file).join("").replace(/[\s,:]+$/, "") || code || "error";
  return { kind: "unreadableFile", where: file, value };
}
