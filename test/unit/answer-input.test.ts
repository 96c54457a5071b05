import assert from "node:assert/strict";
import { isValidAnswerString, resolveAnswerInput } from "../../nodes/lib/input/answer-input";
import { show } from "../../nodes/lib/input/msg-input";

describe("resolveAnswerInput", () => {
  it("takes msg.uniqueCallId before msg.payload.uniqueCallId before a string payload", () => {
    const msg = { uniqueCallId: "1.1", payload: { uniqueCallId: "2.2", extension: "410" } };
    assert.deepEqual(resolveAnswerInput(msg, ""), { ok: true, uniqueCallId: "1.1", extension: "410" });
    assert.deepEqual(resolveAnswerInput({ payload: { uniqueCallId: "2.2" }, topic: "410" }, ""), {
      ok: true, uniqueCallId: "2.2", extension: "410",
    });
    assert.deepEqual(resolveAnswerInput({ payload: "342082345-238.234", extension: "SIP/101" }, ""), {
      ok: true, uniqueCallId: "342082345-238.234", extension: "SIP/101",
    });
  });
  it("takes the node's extension before msg.extension, msg.payload.extension and msg.topic", () => {
    const msg = { payload: { uniqueCallId: "1.1", extension: "402" }, extension: "401", topic: "403" };
    assert.equal((resolveAnswerInput(msg, "400") as { extension: string }).extension, "400");
    assert.equal((resolveAnswerInput(msg, "") as { extension: string }).extension, "401");
    assert.equal((resolveAnswerInput({ ...msg, extension: undefined }, "") as { extension: string }).extension, "402");
    assert.equal((resolveAnswerInput({ payload: "1.1", topic: "403" }, " ") as { extension: string }).extension, "403");
    assert.equal((resolveAnswerInput({ payload: "1.1", extension: 404 }, "") as { extension: string }).extension, "404");
  });
  it("reports a missing id", () => {
    assert.deepEqual(resolveAnswerInput({ payload: { status: "Ringing" }, topic: "410" }, ""), { ok: false, problem: "noCallId" });
    assert.deepEqual(resolveAnswerInput({ payload: "" }, "410"), { ok: false, problem: "noCallId" });
  });
  it("rejects ids that are not opaque strings", () => {
    for (const id of [1412750652.496, "1412 750", "a&apiKey=x", "x".repeat(65), { a: 1 }, "../x"]) {
      const result = resolveAnswerInput({ uniqueCallId: id, topic: "410" }, "");
      assert.equal(result.ok, false, JSON.stringify(id));
      assert.equal((result as { problem: string }).problem, "badCallId");
    }
  });
  it("reports a missing or malformed extension", () => {
    assert.deepEqual(resolveAnswerInput({ payload: "1.1" }, ""), { ok: false, problem: "noExtension" });
    const bad = resolveAnswerInput({ payload: "1.1", topic: "call\nme" }, "");
    assert.deepEqual(bad, { ok: false, problem: "badExtension", value: "call?me" });
    assert.equal((resolveAnswerInput({ payload: "1.1", topic: "410&x=1" }, "") as { problem: string }).problem, "badExtension");
  });
});

describe("show (rejected values in error messages)", () => {
  it("never throws, whatever a function node put in the msg", () => {
    const noProto = Object.assign(Object.create(null) as object, { "": 0n });
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    assert.equal(show(noProto), '{"":"0n"}');
    assert.equal(show(12n), '"12n"');
    assert.equal(show(circular), "[object Object]");
    assert.equal(show({ toString: null, big: 1n }), '{"toString":null,"big":"1n"}');
    const refuses = Object.assign(Object.create(null) as object, { a: 1n, self: undefined as unknown });
    (refuses as { self: unknown }).self = refuses;
    assert.equal(show(refuses), "[object Object]");
    assert.equal(resolveAnswerInput({ uniqueCallId: noProto }, "").ok, false);
  });
});

describe("isValidAnswerString", () => {
  it("accepts the vendor headers and rejects multi-line or overlong ones", () => {
    assert.equal(isValidAnswerString("Call-Info:\\; answer-after=0"), true);
    assert.equal(isValidAnswerString("Alert-Info: Ring Answer"), true);
    assert.equal(isValidAnswerString("a\r\nX-Evil: 1"), false);
    assert.equal(isValidAnswerString("x".repeat(201)), false);
  });
});
