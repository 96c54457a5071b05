/**
 * A large JSON phonebook read in pieces, so that no single JSON.parse holds up the event loop for long (one
 * JSON.parse of a 100,000-record, 7 MB file takes 50 to 120 ms on a busy machine). Knows nothing of Node-RED.
 *
 * The top level (an array, or an object) is scanned for its elements, strings and nesting followed; runs of whole
 * elements (about 64 kB) are parsed by JSON.parse as a small array or object and handed on. JSON.parse still checks
 * every piece, so a syntax error anywhere fails the whole file, as one JSON.parse would.
 */

const BATCH_CHARS = 64 * 1024;
/** Characters scanned between two looks at the clock. */
const SCAN_STEP = 16 * 1024;

export class JsonBatchError extends Error {
  /** 1-based line of the text near which the error is. */
  constructor(message: string, readonly line: number) {
    super(message);
  }
}

/** The 1-based line of offset `at` in `text`, counting from `from` (on line `fromLine`). */
function lineAt(text: string, at: number, from = 0, fromLine = 1): number {
  let line = fromLine;
  for (let i = from; i < at && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
}

/**
 * Calls `onBatch` with each piece (about `batchChars` long; tests use small ones), in order: an array of elements for a top-level array, an object of some of its
 * keys for a top-level object. Text whose top level is neither is parsed whole and given as it is (the caller
 * decides what it makes of `"text"` or `42`). Throws JsonBatchError on a syntax error.
 */
export async function readJsonBatches(
  text: string,
  onBatch: (piece: unknown) => void,
  due: () => Promise<void> | undefined,
  batchChars = BATCH_CHARS,
): Promise<void> {
  let pos = 0;
  while (pos < text.length && /\s/.test(text[pos])) pos++;
  const open = text.charCodeAt(pos);
  if (open !== 91 && open !== 123) return void onBatch(parseOrThrow(text, text, 0));
  const close = open === 91 ? 93 : 125;
  const wrap = (body: string): string => (open === 91 ? `[${body}]` : `{${body}}`);
  let batchStart = ++pos;
  let depth = 0;
  let inString = false;
  let lastComma = -1;
  let scanned = 0;
  const flush = (end: number): void => {
    const body = text.slice(batchStart, end);
    if (body.trim() !== "") onBatch(parseOrThrow(wrap(body), text, batchStart - 1));
    batchStart = end + 1;
  };
  for (; pos < text.length; pos++) {
    const c = text.charCodeAt(pos);
    if (inString) {
      if (c === 92) pos++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 91 || c === 123) depth++;
    else if (c === 93 || c === 125) {
      if (depth === 0) break;
      depth--;
    } else if (c === 44 && depth === 0) {
      lastComma = pos;
      if (pos - batchStart >= batchChars) flush(pos);
    }
    if (++scanned >= SCAN_STEP) {
      scanned = 0;
      await due();
    }
  }
  if (pos >= text.length || text.charCodeAt(pos) !== close) {
    throw new JsonBatchError("the JSON ends before its closing bracket", lineAt(text, text.length));
  }
  if (text.slice(pos + 1).trim() !== "") throw new JsonBatchError("text after the closing bracket", lineAt(text, pos + 1));
  // `[1,]`: JSON.parse refuses it, unless the last piece ended at that comma.
  if (lastComma !== -1 && lastComma === batchStart - 1 && text.slice(batchStart, pos).trim() === "") {
    throw new JsonBatchError("a comma before the closing bracket", lineAt(text, lastComma));
  }
  flush(pos);
}

/** JSON.parse of a piece; a syntax error is given the line in the whole text (`offset`: where the piece starts). */
function parseOrThrow(piece: string, text: string, offset: number): unknown {
  try {
    return JSON.parse(piece);
  } catch (err) {
    const message = (err as Error).message;
    const at = /position (\d+)/.exec(message);
    const line = lineAt(text, offset + (at ? Number(at[1]) : 0));
    throw new JsonBatchError(message.replace(/,? ?(at )?position \d+.*$/s, "").replace(/\s*\(line \d+ column \d+\)/, ""), line);
  }
}
