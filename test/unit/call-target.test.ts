import assert from "node:assert/strict";
import { checkTargetSettings, isTargetBy, resolveTarget } from "../../nodes/lib/input/call-target";

describe("resolveTarget", () => {
  it("by call: msg.uniqueCallId, else msg.payload.uniqueCallId, else a string msg.payload", () => {
    assert.deepEqual(resolveTarget({ uniqueCallId: "1.1", payload: { uniqueCallId: "2.2" } }, "call", ""), { ok: true, target: "1.1" });
    assert.deepEqual(resolveTarget({ payload: { uniqueCallId: "2.2", extension: "410" }, topic: "410" }, "call", "410"), {
      ok: true,
      target: "2.2",
    });
    assert.deepEqual(resolveTarget({ payload: " 342082345-238.234 " }, "call", ""), { ok: true, target: "342082345-238.234" });
  });
  it("by call: never falls back to an extension, and refuses an id that the PBX would read as one", () => {
    assert.deepEqual(resolveTarget({ extension: "410", topic: "410" }, "call", "410"), { ok: false, problem: "noCallId" });
    assert.deepEqual(resolveTarget({ payload: "410" }, "call", ""), { ok: false, problem: "extensionAsCallId", value: "410" });
    assert.deepEqual(resolveTarget({ uniqueCallId: 1412750652.496 }, "call", ""), { ok: false, problem: "badCallId", value: "1412750652.496" });
    assert.deepEqual(resolveTarget({ payload: "1.1&apiKey=x" }, "call", ""), { ok: false, problem: "badCallId", value: "1.1&apiKey=x" });
  });
  it("by extension: the node's Extension, else msg.extension, msg.payload.extension, msg.topic", () => {
    const msg = { extension: "401", payload: { extension: "402", uniqueCallId: "9.9" }, topic: "403" };
    assert.deepEqual(resolveTarget(msg, "extension", "SIP/400"), { ok: true, target: "SIP/400" });
    assert.deepEqual(resolveTarget(msg, "extension", ""), { ok: true, target: "401" });
    assert.deepEqual(resolveTarget({ ...msg, extension: undefined }, "extension", ""), { ok: true, target: "402" });
    assert.deepEqual(resolveTarget({ topic: 403 }, "extension", " "), { ok: true, target: "403" });
    assert.deepEqual(resolveTarget({ payload: "1.1" }, "extension", ""), { ok: false, problem: "noExtension" });
    assert.deepEqual(resolveTarget({ topic: "4 1" }, "extension", ""), { ok: false, problem: "badExtension", value: "4 1" });
  });
});

describe("checkTargetSettings", () => {
  it("accepts call/extension and an empty or dialable extension", () => {
    assert.equal(isTargetBy("call"), true);
    assert.equal(isTargetBy("uniqueCallId"), false);
    assert.equal(checkTargetSettings("call", ""), undefined);
    assert.equal(checkTargetSettings("extension", "SIP/410"), undefined);
    assert.deepEqual(checkTargetSettings("everything", ""), { ok: false, problem: "badBy", value: "everything" });
    assert.deepEqual(checkTargetSettings("extension", "41O"), { ok: false, problem: "badExtension", value: "41O" });
  });
});
