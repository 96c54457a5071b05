import assert from "node:assert/strict";
import { checkRecordSettings, RecordSettings, resolveRecordInput } from "../../nodes/lib/input/record-input";

const node: RecordSettings = { action: "start", by: "call", extension: "", tag: "", agentLoginName: "" };

describe("resolveRecordInput", () => {
  it("starts or stops as set in the node, whatever msg.action says", () => {
    assert.deepEqual(resolveRecordInput({ payload: "1.1", action: "stop" }, node), {
      ok: true,
      action: "start",
      params: { extenOrUniqueId: "1.1", agentLoginName: undefined, tag: undefined },
    });
    assert.equal((resolveRecordInput({ payload: "1.1", action: "start" }, { ...node, action: "stop" }) as { action: string }).action, "stop");
  });
  it("takes msg.action with the msg setting: start or stop, any case", () => {
    const msgNode = { ...node, action: "msg" as const };
    assert.equal((resolveRecordInput({ payload: "1.1", action: " STOP " }, msgNode) as { action: string }).action, "stop");
    assert.equal((resolveRecordInput({ payload: "1.1", action: "start" }, msgNode) as { action: string }).action, "start");
    assert.deepEqual(resolveRecordInput({ payload: "1.1" }, msgNode), { ok: false, problem: "noAction" });
    assert.deepEqual(resolveRecordInput({ payload: "1.1", action: "pause" }, msgNode), { ok: false, problem: "badAction", value: "pause" });
    assert.deepEqual(resolveRecordInput({ payload: "1.1", action: true }, msgNode), { ok: false, problem: "badAction", value: "true" });
  });
  it("targets a call or an extension like hangup", () => {
    const byExt = { ...node, by: "extension" as const };
    assert.equal((resolveRecordInput({ topic: "410" }, byExt) as { params: { extenOrUniqueId: string } }).params.extenOrUniqueId, "410");
    assert.deepEqual(resolveRecordInput({ topic: "410" }, node), { ok: false, problem: "noCallId" });
    assert.deepEqual(resolveRecordInput({ payload: "410" }, node), { ok: false, problem: "extensionAsCallId", value: "410" });
  });
  it("sends the tag on start only; msg.tag and msg.agentLoginName override the node's", () => {
    const set = { ...node, tag: "node tag", agentLoginName: "node.agent" };
    assert.deepEqual(resolveRecordInput({ payload: "1.1" }, set), {
      ok: true,
      action: "start",
      params: { extenOrUniqueId: "1.1", agentLoginName: "node.agent", tag: "node tag" },
    });
    assert.deepEqual(resolveRecordInput({ payload: "1.1", tag: "a&b c", agentLoginName: "jo" }, set), {
      ok: true,
      action: "start",
      params: { extenOrUniqueId: "1.1", agentLoginName: "jo", tag: "a&b c" },
    });
    assert.deepEqual(resolveRecordInput({ payload: "1.1", tag: { bad: 1 } }, { ...set, action: "stop" }), {
      ok: true,
      action: "stop",
      params: { extenOrUniqueId: "1.1", agentLoginName: "node.agent", tag: undefined },
    });
  });
  it("refuses bad overrides", () => {
    assert.deepEqual(resolveRecordInput({ payload: "1.1", tag: "a\nb" }, node), { ok: false, problem: "badTag", value: "a?b" });
    assert.equal((resolveRecordInput({ payload: "1.1", agentLoginName: "x".repeat(65) }, node) as { problem: string }).problem, "badAgentLoginName");
  });
});

describe("checkRecordSettings", () => {
  it("names the first bad setting", () => {
    assert.equal(checkRecordSettings(node), undefined);
    assert.equal(checkRecordSettings({ ...node, action: "msg", by: "extension", extension: "SIP/410" }), undefined);
    assert.equal(checkRecordSettings({ ...node, action: "pause" })?.problem, "badActionSetting");
    assert.equal(checkRecordSettings({ ...node, by: "channel" })?.problem, "badBy");
    assert.equal(checkRecordSettings({ ...node, extension: "x" })?.problem, "badExtension");
    assert.equal(checkRecordSettings({ ...node, tag: "x".repeat(101) })?.problem, "badTag");
    assert.equal(checkRecordSettings({ ...node, agentLoginName: "a\u0000" })?.problem, "badAgentLoginName");
  });
});
