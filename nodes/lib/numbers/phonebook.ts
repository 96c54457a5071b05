/**
 * A phonebook: names for numbers, indexed by the normalised number (caller-id.ts), so that every written form of a
 * number finds the same entry. Built from a context value (an object `number -> name`, or an array of records
 * `{ number, name, ... }`), a JSON file (either shape) or a CSV file (a header row with `number` and `name` columns).
 * Knows nothing of Node-RED.
 *
 * Bad input never fails a build: a record without a number or a name, a number that cannot be read, a CSV line that
 * cannot be read, or a second, different name for a number already listed (the first one is kept) is skipped and
 * reported as a problem naming its key, index or line. Whole-file problems (no JSON, no CSV header) are problems
 * too; caller-info.ts keeps the last good phonebook then (and tells a file still being written by its mtime and size).
 *
 * Every step works in slices (slicer()): a 100,000-entry phonebook is read and indexed without holding up events.
 * An entry from a context value keeps its own deep copy of its record, so a flow editing the value in place changes
 * nothing until the next reload (one from a file keeps the record parsed here); msgs get copies (copyPlain).
 */
import { readFile } from "node:fs/promises";
import type { CallerIdNormaliser } from "./caller-id";
import { readCsv } from "./csv-records";
import { JsonBatchError, readJsonBatches } from "./json-batches";

export interface PhonebookEntry {
  name: string;
  /** The record as given (an object-shaped phonebook gives `{ number, name }`). */
  contact: Record<string, unknown>;
}

export type PhonebookProblemKind =
  | "noNumber"
  | "noName"
  | "badNumber"
  | "duplicate"
  | "badShape"
  | "badFile"
  | "missingFile"
  | "directoryFile"
  | "deniedFile"
  | "unreadableFile"
  | "unclosedQuote"
  | "textAfterQuote"
  | "noHeader";

/** Problems that make a file not a phonebook: the last good one is kept. */
export const WHOLE_FILE_PROBLEMS: ReadonlySet<PhonebookProblemKind> = new Set([
  "badFile",
  "missingFile",
  "directoryFile",
  "deniedFile",
  "unreadableFile",
  "noHeader",
]);

export interface PhonebookProblem {
  kind: PhonebookProblemKind;
  /** Where: `key "0355501234"`, `record 3`, `line 12`. */
  where: string;
  /** The number or text concerned, if any. */
  value?: string;
}

export interface Phonebook {
  entries: Map<string, PhonebookEntry>;
  problems: PhonebookProblem[];
}

/** Indexing a large phonebook gives the event loop a turn after this many milliseconds of work. */
const SLICE_MS = 4;
const yieldNow = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Call `due()` per record: resolves at once within a slice, after a turn of the event loop when the slice is over. */
export function slicer(): () => Promise<void> | undefined {
  let sliceStart = performance.now();
  return () => {
    if (performance.now() - sliceStart < SLICE_MS) return undefined;
    return yieldNow().then(() => void (sliceStart = performance.now()));
  };
}

/** Collects entries; the caller says where each record came from. */
export class PhonebookBuilder {
  readonly entries = new Map<string, PhonebookEntry>();
  readonly problems: PhonebookProblem[] = [];

  constructor(private readonly numbers: CallerIdNormaliser) {}

  /**
   * False when the record is skipped as a problem (a duplicate with the same name counts as added). `owned`: the
   * record was parsed from a file here and nothing else holds it, so it is kept as it is (a copy would double what a
   * reload allocates, and the garbage collector's pauses with it).
   */
  add(record: unknown, where: string, owned = false): boolean {
    if (record === null || typeof record !== "object" || Array.isArray(record)) {
      this.problems.push({ kind: "badShape", where });
      return false;
    }
    const contact = record as Record<string, unknown>;
    const number = pick(contact, "number");
    const name = pick(contact, "name");
    if (number === undefined || number === null || String(number).trim() === "") return this.problem({ kind: "noNumber", where });
    const shown = String(number).slice(0, 40);
    if (typeof name !== "string" || name.trim() === "") return this.problem({ kind: "noName", where, value: shown });
    const key = this.numbers.key(number);
    if (key === undefined) return this.problem({ kind: "badNumber", where, value: shown });
    const known = this.entries.get(key);
    if (known) return known.name === name.trim() || this.problem({ kind: "duplicate", where, value: shown });
    this.entries.set(key, { name: name.trim(), contact: owned ? contact : (copyPlain(contact) as Record<string, unknown>) });
    return true;
  }

  problem(problem: PhonebookProblem): false {
    this.problems.push(problem);
    return false;
  }

  result(): Phonebook {
    return { entries: this.entries, problems: this.problems };
  }
}

/**
 * A deep copy of JSON-like data (objects, arrays, dates, primitives), so that no two holders share a nested object.
 * Other objects (a Buffer a flow put there) are shared as they are; nesting stops at 20 levels (a cyclic value).
 */
export function copyPlain(value: unknown, depth = 0): unknown {
  if (value === null || typeof value !== "object" || depth > 20) return value;
  if (Array.isArray(value)) return value.map((item) => copyPlain(item, depth + 1));
  if (value instanceof Date) return new Date(value.getTime());
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) copy[key] = copyPlain((value as Record<string, unknown>)[key], depth + 1);
  return copy;
}

/** A field by name, whatever its case (`Number`, `NAME`). */
function pick(record: Record<string, unknown>, field: string): unknown {
  if (field in record) return record[field];
  for (const key of Object.keys(record)) if (key.toLowerCase() === field) return record[key];
  return undefined;
}

