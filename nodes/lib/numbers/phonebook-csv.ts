/**
 * CSV phonebooks, read with csv-parse's streaming parser: a file is parsed as it is read, chunk by chunk, so that
 * reloading a 100,000-line file never holds up the event loop for long (the sync API would parse it in one go).
 * The first row names the columns; `number` and `name` (any case) are required, the others go into the contact.
 */
import { createReadStream } from "node:fs";
import { Readable } from "node:stream";
import { parse } from "csv-parse";
import type { CallerIdNormaliser } from "./caller-id";
import { Phonebook, PhonebookBuilder, slicer } from "./phonebook";

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
