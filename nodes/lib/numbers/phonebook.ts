/**
 * A phonebook: names for numbers, indexed by the normalised number (caller-id.ts), so that every written form of a
 * number finds the same entry. Built from a context value (an object `number -> name`, or an array of records
 * `{ number, name, ... }`), a JSON file (either shape) or a CSV file (a header row with `number` and `name` columns).
 * Knows nothing of Node-RED.
 *
 * Bad input never fails a build: a record without a number or a name, a number that cannot be read, or a second,
 * different name for a number already listed (the first one is kept) is skipped and reported as a problem naming
 * its key, index or line.
 */
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { parse } from "csv-parse";
import type { CallerIdNormaliser } from "./caller-id";

export interface PhonebookEntry {
  name: string;
  /** The record as given (an object-shaped phonebook gives `{ number, name }`). */
  contact: Record<string, unknown>;
}

export type PhonebookProblemKind = "noNumber" | "noName" | "badNumber" | "duplicate" | "badShape" | "badFile";

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

  add(record: unknown, where: string): void {
    if (record === null || typeof record !== "object" || Array.isArray(record)) {
      this.problems.push({ kind: "badShape", where });
      return;
    }
    const contact = record as Record<string, unknown>;
    const number = pick(contact, "number");
    const name = pick(contact, "name");
    if (number === undefined || String(number).trim() === "") return void this.problems.push({ kind: "noNumber", where });
    const shown = String(number).slice(0, 40);
    if (typeof name !== "string" || name.trim() === "") return void this.problems.push({ kind: "noName", where, value: shown });
    const key = this.numbers.key(number);
    if (key === undefined) return void this.problems.push({ kind: "badNumber", where, value: shown });
    const known = this.entries.get(key);
    if (known) {
      if (known.name !== name.trim()) this.problems.push({ kind: "duplicate", where, value: shown });
      return;
    }
    this.entries.set(key, { name: name.trim(), contact });
  }

  result(): Phonebook {
    return { entries: this.entries, problems: this.problems };
  }
}

/** A field by name, whatever its case (`Number`, `NAME`). */
function pick(record: Record<string, unknown>, field: string): unknown {
  if (field in record) return record[field];
  for (const key of Object.keys(record)) if (key.toLowerCase() === field) return record[key];
  return undefined;
}

/** An object `number -> name` or an array of records; anything else is one `badShape` problem. */
export async function phonebookFromValue(value: unknown, numbers: CallerIdNormaliser, where = "value"): Promise<Phonebook> {
  const builder = new PhonebookBuilder(numbers);
  const due = slicer();
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      builder.add(value[i], `record ${i}`);
      await due();
    }
  } else if (value !== null && typeof value === "object") {
    for (const [number, name] of Object.entries(value as Record<string, unknown>)) {
      // An object-shaped entry may also be a record: { "0355501234": { name: "Ann", company: "..." } }.
      const record = name !== null && typeof name === "object" && !Array.isArray(name) ? { number, ...(name as object) } : { number, name };
      builder.add(record, `key "${number.slice(0, 40)}"`);
      await due();
    }
  } else if (value !== undefined) {
    builder.problems.push({ kind: "badShape", where });
  }
  return builder.result();
}

/** The text of a JSON phonebook file; a syntax error is one `badFile` problem and an empty phonebook. */
export async function phonebookFromJson(text: string, numbers: CallerIdNormaliser): Promise<Phonebook> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { entries: new Map(), problems: [{ kind: "badFile", where: "JSON", value: (err as Error).message }] };
  }
  if (value === null || typeof value !== "object") return { entries: new Map(), problems: [{ kind: "badShape", where: "JSON" }] };
  return phonebookFromValue(value, numbers);
}

/**
 * CSV phonebooks, read with csv-parse's streaming parser: a file is parsed as it is read, chunk by chunk, so that
 * reloading a 100,000-line file never holds up the event loop for long (the sync API would parse it in one go).
 * The first row names the columns; `number` and `name` (any case) are required, the others go into the contact.
 */
/** Reads a CSV phonebook from a file path, or from text (tests). A syntax error stops at its line: a `badFile` problem. */
export async function phonebookFromCsv(source: { file: string } | { text: string }, numbers: CallerIdNormaliser): Promise<Phonebook> {
  const builder = new PhonebookBuilder(numbers);
  const input = "file" in source ? createReadStream(source.file) : Readable.from([source.text]);
  const parser = input.pipe(
    parse({
      bom: true,
      columns: true,
      info: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
    }),
  );
  input.on("error", (err: Error) => parser.destroy(err));
  let header: string[] | undefined;
  const due = slicer();
  try {
    for await (const row of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      if (!header) {
        header = Object.keys(row.record).map((column) => column.toLowerCase());
        if (!header.includes("number") || !header.includes("name")) {
          builder.problems.push({ kind: "badFile", where: "line 1", value: "the header needs a number and a name column" });
          parser.destroy();
          break;
        }
      }
      builder.add(row.record, `line ${row.info.lines}`);
      await due();
    }
  } catch (err) {
    const line = (err as { lines?: unknown }).lines;
    builder.problems.push({ kind: "badFile", where: typeof line === "number" ? `line ${line}` : "CSV", value: (err as Error).message });
  }
  return builder.result();
}