/** An object-shaped entry may also be a record: { "0355501234": { name: "Ann", company: "..." } }. */
function addKeyed(builder: PhonebookBuilder, number: string, name: unknown, owned = false): void {
  const record = name !== null && typeof name === "object" && !Array.isArray(name) ? { number, ...(name as object) } : { number, name };
  builder.add(record, `key "${number.slice(0, 40)}"`, owned);
}

/**
 * An object `number -> name` or an array of records; anything else is one `badShape` problem. `keys`: the object's
 * keys when the caller has just listed them (content-fingerprint.ts): listing 100,000 keys is one 10 to 20 ms step.
 */
export async function phonebookFromValue(value: unknown, numbers: CallerIdNormaliser, where = "value", keys?: readonly string[]): Promise<Phonebook> {
  const builder = new PhonebookBuilder(numbers);
  const due = slicer();
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      builder.add(value[i], `record ${i}`);
      await due();
    }
  } else if (value !== null && typeof value === "object") {
    // Object.keys, not Object.entries: a third of the time in one step for 100,000 keys.
    const record = value as Record<string, unknown>;
    if (!keys) await yieldNow(); // listing many keys is one long step: nothing else in it
    for (const key of keys ?? Object.keys(record)) {
      // A key removed since it was listed (a flow's edit meanwhile; the next check sees it).
      if (!Object.hasOwn(record, key)) continue;
      addKeyed(builder, key, record[key]);
      await due();
    }
  } else if (value !== undefined) {
    builder.problems.push({ kind: "badShape", where });
  }
  return builder.result();
}

/** A file's text: UTF-8 (a BOM dropped, as Windows tools write one), or UTF-16 with its BOM. */
export function decodeText(bytes: Buffer): string {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return bytes.subarray(2).toString("utf16le");
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return Buffer.from(bytes.subarray(2)).swap16().toString("utf16le");
  return stripBom(bytes.toString("utf8"));
}

const stripBom = (text: string): string => (text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);

/**
 * The text of a JSON phonebook file, read in pieces (json-batches.ts; `batchChars`: their size, for tests); a syntax
 * error is one `badFile` problem and an empty phonebook.
 */
export async function phonebookFromJson(text: string, numbers: CallerIdNormaliser, batchChars?: number): Promise<Phonebook> {
  const builder = new PhonebookBuilder(numbers);
  const due = slicer();
  let records = 0;
  let shape: "array" | "object" | "other" | undefined;
  const pieces: unknown[] = [];
  try {
    // Pieces are indexed after the whole text has parsed: a syntax error at the end means no phonebook at all.
    await readJsonBatches(stripBom(text), (piece) => void pieces.push(piece), due, batchChars);
  } catch (err) {
    const line = err instanceof JsonBatchError ? `JSON, line ${err.line}` : "JSON";
    return { entries: new Map(), problems: [{ kind: "badFile", where: line, value: (err as Error).message }] };
  }
  for (const piece of pieces) {
    if (Array.isArray(piece)) {
      shape ??= "array";
      for (const item of piece) {
        builder.add(item, `record ${records++}`, true);
        await due();
      }
    } else if (piece !== null && typeof piece === "object") {
      shape ??= "object";
      const record = piece as Record<string, unknown>;
      for (const key of Object.keys(record)) {
        addKeyed(builder, key, record[key], true);
        await due();
      }
    } else shape = "other";
  }
  if (shape === "other") return { entries: new Map(), problems: [{ kind: "badShape", where: "JSON" }] };
  return builder.result();
}

/**
 * A CSV phonebook from a file path, or from text (tests). The first record names the columns; `number` and `name`
 * (any case) are required, the others go into the contact. A line that cannot be read is a problem by its line
 * number and the lines after it are read as usual (csv-records.ts). No header (an empty file too) is a `noHeader`.
 */
export async function phonebookFromCsv(source: { file: string } | { text: string }, numbers: CallerIdNormaliser): Promise<Phonebook> {
  const text = "file" in source ? decodeText(await readFile(source.file)) : stripBom(source.text);
  const builder = new PhonebookBuilder(numbers);
  let header: string[] | undefined;
  let headerLine = 0;
  let numberAt = -1;
  let nameAt = -1;
  const reading = await readCsv(
    text,
    (record) => {
      if (!header) {
        header = record.fields;
        headerLine = record.line;
        numberAt = header.findIndex((column) => column.toLowerCase() === "number");
        nameAt = header.findIndex((column) => column.toLowerCase() === "name");
        return true;
      }
      // A line break in the number or the name: an unclosed quote that paired with one lines later.
      if (/[\r\n]/.test(record.fields[numberAt] ?? "") || /[\r\n]/.test(record.fields[nameAt] ?? "")) return false;
      const row: Record<string, string> = {};
      for (let i = 0; i < header.length && i < record.fields.length; i++) if (!(header[i] in row)) row[header[i]] = record.fields[i];
      builder.add(row, `line ${record.line}`, true);
      return true;
    },
    slicer(),
  );
  const columns = (header ?? []).map((column) => column.toLowerCase());
  if (!columns.includes("number") || !columns.includes("name")) {
    return { entries: new Map(), problems: [{ kind: "noHeader", where: `line ${headerLine || 1}` }] };
  }
  // Bad lines are reported in line order with the others.
  for (const bad of reading.bad) builder.problems.push({ kind: bad.reason, where: `line ${bad.line}` });
  const lineOf = (p: PhonebookProblem): number => Number(/^line (\d+)$/.exec(p.where)?.[1] ?? 0);
  builder.problems.sort((a, b) => lineOf(a) - lineOf(b));
  return builder.result();
}
