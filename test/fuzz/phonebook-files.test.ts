/**
 * Phonebook fuzz (fast-check): random CSV and JSON phonebook files with bad lines and records, BOMs, UTF-16, quotes,
 * delimiters, line endings and truncation, read as the config node reads a file (decodeText, then the CSV or JSON
 * reader). Properties: nothing throws; every good entry that the file holds whole is found with its name; every
 * bad line or record that the file holds whole is reported by its line or index, as the kind it is.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { CallerIdNormaliser } from "../../nodes/lib/numbers/caller-id";
import { PhonebookProblem, decodeText, phonebookFromCsv, phonebookFromJson } from "../../nodes/lib/numbers/phonebook";

const AU = new CallerIdNormaliser({ country: "AU" });
const RUNS = { numRuns: Number(process.env.FUZZ_RUNS ?? 300), seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined };

/** An Australian mobile number for index i (distinct per i), written in one of three forms, and its key. */
const mobile = (i: number, form: number): string => {
  const digits = String(10_000_000 + i).slice(-8);
  return [`04${digits}`, `+61 4${digits.slice(0, 2)} ${digits.slice(2, 5)} ${digits.slice(5)}`, `614${digits}`][form % 3];
};
const keyOf = (i: number): string => `+614${String(10_000_000 + i).slice(-8)}`;

/**
 * Names with the characters that trouble CSV and JSON readers, anywhere in them; never blank once trimmed. Often
 * starting with a delimiter: quoted, such a name closes an earlier unclosed quote into a record that parses.
 */
const name = fc
  .tuple(
    fc.constantFrom("", "", ", ", "; ", " "),
    fc.array(fc.constantFrom("A", "b", "Z", "é", "李", " ", '"', ",", ";", "\t", "\\", "[", "}", "'", "x"), { minLength: 1, maxLength: 12 }),
  )
  .map(([start, chars]) => start + chars.join(""))
  .filter((text) => text.trim() !== "");

type Line =
  | { kind: "good"; name: string; form: number; quote: boolean; company?: string }
  | { kind: "noNumber" | "noName" | "badNumber" | "unclosedQuote" | "textAfterQuote"; form: number }
  | { kind: "blank" };

const line: fc.Arbitrary<Line> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("good" as const), name, form: fc.nat(2), quote: fc.boolean(), company: fc.option(fc.constantFrom("Acme", "two\nlines", 'say ""hi""'), { nil: undefined }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom("noNumber" as const, "noName" as const, "badNumber" as const, "unclosedQuote" as const, "textAfterQuote" as const), form: fc.nat(2) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "blank" as const }) },
);

interface Written {
  text: string;
  /** Per good entry: its key, its name, and the offset at which its line (and line break) is complete. */
  good: Array<{ key: string; name: string; end: number }>;
  bad: Array<{ kind: string; line: number; end: number }>;
}

function writeCsv(lines: Line[], delimiter: string, eol: string, lastEol: boolean): Written {
  const needsQuotes = (value: string): boolean => value.includes(delimiter) || value.trimStart().startsWith('"') || /[\r\n]/.test(value);
  const quoted = (value: string): string => `"${value.replaceAll('"', '""')}"`;
  let text = ["number", "name", "company"].join(delimiter);
  let lineNo = 1;
  const written: Written = { text: "", good: [], bad: [] };
  lines.forEach((item, i) => {
    text += eol;
    lineNo++;
    let row = "";
    if (item.kind === "good") {
      const company = item.company === undefined ? "" : `${delimiter}"${item.company.replaceAll("\n", eol)}"`;
      row = `${mobile(i, item.form)}${delimiter}${item.quote || needsQuotes(item.name) ? quoted(item.name) : item.name}${company}`;
    } else if (item.kind === "noNumber") row = `${delimiter}Somebody`;
    else if (item.kind === "noName") row = `${mobile(i, item.form)}${delimiter}`;
    else if (item.kind === "badNumber") row = `not a number${delimiter}Somebody`;
    else if (item.kind === "unclosedQuote") row = `${mobile(i, item.form)}${delimiter}"Open quote`;
    else if (item.kind === "textAfterQuote") row = `${mobile(i, item.form)}${delimiter}"Quoted" then text`;
    const start = lineNo;
    text += row;
    lineNo += (row.match(/\r\n|\r|\n/g) ?? []).length;
    // Complete once the next line break is written (or at the end when the file ends without one).
    const end = i < lines.length - 1 || lastEol ? text.length + eol.length : text.length;
    if (item.kind === "good") written.good.push({ key: keyOf(i), name: item.name.trim(), end });
    else if (item.kind !== "blank") written.bad.push({ kind: item.kind, line: start, end });
  });
  if (lastEol) text += eol;
  return { ...written, text };
}

