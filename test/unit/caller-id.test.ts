/** Caller ID readings (nodes/lib/numbers/caller-id.ts) for real-world formats, and the dial form (dialString). */
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { getCountries } from "libphonenumber-js/max";
import { CallerIdNormaliser, isCountry } from "../../nodes/lib/numbers/caller-id";
import { dialString } from "../../nodes/lib/numbers/caller-id";
import { normalisePhoneNumber } from "../../nodes/lib/input/dial-input";

type Row = [country: string, callerId: unknown, kind: string, e164?: string];

const TABLE: Row[] = [
  // Australia: every written form of one number, mobiles, toll free, 13 numbers, emergency, extensions.
  ["AU", "+61 3 5550 1234", "fixed_line", "+61355501234"],
  ["AU", "0355501234", "fixed_line", "+61355501234"],
  ["AU", "61355501234", "fixed_line", "+61355501234"],
  ["AU", "(03) 5550-1234", "fixed_line", "+61355501234"],
  ["AU", "0412 345 678", "mobile", "+61412345678"],
  ["AU", "+61412345678", "mobile", "+61412345678"],
  ["AU", "1800 123 456", "toll_free", "+611800123456"],
  ["AU", "13 11 22", "shared_cost", "+61131122"],
  ["AU", "400", "extension"],
  ["AU", "4101", "extension"],
  ["AU", 410, "extension"],
  ["AU", "000", "invalid"],
  ["AU", "+44 20 7946 0018", "fixed_line", "+442079460018"],
  // United Kingdom.
  ["GB", "020 7946 0018", "fixed_line", "+442079460018"],
  ["GB", "+44 (0)20 7946 0018", "fixed_line", "+442079460018"],
  ["GB", "07400 123456", "mobile", "+447400123456"],
  ["GB", "0800 123 4567", "toll_free", "+448001234567"],
  ["GB", "999", "extension"],
  // United States: the library cannot tell fixed lines from mobiles there.
  ["US", "(212) 555-0123", "fixed_line_or_mobile", "+12125550123"],
  ["US", "1-212-555-0123", "fixed_line_or_mobile", "+12125550123"],
  ["US", "+1 650 253 0000", "fixed_line_or_mobile", "+16502530000"],
  ["US", "1-800-555-0199", "toll_free", "+18005550199"],
  ["US", "911", "extension"],
  // Germany: short bare numbers are internal even where the library would read a local number.
  ["DE", "030 12345678", "fixed_line", "+493012345678"],
  ["DE", "+49 1512 3456789", "mobile", "+4915123456789"],
  ["DE", "0800 123 4567", "toll_free", "+498001234567"],
  ["DE", "40012", "extension"],
  ["DE", "112", "extension"],
  // Withheld, empty and malformed: said to be so, never guessed.
  ["AU", "anonymous", "withheld"],
  ["AU", "Anonymous", "withheld"],
  ["GB", "withheld", "withheld"],
  ["US", "Restricted", "withheld"],
  ["DE", "private", "withheld"],
  ["AU", "", "unknown"],
  ["AU", "   ", "unknown"],
  ["AU", undefined, "unknown"],
  ["AU", null, "unknown"],
  ["AU", "<unknown>", "unknown"],
  ["AU", "unavailable", "unknown"],
  ["AU", "abc", "invalid"],
  ["AU", "03 5550 12x4", "invalid"],
  ["AU", "5", "invalid"],
  ["AU", "12345678901234567890", "invalid"],
  // Of possible length but in no allocated range: invalid, and so without an E.164 form.
  ["GB", "07700 900123", "invalid"],
  ["AU", "*97", "invalid"],
];

describe("caller ID readings", () => {
  const normalisers = new Map<string, CallerIdNormaliser>();
  for (const [country, callerId, kind, e164] of TABLE) {
    it(`${country} ${JSON.stringify(callerId)} -> ${kind}${e164 ? ` ${e164}` : ""}`, () => {
      let n = normalisers.get(country);
      if (!n) normalisers.set(country, (n = new CallerIdNormaliser({ country })));
      const reading = n.read(callerId);
      assert.equal(reading.kind, kind);
      assert.equal(reading.e164, e164);
      if (e164) assert.equal(reading.key, e164);
    });
  }

  it("an extension of the PBX is an extension whatever its length; the reading is cached", () => {
    const known = new Set(["5550123456"]);
    const n = new CallerIdNormaliser({ country: "AU", isExtension: (c) => known.has(c) });
    assert.equal(n.read("5550123457").kind, "invalid");
    known.add("5550123457");
    assert.equal(n.read("5550123457").kind, "extension", "learned after it was read and cached");
    assert.equal(n.read("5550123456").kind, "extension");
    assert.equal(n.read("0355501234"), n.read("0355501234"));
  });

  it("without a country only international numbers are read; the others keep their digits as the key", () => {
    const n = new CallerIdNormaliser();
    assert.deepEqual(n.read("+61 3 5550 1234"), { kind: "fixed_line", e164: "+61355501234", key: "+61355501234" });
    assert.deepEqual(n.read("03 5550 1234"), { kind: "invalid", key: "0355501234" });
    assert.equal(n.read("anonymous").kind, "withheld");
  });

  it("country codes: ISO 3166 alpha-2 the library knows, or empty", () => {
    for (const good of ["", "AU", "GB", "US", "DE"]) assert.equal(isCountry(good), true, good);
    for (const bad of ["au", "XX", "AUS", "UK", " A"]) assert.equal(isCountry(bad), false, bad);
    assert.throws(() => new CallerIdNormaliser({ country: "XX" }), /unknown country code "XX"/);
    assert.equal(new CallerIdNormaliser({ country: " au " }).country, "AU");
  });

  it("the config editor offers exactly the library's countries", () => {
    const html = fs.readFileSync(path.join(__dirname, "..", "..", "..", "nodes", "noojee-config.html"), "utf8");
    const m = /var COUNTRIES = "([A-Z ]+)";/.exec(html);
    assert.ok(m, "COUNTRIES in noojee-config.html");
    assert.deepEqual(m[1].split(" "), [...getCountries()].sort());
  });
});

describe("what dial sends", () => {
  const cases: Array<[string | undefined, string, string]> = [
    [undefined, "+61 3 5550 1234", "+61355501234"],
    [undefined, "0355501234", "0355501234"],
    ["AU", "+61 3 5550 1234", "0355501234"],
    ["AU", "61355501234", "0355501234"],
    ["AU", "0355501234", "0355501234"],
    ["AU", "+44 20 7946 0018", "+442079460018"],
    ["AU", "400", "400"],
    ["AU", "13 11 22", "131122"],
    ["AU", "*97", "*97"],
    ["GB", "+44 20 7946 0018", "02079460018"],
    ["US", "+1 (212) 555-0123", "2125550123"],
    ["DE", "+49 30 12345678", "03012345678"],
    ["AU", "12345678901", "12345678901"],
  ];
  for (const [country, given, sent] of cases) {
    it(`${country ?? "no country"}: ${given} -> ${sent}`, () => {
      const compact = normalisePhoneNumber(given);
      assert.ok(compact !== undefined);
      assert.equal(dialString(compact, country), sent);
    });
  }
});
