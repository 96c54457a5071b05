import assert from "node:assert/strict";
import { checkDialSettings, DialSettings, normalisePhoneNumber, resolveDialInput, withTech } from "../../nodes/lib/input/dial-input";

const defaults: DialSettings = {
  number: "",
  extension: "",
  tech: "SIP",
  autoAnswer: "",
  callerId: "",
  phoneCaption: "",
  tag: "",
  monitored: true,
  record: false,
};

function params(msg: Record<string, unknown>, settings: Partial<DialSettings> = {}) {
  const result = resolveDialInput(msg, { ...defaults, ...settings });
  assert.ok(result.ok, JSON.stringify(result));
  return result.params;
}

function problem(msg: Record<string, unknown>, settings: Partial<DialSettings> = {}) {
  const result = resolveDialInput(msg, { ...defaults, ...settings });
  assert.equal(result.ok, false, JSON.stringify(result));
  return result as { problem: string; value?: string };
}

describe("normalisePhoneNumber", () => {
  it("removes spaces, dashes, dots and parentheses and keeps +, digits, * and #", () => {
    assert.equal(normalisePhoneNumber("+61 2 9999 0000"), "+61299990000");
    assert.equal(normalisePhoneNumber("(02) 9999-0000"), "0299990000");
    assert.equal(normalisePhoneNumber("02.9999.0000"), "0299990000");
    assert.equal(normalisePhoneNumber("0299 – 990 000"), "0299990000", "a typographic dash from a web page");
    assert.equal(normalisePhoneNumber(" *72#100 "), "*72#100");
    assert.equal(normalisePhoneNumber("1".repeat(32)), "1".repeat(32));
  });
  it("takes the number inside a wrapping and drops an extension after it (number-text.ts)", () => {
    assert.equal(normalisePhoneNumber('"Bob" <02 9999 0000>'), "0299990000");
    assert.equal(normalisePhoneNumber("0299 ext 12"), "0299");
  });
  it("takes a whole non-negative number as its digits", () => {
    assert.equal(normalisePhoneNumber(61299990000), "61299990000");
    assert.equal(normalisePhoneNumber(0), "0");
  });
  it("refuses what is not a dialable number", () => {
    for (const bad of ["", " ", "+", "++61", "61+2", "0299 ext", "ext 12", "1".repeat(33), "100&apiKey=x", "٣٤٥", "1\n2x", 1.5, -100, 1e21, NaN, null, true, {}, ["100"]]) {
      assert.equal(normalisePhoneNumber(bad), undefined, JSON.stringify(bad));
    }
  });
});

describe("withTech", () => {
  it("puts the tech before a bare extension only", () => {
    assert.equal(withTech("100", "SIP"), "SIP/100");
    assert.equal(withTech("PJSIP/100", "SIP"), "PJSIP/100");
    assert.equal(withTech("100", "IAX2"), "IAX2/100");
  });
});