const lineOf = (problems: PhonebookProblem[], kind: string, line: number): boolean => problems.some((p) => p.kind === kind && p.where === `line ${line}`);

describe("phonebook fuzz", function () {
  this.timeout(60_000);

  it("CSV: good entries found, bad lines reported by line and kind, nothing throws; with BOMs, UTF-16, line ends, cuts", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(line, { maxLength: 30 }),
        fc.constantFrom(",", ";"),
        fc.constantFrom("\n", "\r\n", "\r"),
        fc.boolean(),
        fc.constantFrom("utf8", "utf8-bom", "utf16le-bom"),
        fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
        async (lines, delimiter, eol, lastEol, encoding, cutAt) => {
          const written = writeCsv(lines, delimiter, eol, lastEol);
          const cut = cutAt === undefined ? written.text.length : Math.floor(cutAt * written.text.length);
          const text = written.text.slice(0, cut);
          const bytes =
            encoding === "utf8" ? Buffer.from(text) : encoding === "utf8-bom" ? Buffer.from(`\uFEFF${text}`) : Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, "utf16le")]);
          const book = await phonebookFromCsv({ text: decodeText(bytes) }, AU);
          const header = ["number", "name", "company"].join(delimiter);
          if (cut < header.length) {
            assert.equal(book.entries.size, 0);
            return;
          }
          for (const good of written.good.filter((g) => g.end <= cut)) assert.equal(book.entries.get(good.key)?.name, good.name, good.key);
          for (const bad of written.bad.filter((b) => b.end <= cut)) assert.ok(lineOf(book.problems, bad.kind, bad.line), `${bad.kind} line ${bad.line}: ${JSON.stringify(book.problems)}`);
          // Nothing is found that the file does not hold (the line at a cut may give a name cut short).
          for (const [key, entry] of book.entries) assert.ok(written.good.some((g) => g.key === key && g.name.startsWith(entry.name)), `${key} ${entry.name}`);
        },
      ),
      RUNS,
    );
  });

  it("JSON: good records found, bad records reported by index, a cut file is one badFile; BOMs, CRLF, either shape", async () => {
    const record = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant("good"), name, form: fc.nat(2) }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constantFrom("noNumber", "noName", "badNumber", "badShape"), name, form: fc.nat(2) }) },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(record, { maxLength: 40 }),
        fc.boolean(),
        fc.constantFrom(0, 1, 2),
        fc.boolean(),
        fc.boolean(),
        fc.option(fc.double({ min: 0, max: 0.999, noNaN: true }), { nil: undefined }),
        fc.integer({ min: 1, max: 300 }),
        async (records, asObject, indent, crlf, bom, cutAt, batchChars) => {
          const values = records.map((r, i) =>
            r.kind === "good" ? { number: mobile(i, r.form), name: r.name } : r.kind === "noNumber" ? { name: r.name } : r.kind === "noName" ? { number: mobile(i, r.form) } : r.kind === "badNumber" ? { number: "abc", name: r.name } : "text",
          );
          // The object shape holds only what it can: good records and records without a name.
          const shaped = asObject
            ? Object.fromEntries(values.flatMap((v, i) => (records[i].kind === "good" ? [[(v as { number: string }).number, (v as { name: string }).name]] : records[i].kind === "noName" ? [[(v as { number: string }).number, ""]] : [])))
            : values;
          let text = JSON.stringify(shaped, null, indent);
          if (crlf) text = text.replaceAll("\n", "\r\n");
          const whole = cutAt === undefined;
          if (!whole) text = text.slice(0, Math.floor(cutAt * text.length));
          // Small pieces, so that a file of a few records is read in many (a real file: about 64 kB each).
          const book = await phonebookFromJson(decodeText(Buffer.from(bom ? `\uFEFF${text}` : text)), AU, batchChars);
          if (!whole) {
            assert.deepEqual([book.entries.size, book.problems.map((p) => p.kind)], [0, ["badFile"]]);
            return;
          }
          records.forEach((r, i) => {
            if (r.kind === "good") assert.equal(book.entries.get(keyOf(i))?.name, r.name.trim());
            else if (!asObject) assert.ok(book.problems.some((p) => p.kind === r.kind && p.where === `record ${i}`), `${r.kind} record ${i}`);
            else if (r.kind === "noName") assert.ok(book.problems.some((p) => p.kind === "noName" && p.value === mobile(i, r.form)));
          });
        },
      ),
      RUNS,
    );
  });
});
