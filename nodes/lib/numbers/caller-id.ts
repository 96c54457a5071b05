/**
 * What a caller ID is: its E.164 form and its kind, computed with libphonenumber-js (its "max" metadata, the one
 * that knows number types), never with prefix rules of our own. Knows nothing of Node-RED.
 *
 * The rule, in order (documented in the config node's help):
 * 0. the number inside a wrapping (`"Bob" <0355501234>`, `sip:0355501234@pbx`, `SIP/...`, `tel:`, `;ext=12`:
 *    number-text.ts) is what is read.
 * 1. missing, empty or a marker the PBX uses for no number ("unknown", "<unknown>", "unavailable") -> `unknown`;
 *    a marker for a hidden number ("anonymous", "private", "restricted", "withheld", "blocked") -> `withheld`.
 *    Neither gets an E.164 form: nothing is guessed.
 * 2. one of the PBX's extensions (the `isExtension` predicate) -> `extension`.
 * 3. 2 to 6 digits with no leading 0 or + -> `extension`, unless the number library says it is a valid national
 *    number reachable from anywhere (toll free, shared cost, premium rate, UAN: e.g. Australia's 13 11 22). External
 *    caller IDs come with their trunk prefix (0...) or in international form, so a short bare number is internal.
 * 4. otherwise the number library's reading in the configured country: `callerIdE164` for a valid number, and its
 *    type (`mobile`, `fixed_line`, `fixed_line_or_mobile`, `toll_free`, `premium_rate`,
 *    `shared_cost`, `voip`, `personal_number`, `pager`, `uan`, `voicemail`), `other` for a valid number of no known
 *    type, `invalid` for one that is not a valid number (letters, wrong length, an unallocated range).
 */
import parsePhoneNumberFromString, { isSupportedCountry } from "libphonenumber-js/max";
import type { CountryCode, NumberType } from "libphonenumber-js/max";
import { unwrapNumber } from "./number-text";

export type CallerIdKind =
  | "unknown"
  | "withheld"
  | "extension"
  | "invalid"
  | "other"
  | "mobile"
  | "fixed_line"
  | "fixed_line_or_mobile"
  | "toll_free"
  | "premium_rate"
  | "shared_cost"
  | "voip"
  | "personal_number"
  | "pager"
  | "uan"
  | "voicemail";

export interface CallerIdReading {
  kind: CallerIdKind;
  /** `+61355501234`; absent for withheld, unknown and extension caller IDs and for invalid numbers. */
  e164?: string;
  /** The key a phonebook is indexed by: the E.164 form when there is one, else the digits without punctuation. */
  key?: string;
}

/** What normalisation removes: whitespace, ASCII and typographic dashes, dots, parentheses. */
export const NUMBER_PUNCTUATION = /[\s.()\-\u2010-\u2015]/g;
const UNKNOWN_MARKERS = new Set(["unknown", "<unknown>", "unavailable", "none"]);
const WITHHELD_MARKERS = new Set(["anonymous", "private", "restricted", "withheld", "blocked", "<anonymous>"]);
const SHORT_INTERNAL = /^[1-9][0-9]{1,5}$/;
const NUMBER = /^\+?[0-9]+$/;
/** Types of short national numbers that may call in from outside (rule 3). */
const REACHABLE_FROM_ANYWHERE = new Set<NumberType>(["TOLL_FREE", "SHARED_COST", "PREMIUM_RATE", "UAN"]);
/** Readings kept per normaliser; the oldest go first. A PBX's callers repeat, so this is enough. */
const CACHE_SIZE = 10_000;

/** ISO 3166 alpha-2 (`AU`) that the number library knows; "" means no country. */
export function isCountry(value: string): boolean {
  return value === "" || (/^[A-Z]{2}$/.test(value) && isSupportedCountry(value));
}

export interface CallerIdOptions {
  /** ISO 3166 alpha-2; "" or undefined: numbers are left as they are (only international ones get an E.164 form). */
  country?: string;
  /** The PBX's own extensions (rule 2). */
  isExtension?: (compact: string) => boolean;
}

export class CallerIdNormaliser {
  readonly country: CountryCode | undefined;
  private readonly cache = new Map<string, CallerIdReading>();
  private readonly isExtension: (compact: string) => boolean;

  constructor(options: CallerIdOptions = {}) {
    const country = (options.country ?? "").trim().toUpperCase();
    if (!isCountry(country)) throw new RangeError(`unknown country code "${options.country}"`);
    this.country = country === "" ? undefined : (country as CountryCode);
    this.isExtension = options.isExtension ?? (() => false);
  }