describe("resolveDialInput", () => {
  it("takes the number from msg.number, else the node's Number, else a string or number msg.payload", () => {
    const ext = { extension: "100" };
    assert.equal(params({ ...ext, number: "111", payload: "222" }, { number: "333" }).number, "111");
    assert.equal(params({ ...ext, payload: "222" }, { number: "333" }).number, "333", "payload does not override the node's Number");
    assert.equal(params({ ...ext, payload: "+61 2 9999 0000" }).number, "+61299990000");
    assert.equal(params({ ...ext, payload: 299990000 }).number, "299990000");
    assert.equal(params({ ...ext, number: 412345678, payload: { x: 1 } }).number, "412345678");
  });
  it("reports a missing or bad number, naming the value", () => {
    assert.deepEqual(problem({ extension: "100" }), { ok: false, problem: "noNumber" });
    assert.deepEqual(problem({ extension: "100", payload: { number: "1" } }), { ok: false, problem: "noNumber" });
    assert.deepEqual(problem({ extension: "100", payload: "" }), { ok: false, problem: "noNumber" });
    assert.deepEqual(problem({ extension: "100", payload: "call me" }), { ok: false, problem: "badNumber", value: "call me" });
    assert.deepEqual(problem({ extension: "100", number: "1&x=2", payload: "100" }), { ok: false, problem: "badNumber", value: "1&x=2" });
  });
  it("takes msg.extension before the node's Extension (the one rule), and puts the node's tech before a bare one", () => {
    assert.equal(params({ payload: "1", extension: "200" }, { extension: "100" }).extenOrUniqueId, "SIP/200");
    assert.equal(params({ payload: "1", extension: "200" }, { extension: "PJSIP/100", tech: "IAX2" }).extenOrUniqueId, "IAX2/200");
    assert.equal(params({ payload: "1", extension: "" }, { extension: "PJSIP/100" }).extenOrUniqueId, "PJSIP/100");
    assert.equal(params({ payload: "1" }, { extension: "100" }).extenOrUniqueId, "SIP/100");
    assert.deepEqual(problem({ payload: "1", extension: "20x" }, { extension: "100" }), { ok: false, problem: "badExtension", value: "20x" });
    assert.equal(params({ payload: "1", extension: "200" }).extenOrUniqueId, "SIP/200");
    assert.equal(params({ payload: "1", extension: 200 }, { tech: "PJSIP" }).extenOrUniqueId, "PJSIP/200");
    assert.equal(params({ payload: "1", extension: "IAX2/200" }).extenOrUniqueId, "IAX2/200");
    assert.deepEqual(problem({ payload: "1", topic: "200" }), { ok: false, problem: "noExtension" });
    assert.deepEqual(problem({ payload: "1", extension: "SIP/" }), { ok: false, problem: "badExtension", value: "SIP/" });
    assert.deepEqual(problem({ payload: "1", extension: "100&x" }), { ok: false, problem: "badExtension", value: "100&x" });
  });
  it("lets msg.callerId, msg.phoneCaption, msg.tag, msg.monitored and msg.record override the node's settings", () => {
    const node = { extension: "100", callerId: "0299990000", phoneCaption: "Node", tag: "node-tag", monitored: true, record: false };
    assert.deepEqual(params({ payload: "1" }, node), {
      number: "1",
      extenOrUniqueId: "SIP/100",
      autoAnswer: undefined,
      callerId: "0299990000",
      phoneCaption: "Node",
      monitored: true,
      record: false,
      tag: "node-tag",
    });
    assert.deepEqual(
      params({ payload: "1", callerId: " 0388880000 ", phoneCaption: "Msg & co", tag: "a&b c", monitored: false, record: true }, node),
      {
        number: "1",
        extenOrUniqueId: "SIP/100",
        autoAnswer: undefined,
        callerId: "0388880000",
        phoneCaption: "Msg & co",
        monitored: false,
        record: true,
        tag: "a&b c",
      },
    );
    // Absent, null and "" leave the node's value in place.
    const kept = params({ payload: "1", callerId: "", phoneCaption: null, tag: undefined, monitored: null }, node);
    assert.deepEqual([kept.callerId, kept.phoneCaption, kept.tag, kept.monitored], ["0299990000", "Node", "node-tag", true]);
    assert.equal(params({ payload: "1", tag: 42 }, node).tag, "42");
  });
  it("sends the auto-answer header and leaves empty optional values out", () => {
    const p = params({ payload: "1", extension: "100" }, { autoAnswer: "Alert-Info: Ring Answer" });
    assert.equal(p.autoAnswer, "Alert-Info: Ring Answer");
    assert.equal(p.callerId, undefined);
    assert.equal(p.tag, undefined);
  });
  it("lets msg.tech and msg.autoAnswer override the node's Technology and Auto-answer too (outside review)", () => {
    const p = params({ payload: "1", extension: "100", tech: "PJSIP", autoAnswer: "Call-info:answer-after=0" }, { tech: "SIP" });
    assert.deepEqual([p.extenOrUniqueId, p.autoAnswer], ["PJSIP/100", "Call-info:answer-after=0"]);
    const kept = params({ payload: "1", extension: "100", tech: "", autoAnswer: "" }, { tech: "IAX2", autoAnswer: "Alert-Info: Ring Answer" });
    assert.deepEqual([kept.extenOrUniqueId, kept.autoAnswer], ["IAX2/100", "Alert-Info: Ring Answer"], '"" counts as absent');
    assert.equal(problem({ payload: "1", extension: "100", tech: "1SIP" }).problem, "badTech");
    assert.equal(problem({ payload: "1", extension: "100", tech: 5 }).problem, "badTech");
    assert.equal(problem({ payload: "1", extension: "100", autoAnswer: "a\nb" }).problem, "badAutoAnswer");
    assert.equal(problem({ payload: "1", extension: "100", autoAnswer: 7 }).problem, "badAutoAnswer");
  });

  it("refuses bad overrides instead of guessing", () => {
    const base = { payload: "1", extension: "100" };
    assert.equal(problem({ ...base, monitored: "no" }).problem, "badMonitored");
    assert.equal(problem({ ...base, record: 1 }).problem, "badRecord");
    assert.equal(problem({ ...base, callerId: "a\nb" }).problem, "badCallerId");
    assert.equal(problem({ ...base, phoneCaption: "x".repeat(81) }).problem, "badPhoneCaption");
    assert.equal(problem({ ...base, tag: { t: 1 } }).problem, "badTag");
  });
});

describe("checkDialSettings", () => {
  it("accepts the defaults and sensible values", () => {
    assert.equal(checkDialSettings(defaults), undefined);
    assert.equal(
      checkDialSettings({ ...defaults, number: "(02) 9999 0000", extension: "PJSIP/100", tech: "IAX2", autoAnswer: "Call-info:answer-after=0", callerId: "Sales", tag: "t" }),
      undefined,
    );
  });
  it("names the first bad setting", () => {
    assert.equal(checkDialSettings({ ...defaults, number: "abc" })?.problem, "badNumber");
    assert.equal(checkDialSettings({ ...defaults, extension: "SIP 100" })?.problem, "badExtension");
    for (const tech of ["", "SIP/", "1SIP", "S-IP"]) assert.equal(checkDialSettings({ ...defaults, tech })?.problem, "badTech", tech);
    assert.equal(checkDialSettings({ ...defaults, autoAnswer: "a\r\nb" })?.problem, "badAutoAnswer");
    assert.equal(checkDialSettings({ ...defaults, callerId: "x".repeat(81) })?.problem, "badCallerId");
    assert.equal(checkDialSettings({ ...defaults, phoneCaption: "a\tb" })?.problem, "badPhoneCaption");
    assert.equal(checkDialSettings({ ...defaults, tag: "x".repeat(101) })?.problem, "badTag");
  });
});
