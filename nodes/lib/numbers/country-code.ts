/**
 * The config node's optional Country as typed: an ISO 3166 alpha-2 code the number library knows, in any case and
 * with spaces around it, or empty. A wrong one is told apart with the code that was probably meant (`UK` -> `GB`,
 * `USA` -> `US`, `+61` -> `AU`), so that the warning can name it; the nodes carry on without a country rather than
 * stop over an optional setting. Knows nothing of Node-RED.
 */
import { getCountries, getCountryCallingCode, isSupportedCountry } from "libphonenumber-js/max";

export type CountryReading = { ok: true; code: string } | { ok: false; suggestion?: string };

/** Names, alpha-3 codes and other codes people type for a country, upper case, single spaces. */
const MEANT: Readonly<Record<string, string>> = {
  UK: "GB", EN: "GB", ENG: "GB", GBR: "GB", BRITAIN: "GB", "GREAT BRITAIN": "GB", "UNITED KINGDOM": "GB",
  ENGLAND: "GB", SCOTLAND: "GB", WALES: "GB", "NORTHERN IRELAND": "GB",
  USA: "US", AMERICA: "US", "UNITED STATES": "US", "UNITED STATES OF AMERICA": "US",
  AUS: "AU", AUSTRALIA: "AU", NZL: "NZ", "NEW ZEALAND": "NZ", AOTEAROA: "NZ",
  DEU: "DE", GER: "DE", GERMANY: "DE", DEUTSCHLAND: "DE",
  CAN: "CA", CANADA: "CA", IRL: "IE", IRELAND: "IE", FRA: "FR", FRANCE: "FR", NLD: "NL", NETHERLANDS: "NL",
  ZAF: "ZA", "SOUTH AFRICA": "ZA", SGP: "SG", SINGAPORE: "SG", IND: "IN", INDIA: "IN",
  // The European Union's code for Greece.
  EL: "GR",
};
/** Calling codes several countries share: the one they are most often meant for. */
const MAIN_OF_CALLING_CODE: Readonly<Record<string, string>> = { "1": "US", "7": "RU", "44": "GB", "61": "AU", "39": "IT", "47": "NO" };

export function readCountry(value: unknown): CountryReading {
  if (value === undefined || value === null) return { ok: true, code: "" };
  const typed = String(value).trim().toUpperCase().replace(/\s+/g, " ");
  if (typed === "") return { ok: true, code: "" };
  if (/^[A-Z]{2}$/.test(typed) && isSupportedCountry(typed)) return { ok: true, code: typed };
  const suggestion = MEANT[typed] ?? byCallingCode(typed);
  return suggestion === undefined ? { ok: false } : { ok: false, suggestion };
}

/** `+61`, `61`, `0061` -> AU. */
function byCallingCode(typed: string): string | undefined {
  const m = /^(?:\+|00)?([1-9][0-9]{0,2})$/.exec(typed);
  if (!m) return undefined;
  const code = m[1];
  const countries = getCountries().filter((c) => getCountryCallingCode(c) === code);
  return countries.length === 1 ? countries[0] : countries.length > 1 ? MAIN_OF_CALLING_CODE[code] : undefined;
}