  /** The reading of a caller ID (cached; the same object for the same text: do not change it). */
  read(callerId: unknown): CallerIdReading {
    if (typeof callerId === "number" && Number.isSafeInteger(callerId) && callerId >= 0) callerId = String(callerId);
    if (typeof callerId !== "string") return { kind: "unknown" };
    // Before the cache: an extension learned after its number was first read (and cached as a number) wins.
    if (this.isExtension(callerId)) return { kind: "extension", key: callerId };
    const cached = this.cache.get(callerId);
    if (cached) return cached;
    const reading = this.compute(callerId);
    if (this.cache.size >= CACHE_SIZE) this.cache.delete(this.cache.keys().next().value as string);
    this.cache.set(callerId, reading);
    return reading;
  }

  /**
   * The phonebook key of a number as written, without the cache (indexing 100,000 entries would flush it) and
   * without the number type, which a key does not need: the same key read() gives for that text.
   */
  key(text: unknown): string | undefined {
    if (typeof text === "number" && Number.isSafeInteger(text) && text >= 0) text = String(text);
    if (typeof text !== "string") return undefined;
    const compact = this.markerOrCompact(text);
    if (compact === undefined) return undefined;
    if (this.isExtension(compact) || SHORT_INTERNAL.test(compact)) return this.compute(text).key;
    if (!NUMBER.test(compact)) return undefined;
    if (!this.country && !compact.startsWith("+")) return compact;
    const parsed = parsePhoneNumberFromString(compact, this.country);
    return parsed?.isPossible() ? parsed.number : compact;
  }

  /** undefined for an empty or marker caller ID, else the number it holds (number-text.ts) without punctuation. */
  private markerOrCompact(text: string): string | undefined {
    const trimmed = unwrapNumber(text);
    const lower = trimmed.toLowerCase();
    if (trimmed === "" || UNKNOWN_MARKERS.has(lower) || WITHHELD_MARKERS.has(lower)) return undefined;
    return trimmed.replace(NUMBER_PUNCTUATION, "");
  }

  private compute(text: string): CallerIdReading {
    const compact = this.markerOrCompact(text);
    if (compact === undefined) return { kind: WITHHELD_MARKERS.has(unwrapNumber(text).toLowerCase()) ? "withheld" : "unknown" };
    if (this.isExtension(compact)) return { kind: "extension", key: compact };
    if (!NUMBER.test(compact)) return { kind: "invalid" };
    // Without a country only international numbers can be read: the rest is left as it is.
    if (!this.country && !compact.startsWith("+")) {
      return SHORT_INTERNAL.test(compact) ? { kind: "extension", key: compact } : { kind: "invalid", key: compact };
    }
    const parsed = parsePhoneNumberFromString(compact, this.country);
    // getType() is undefined exactly for the numbers isValid() refuses (it is how the library defines validity):
    // one pattern match instead of two.
    const type = parsed?.getType();
    if (SHORT_INTERNAL.test(compact) && (!type || !REACHABLE_FROM_ANYWHERE.has(type))) return { kind: "extension", key: compact };
    if (!parsed?.isPossible()) return { kind: "invalid", key: compact };
    const e164 = parsed.number;
    // An invalid number has no E.164 form (0061... in AU is not +61061...); its key is still the library's
    // reading, so that a range newer than the library's metadata matches however it is written.
    if (!type) return parsed.isValid() ? { kind: "other", e164, key: e164 } : { kind: "invalid", key: e164 };
    return { kind: type.toLowerCase() as CallerIdKind, e164, key: e164 };
  }
}

/**
 * dial: what the dial node sends the PBX for a number written any way (`+61 3 5550 1234`, `0355501234`, `61355501234`).
 *
 * Without a country: the digits as given, punctuation removed (dial-input.ts), as before countries existed.
 * With one, read by libphonenumber-js in that country:
 * - a valid number of that country -> its national form as digits (`0355501234`), what a PBX's outbound routes
 *   expect for local calls, whichever way it was written;
 * - a valid number of another country -> E.164 (`+442079460018`): the PBX's dial plan turns it into its
 *   international prefix;
 * - anything else (extensions, short codes, feature codes with `*` or `#`, numbers the library does not find valid)
 *   -> as given, punctuation removed: the PBX decides, as it does without a country.
 */
const DIGITS = /^\+?[0-9]{7,}$/;

/** `compact` is already free of punctuation (normalisePhoneNumber); `country` "" or undefined means none. */
export function dialString(compact: string, country?: string): string {
  if (!country || !DIGITS.test(compact)) return compact;
  const parsed = parsePhoneNumberFromString(compact, country as CountryCode);
  if (!parsed?.isValid()) return compact;
  if (parsed.country === country) return parsed.formatNational().replace(/[^0-9]/g, "");
  return parsed.number;
}
