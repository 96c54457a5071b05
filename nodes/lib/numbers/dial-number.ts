/**
 * What the dial node sends the PBX for a number written any way (`+61 3 5550 1234`, `0355501234`, `61355501234`).
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
import parsePhoneNumberFromString from "libphonenumber-js/max";
import type { CountryCode } from "libphonenumber-js/max";

const DIGITS = /^\+?[0-9]{7,}$/;

/** `compact` is already free of punctuation (normalisePhoneNumber); `country` "" or undefined means none. */
export function dialString(compact: string, country?: string): string {
  if (!country || !DIGITS.test(compact)) return compact;
  const parsed = parsePhoneNumberFromString(compact, country as CountryCode);
  if (!parsed?.isValid()) return compact;
  if (parsed.country === country) return parsed.formatNational().replace(/[^0-9]/g, "");
  return parsed.number;
}
