/**
 * Property tests (fast-check) of caller IDs: for valid numbers of AU, NZ, GB, US and DE, every way of writing one
 * (national, international with +, after the country's international prefix, the calling code without +, with
 * punctuation, wrapped as PBXs and SIP write it) reads to one key, its E.164 form, and dials the same national
 * number; and a phonebook written in any of those forms finds a caller written in any other.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import parsePhoneNumberFromString, { type CountryCode, type PhoneNumber } from "libphonenumber-js/max";
import { CallerIdNormaliser, dialString } from "../../nodes/lib/numbers/caller-id";
import { CallerInfoService } from "../../nodes/lib/numbers/caller-info";
import { normalisePhoneNumber } from "../../nodes/lib/input/dial-input";

/** Valid numbers to start from (fixed lines, mobiles, toll free); the generator changes their last digits. */
const SEEDS: Record<string, string[]> = {
  AU: ["0355501234", "0298765432", "0412345678", "1800123456", "0755501234"],
  NZ: ["093001234", "0211234567", "0800123456", "043801234"],
  GB: ["02079460018", "07400123456", "01614960000", "08001234567", "01312345678"],
  US: ["2125550123", "6502530000", "8005550199", "3125550123"],
  DE: ["03012345678", "015123456789", "08912345678", "08001234567"],
};
/** Each country's international prefix, as its callers dial it. */
const IDD: Record<string, string> = { AU: "0011", NZ: "00", GB: "00", US: "011", DE: "00" };
const COUNTRIES = Object.keys(SEEDS);
const RUNS = Number(process.env.NOOJEE_FUZZ_RUNS ?? 200);

/** A valid number of `country`: a seed with up to 4 of its last digits changed, kept only when still valid. */
function validNumber(country: string): fc.Arbitrary<PhoneNumber> {
  return fc
    .tuple(fc.constantFrom(...SEEDS[country]), fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 0, maxLength: 4 }))
    .map(([seed, tail]) => parsePhoneNumberFromString(seed.slice(0, seed.length - tail.length) + tail.join(""), country as CountryCode))
    .filter((n): n is PhoneNumber => n !== undefined && n.isValid() && n.country === country);
}

/** The plain written forms of a number, formatted as people and PBXs write them. */
function plainForms(n: PhoneNumber): string[] {
  const international = n.formatInternational(); // "+61 3 5550 1234"
  const national = n.formatNational(); // "(03) 5550 1234"
  const forms = [
    national,
    national.replace(/[^0-9]/g, ""),
    international,
    n.number,
    `${IDD[n.country!]} ${international.slice(1)}`,
    `${IDD[n.country!]}${n.number.slice(1)}`,
    international.replace(/ /g, "-"),
    national.replace(/[()]/g, "").replace(/ /g, "."),
  ];
  // The calling code without + ("61 3 5550 1234"), except in Germany, where it is also a valid local number
  // without its area code's trunk prefix (4915123456789: 49 is an area code too), which the library reads it as.
  if (n.country !== "DE") forms.push(international.slice(1), n.number.slice(1));
  // "+44 (0)20 7946 0018": the trunk prefix in parentheses, where the country has one.
  if (national.replace(/[^0-9]/g, "").startsWith("0")) forms.push(international.replace(" ", " (0)"));
  return forms;
}

const SEPARATORS = [" ", "-", ".", "\u2013", "  "];

/** One written form: a plain one, its digits regrouped with random separators, and maybe wrapped. */
function writtenForm(n: PhoneNumber): fc.Arbitrary<string> {
  const plain = plainForms(n);
  const regrouped = fc
    .tuple(fc.constantFrom(n.number, n.formatNational().replace(/[^0-9]/g, "")), fc.array(fc.constantFrom("", "", "", ...SEPARATORS), { maxLength: 16 }))
    .map(([digits, seps]) => [...digits].map((d, i) => d + (i < digits.length - 1 ? seps[i % Math.max(1, seps.length)] ?? "" : "")).join(""));
  const base = fc.oneof(fc.constantFrom(...plain), regrouped);
  const compact = (s: string) => s.replace(/[^0-9+]/g, "");
  const wrap = fc.constantFrom<(s: string) => string>(
    (s) => s,
    (s) => `"Caller" <${s}>`,
    (s) => `Ann Smith <${s}>`,
    (s) => `SIP/${compact(s)}`,
    (s) => `PJSIP/${compact(s)}@trunk`,
    (s) => `sip:${compact(s)}@pbx.example.com`,
    (s) => `"Caller" <sip:${compact(s)}@10.0.0.1:5060;user=phone>;tag=x1`,
    (s) => `${s};ext=12`,
    (s) => `${s} x12`,
    (s) => `${s} ext. 7`,
  );
  return fc.oneof(
    fc.tuple(base, wrap).map(([s, w]) => w(s)),
    // tel: URIs hold the international form (RFC 3966), with visual separators or not.
    fc.constantFrom(`tel:${n.number}`, `tel:${n.formatInternational().replace(/ /g, "-")}`, `tel:${n.number};ext=3`),
  );
}

describe("property: every written form of a valid number reads to one key (AU, NZ, GB, US, DE)", function () {
  this.timeout(60_000);

  for (const country of COUNTRIES) {
    it(`${country}: the reading, the phonebook key and what dial sends are those of the number`, () => {
      const normaliser = new CallerIdNormaliser({ country });
      fc.assert(
        fc.property(validNumber(country).chain((n) => fc.tuple(fc.constant(n), writtenForm(n))), ([n, form]) => {
          const reading = normaliser.read(form);
          assert.equal(reading.e164, n.number, `read ${JSON.stringify(form)}`);
          assert.equal(reading.key, n.number);
          assert.notEqual(reading.kind, "invalid");
          assert.equal(normaliser.key(form), n.number, `key of ${JSON.stringify(form)}`);
          const compact = normalisePhoneNumber(form);
          assert.ok(compact !== undefined, `dial refuses ${JSON.stringify(form)}`);
          assert.equal(dialString(compact, country), n.formatNational().replace(/[^0-9]/g, ""), `dial ${JSON.stringify(form)}`);
        }),
        { numRuns: RUNS, seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined },
      );
    });
  }

  it("a phonebook written in one form finds a caller written in another, in every country", async () => {
    const pair = fc
      .constantFrom(...COUNTRIES)
      .chain((country) => validNumber(country).chain((n) => fc.tuple(fc.constant(country), writtenForm(n), writtenForm(n))));
    await fc.assert(
      fc.asyncProperty(pair, async ([country, stored, calling]) => {
        const service = new CallerInfoService({
          country,
          readContext: () => Promise.resolve({ [stored]: "Ann Smith" }),
          warn: (line) => assert.fail(`no warning expected for ${JSON.stringify(stored)}: ${line}`),
          describe: (source, problem) => `${source}: ${problem.kind} ${problem.where}`,
        });
        try {
          await service.check();
          assert.equal(service.size.context, 1, `indexed ${JSON.stringify(stored)}`);
          assert.equal(service.callerInfo(calling).callerName, "Ann Smith", `${JSON.stringify(stored)} finds ${JSON.stringify(calling)}`);
        } finally {
          service.close();
        }
      }),
      { numRuns: RUNS, seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined },
    );
  });
});
