/**
 * The records of a CSV text, each with the line it starts on, for phonebooks. Knows nothing of Node-RED.
 *
 * Written here rather than taken from csv-parse (1.1.0 used it): a phonebook must keep its good lines whatever a
 * bad one holds, and csv-parse, even with skip_records_with_error, lets one unclosed quote swallow the lines after it
 * and names the line where it gave up rather than the one at fault. Here a record that cannot be read (a quote never
 * closed, text after a closing quote) is reported by the line it starts on, and reading resumes on the next line.
 *
 * The format: fields separated by the header's delimiter (`,`, else `;`, else a tab), lines ended by CRLF, LF or CR,
 * fields trimmed; a field that starts with `"` is quoted (`""` is a quote in it, line breaks are kept); a quote
 * inside an unquoted field is text (`Bob "Bobby" Smith`). Blank lines are skipped.
 *
 * An unclosed quote may still pair with a quote lines later and make one long "valid" record of the lines between:
 * the caller refuses such a record (onRecord returns false: a phonebook's number and name never hold a line break)
 * and it is then reported and read again from its next line, like any record that cannot be read.
 */

export interface CsvRecord {
  fields: string[];
  /** 1-based line the record starts on. */
  line: number;
}

export interface CsvReading {
  /** Records that could not be read, by the line they start on. */
  bad: Array<{ line: number; reason: "unclosedQuote" | "textAfterQuote" }>;
}

const CR = 13;
const LF = 10;
const QUOTE = 34;
const SPACE = 32;
const TAB = 9;

/** The delimiter the first line that is not blank uses, outside quotes: a comma if it has one, else a semicolon, else a tab. */
export function delimiterOf(text: string): number {
  let semicolon = false;
  let tab = false;
  let quoted = false;
  // Blank lines before the header are skipped, as the reader skips them.
  let from = /[^\s]/.exec(text)?.index ?? 0;
  while (from > 0 && text.charCodeAt(from - 1) !== LF && text.charCodeAt(from - 1) !== CR) from--;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) quoted = !quoted;
    else if (quoted) continue;
    else if (c === CR || c === LF) break;
    else if (c === 44) return 44;
    else if (c === 59) semicolon = true;
    else if (c === TAB) tab = true;
  }
  return semicolon ? 59 : tab ? TAB : 44;
}

/**
 * Calls `onRecord` for each readable record, in order (false from it: the record is not one, see above); `due`
 * (phonebook.ts's slicer) gives the event loop a turn between records when a slice of work is over.
 */
export async function readCsv(
  text: string,
  onRecord: (record: CsvRecord) => boolean | void,
  due: () => Promise<void> | undefined,
): Promise<CsvReading> {
  const delimiter = delimiterOf(text);
  const blank = (c: number): boolean => c === SPACE || (c === TAB && delimiter !== TAB);
  const n = text.length;
  const reading: CsvReading = { bad: [] };
  let pos = 0;
  let line = 1;
  while (pos < n) {
    const start = pos;
    const startLine = line;
    const fields: string[] = [];
    let fault: "unclosedQuote" | "textAfterQuote" | undefined;
    for (;;) {
      while (pos < n && blank(text.charCodeAt(pos))) pos++;
      if (pos < n && text.charCodeAt(pos) === QUOTE) {
        let value = "";
        let from = ++pos;
        let closed = false;
        while (pos < n) {
          const c = text.charCodeAt(pos);
          if (c === QUOTE) {
            if (text.charCodeAt(pos + 1) === QUOTE) {
              value += text.slice(from, pos + 1);
              pos += 2;
              from = pos;
              continue;
            }
            value += text.slice(from, pos++);
            closed = true;
            break;
          }
          if (c === LF || (c === CR && text.charCodeAt(pos + 1) !== LF)) line++;
          pos++;
        }
        if (!closed) fault = "unclosedQuote";
        else {
          while (pos < n && blank(text.charCodeAt(pos))) pos++;
          const next = text.charCodeAt(pos);
          if (pos < n && next !== delimiter && next !== CR && next !== LF) fault = "textAfterQuote";
        }
        if (fault) break;
        fields.push(value);
      } else {
        const from = pos;
        while (pos < n) {
          const c = text.charCodeAt(pos);
          if (c === delimiter || c === CR || c === LF) break;
          pos++;
        }
        fields.push(text.slice(from, pos).trim());
      }
      if (pos < n && text.charCodeAt(pos) === delimiter) pos++;
      else break;
    }
    if (!fault && (fields.length > 1 || fields[0] !== "") && onRecord({ fields, line: startLine }) === false) fault = "unclosedQuote";
    if (fault) {
      // A record that ran over lines failed because of the quote its first line left open.
      if (line !== startLine) fault = "unclosedQuote";
      // Resume on the line after the one the record starts on: what followed an unclosed quote is read again.
      reading.bad.push({ line: startLine, reason: fault });
      pos = start;
      while (pos < n && text.charCodeAt(pos) !== CR && text.charCodeAt(pos) !== LF) pos++;
      line = startLine;
    }
    if (pos >= n) break;
    pos += text.charCodeAt(pos) === CR && text.charCodeAt(pos + 1) === LF ? 2 : 1;
    line++;
    await due();
  }
  return reading;
}
