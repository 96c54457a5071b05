/**
 * Numbers in wrapped forms (nodes/lib/numbers/number-text.ts) as the caller ID reading, the phonebook key and dial
 * see them; and no E.164 form for an invalid number.
 */
import assert from "node:assert/strict";
import { CallerIdNormaliser, dialString } from "../../nodes/lib/numbers/caller-id";
import { unwrapNumber } from "../../nodes/lib/numbers/number-text";
import { normalisePhoneNumber } from "../../nodes/lib/input/dial-input";

const WRAPPED: Array<[string, string]> = [
  ['"Bob" <0355501234>', "0355501234"],
  ["Bob Smith <+61 3 5550 1234>", "+61 3 5550 1234"],
  ['"Bob" <sip:0355501234@pbx.example.com;user=phone>;tag=a1', "0355501234"],
  ["SIP/0355501234", "0355501234"],
  ["PJSIP/0355501234@trunk", "0355501234"],
  ["IAX2/0355501234", "0355501234"],
  ["sip:0355501234@10.0.0.1:5060", "0355501234"],
  ["SIPS:+61355501234@pbx", "+61355501234"],
  ["sip:+61355501234:secret@pbx", "+61355501234"],
  ["tel:+61355501234", "+61355501234"],
  ["tel:+61-3-5550-1234;ext=12", "+61-3-5550-1234"],
  ["0355501234;ext=12", "0355501234"],
  ["0355501234 x12", "0355501234"],
  ["(03) 5550 1234 ext. 12", "(03) 5550 1234"],
  ["03 5550 1234, extension 7", "03 5550 1234"],
  ["0355501234x12", "0355501234"],
  // A quoted display name may hold angle brackets of its own (outside review of issue 24).
  ['"Bob <mobile>" <0355501234>', "0355501234"],
  ['"Ann \\"A<1>\\"" <sip:0355501234@pbx>', "0355501234"],
  // Left as they were: nothing wrapped.
  ["  0355501234  ", "0355501234"],
  ["*72#100", "*72#100"],
  ["anonymous", "anonymous"],
  ["Max", "Max"],
];

describe("unwrapNumber", () => {
  for (const [given, inside] of WRAPPED) {
    it(`${JSON.stringify(given)} -> ${JSON.stringify(inside)}`, () => assert.equal(unwrapNumber(given), inside));
  }
});

describe("wrapped caller IDs are read as the number inside (issue 24, item 10)", () => {
  const au = new CallerIdNormaliser({ country: "AU" });
  const forms = ['"Bob" <0355501234>', "SIP/0355501234", "sip:0355501234@host", "tel:+61355501234", "0355501234;ext=12", "0355501234 x12"];
  for (const form of forms) {
    it(`AU: ${form}`, () => {
      assert.deepEqual(au.read(form), { kind: "fixed_line", e164: "+61355501234", key: "+61355501234" });
      assert.equal(au.key(form), "+61355501234", "the phonebook key of the same text");
    });
  }

  it("markers stay markers, wrapped or not; an extension wrapped in its channel is an extension", () => {
    assert.equal(au.read('"Anonymous" <anonymous>').kind, "withheld");
    assert.equal(au.read("sip:anonymous@anonymous.invalid").kind, "withheld");
    assert.equal(au.read("<unknown>").kind, "unknown");
    assert.deepEqual(au.read("SIP/410"), { kind: "extension", key: "410" });
    const learned = new CallerIdNormaliser({ country: "AU", isExtension: (c) => c === "4101234" });
    assert.deepEqual(learned.read("PJSIP/4101234"), { kind: "extension", key: "4101234" });
  });

  it("without a country: an international number inside a wrapping still gets its E.164 form", () => {
    const none = new CallerIdNormaliser();
    assert.deepEqual(none.read("tel:+61355501234"), { kind: "fixed_line", e164: "+61355501234", key: "+61355501234" });
    assert.equal(none.key('"Bob" <0355501234>'), "0355501234");
  });

  it("dial takes the number inside and sends it as it would the bare number", () => {
    for (const form of forms) {
      const compact = normalisePhoneNumber(form);
      assert.ok(compact !== undefined, form);
      assert.equal(dialString(compact, "AU"), "0355501234", form);
    }
    assert.equal(normalisePhoneNumber("tel:+61355501234"), "+61355501234", "no country: as given, unwrapped");
    assert.equal(normalisePhoneNumber("sip:bob@pbx"), undefined, "a SIP user name is not a number");
  });
});

describe("an invalid number has no E.164 form", () => {
  it("AU: 0061355501234 (not AU's international prefix) is invalid, without a made-up +61061...", () => {
    const au = new CallerIdNormaliser({ country: "AU" });
    const reading = au.read("0061355501234");
    assert.equal(reading.kind, "invalid");
    assert.equal("e164" in reading, false);
    // Still one key for one text, so a phonebook holding it as written finds it.
    assert.equal(au.key("0061355501234"), reading.key);
  });

  it("AU reading a UK national number: invalid, no E.164 form", () => {
    const reading = new CallerIdNormaliser({ country: "AU" }).read("02079460018");
    assert.deepEqual([reading.kind, reading.e164], ["invalid", undefined]);
  });
});
