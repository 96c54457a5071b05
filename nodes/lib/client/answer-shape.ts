/**
 * What the client accepts as the shape of an API answer, and how it normalises it, so that callers only ever see
 * numbers where the API has numbers. Knows nothing of HTTP or Node-RED.
 *
 * The API notes leave open whether a (Java) PBX sends its numbers as JSON numbers or as strings, and what an idle
 * poll's `Data` looks like (`{}`, `[]`, `null` or missing). Rules:
 * - An integer is a JSON number that is a safe integer (`10`, `-1`, also `1e3` and `10.0`, which JSON reads as
 *   1000 and 10), or a string holding a decimal integer: optional surrounding whitespace, an optional `-`, digits
 *   only (`"10"`, `"-1"`, `" 0 "`, `"007"` as 7). Rejected: fractions (`1.5`, `"1.5"`), exponents or signs in strings
 *   (`"1e3"`, `"+5"`), hex, empty strings, booleans, null, objects and arrays, and anything beyond
 *   Number.MAX_SAFE_INTEGER (a seq the client cannot echo back exactly would lose or repeat events).
 * - The envelope's `Code` must be such an integer (every method); `seq` (subscribe) a non-negative one.
 * - `Data` (subscribe): missing or null is no entries and stays as it is; an empty array is no entries and becomes
 *   `{}`; an object is kept; a non-empty array or any other value rejects the answer.
 * - In each entry of `Data`, `CallID` and `Code` given as integer strings become numbers. Anything else in an entry
 *   is left as it came: judging single entries is the poll loop's business (it skips malformed ones with a warning),
 *   and one bad entry must not make the whole answer, and so every later poll, fail.
 */
import { NoojeeError } from "./errors";
import type { Envelope, SubscribeResponse } from "./types";

const INTEGER_TEXT = /^\s*-?\d+\s*$/;

/** The integer `value` stands for (see the rules above), or undefined when it is not one. */
export function readInteger(value: unknown): number | undefined {
  let n: number;
  if (typeof value === "number") n = value;
  else if (typeof value === "string" && INTEGER_TEXT.test(value)) n = Number(value);
  else return undefined;
  // -0 (from "-0") is 0: it would print as "0" anyway, but strict equality in tests and maps should not trip on it.
  return Number.isSafeInteger(n) ? n + 0 : undefined;
}

/** Checks and normalises the envelope's Code in place; throws badBody when it is not an integer. */
export function normaliseCode(envelope: Record<string, unknown>, httpStatus: number): Envelope {
  const code = readInteger(envelope.Code);
  if (code === undefined) {
    const reason = envelope.Code === undefined ? "answer without a Code" : "answer with a Code that is not an integer";
    throw new NoojeeError("badBody", reason, { httpStatus });
  }
  envelope.Code = code;
  return envelope as Envelope;
}

/** Checks and normalises a successful subscribe envelope in place (seq, Data, the entries' CallID and Code). */
export function normaliseSubscribe(envelope: Envelope): SubscribeResponse {
  const seq = readInteger(envelope.seq);
  if (envelope.seq === undefined || envelope.seq === null) throw new NoojeeError("badBody", "answer without a seq");
  if (seq === undefined) throw new NoojeeError("badBody", "answer with a seq that is not an integer");
  if (seq < 0) throw new NoojeeError("badBody", "answer with a negative seq");
  envelope.seq = seq;
  const data = envelope.Data;
  if (Array.isArray(data)) {
    if (data.length > 0) throw new NoojeeError("badBody", "answer with a malformed Data field (a non-empty array)");
    envelope.Data = {};
  } else if (data !== undefined && data !== null) {
    if (typeof data !== "object") throw new NoojeeError("badBody", "answer with a malformed Data field");
    for (const entries of Object.values(data)) {
      if (!Array.isArray(entries)) continue;
      for (const entry of entries) normaliseEntry(entry);
    }
  }
  return envelope as SubscribeResponse;
}

function normaliseEntry(entry: unknown): void {
  if (typeof entry !== "object" || entry === null || Array.isArray(entry)) return;
  const fields = entry as Record<string, unknown>;
  for (const name of ["CallID", "Code"]) {
    if (typeof fields[name] !== "string") continue;
    const n = readInteger(fields[name]);
    if (n !== undefined) fields[name] = n;
  }
}
