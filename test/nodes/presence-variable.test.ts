/**
 * noojee-presence's context variable, over real HTTP to the fake PBX: nodes sharing one variable merge per extension;
 * unknown is a state of its own, never idle, and never written over a stored state; a deleted node's extensions go, and
 * so do those a previous process left (a persistent store) that no node watches now.
 */
import assert from "node:assert/strict";
import type { FakePbx } from "../fake-pbx";
import { configFlowNode, credentials, deploy, type FlowNode, heldLongPoll, helper, nodes, Sent, startFakePbx, unloadAndStop, until } from "./support";

type Payload = Record<string, unknown> & { state: string; unknown?: boolean };
type Variable = Record<string, Payload> | undefined;

describe("noojee-presence: its context variable", function () {
  let pbx: FakePbx;
  let n = 0;
  beforeEach(async () => {
    pbx = await startFakePbx();
    key = n++ === 0 ? "noojee.presence" : `presence${n}`;
  });
  afterEach(() => unloadAndStop(pbx));

  const presenceNode = (id: string, extensions: string, extra: Record<string, unknown> = {}): FlowNode => ({
    id, z: "f1", type: "noojee-presence", server: "cfg", extensions, wires: [["out"]], contextScope: "global", contextKey: key, ...extra,
  });
  const flowOf = (...presence: FlowNode[]): FlowNode[] => [
    { id: "f1", type: "tab", label: "v" }, { ...configFlowNode(pbx.url), z: "f1" }, { id: "out", z: "f1", type: "helper" }, ...presence,
  ];
  // Each test its own variable but the first (the default): claims other test files' nodes left (closed as for a
  // redeploy, they wait RESTART_WAIT_MS for their next instance) must not keep an extension in it.
  let key = "noojee.presence";
  const variable = (): Variable => helper.getNode("cfg").context().global.get(key) as Variable;
  const stateOf = (extension: string) => variable()?.[extension]?.state;

  it("two nodes with the default variable keep both nodes' extensions (merged per extension)", async () => {
    await helper.load(nodes, flowOf(presenceNode("a", "400, 401"), presenceNode("b", "420, 421")), credentials());
    await until(() => ["400", "401", "420", "421"].every((e) => stateOf(e) === "idle"), "all four idle");
    pbx.startCall("400");
    await until(() => stateOf("400") === "ringing", "400 ringing");
    pbx.startCall("420");
    await until(() => stateOf("420") === "ringing", "420 ringing");
    assert.deepEqual(Object.keys(variable()!).sort(), ["400", "401", "420", "421"]);
    assert.equal(stateOf("400"), "ringing", "b's write left a's extension alone");
  });

  it("a node saved without contextKey (by hand, or an older flow) keeps the states in the default variable, as its dialog shows", async () => {
    key = "noojee.presence";
    const node = presenceNode("a", "431");
    delete node.contextKey;
    await helper.load(nodes, flowOf(node), credentials());
    await until(() => stateOf("431") === "idle", "431 idle in noojee.presence");
  });

  it("an extension not read yet is 'unknown' (never idle), in queries and in the variable", async () => {
    pbx.fault("http500"); // the first read fails: nothing is known
    await helper.load(nodes, flowOf(presenceNode("a", "410")), credentials());
    const node = helper.getNode("a");
    const sent = new Sent(node);
    await until(() => stateOf("410") !== undefined, "the variable written");
    assert.equal(stateOf("410"), "unknown");
    assert.equal(variable()!["410"].unknown, true);
    node.receive({});
    const [answer] = await sent.count(1);
    assert.equal((answer.payload as Payload).state, "unknown");
  });

  it("a state stored before the first answer is not overwritten with unknown; the answer replaces it", async () => {
    pbx.startCall("410", { status: "Connected", canAnswer: false, callStartTime: "2026/12/05 09:00:00" });
    pbx.fault("http500");
    const stored = { extension: "410", state: "on a call", previous: "idle", since: new Date(0).toISOString(), count: 1, calls: [] };
    helper.settings({});
    await helper.load(nodes, flowOf(), credentials());
    helper.getNode("cfg").context().global.set(key, { "410": stored });
    await deploy(flowOf(presenceNode("a", "410")), "full", credentials());
    const sent = new Sent(helper.getNode("a"));
    await until(() => pbx.subscribeRequests().length >= 1, "the first (failing) read");
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(stateOf("410"), "on a call", "not replaced by unknown before the first answer");
    await sent.count(1, 8000); // the read after the backoff answers
    assert.equal(stateOf("410"), "on a call");
    assert.equal(variable()!["410"].unknown, undefined);
    assert.equal(variable()!["410"].count, 1);
  });

  it("a deleted node's extensions leave the variable; those another node still watches stay", async () => {
    await helper.load(nodes, flowOf(presenceNode("a", "400, 410"), presenceNode("b", "410")), credentials());
    await until(() => stateOf("400") === "idle" && stateOf("410") === "idle", "both idle");
    pbx.startCall("400", { status: "Connected", canAnswer: false, callStartTime: "2026/12/05 09:00:00" });
    await until(() => stateOf("400") === "on a call", "400 on a call");
    await deploy(flowOf(presenceNode("b", "410")), "full", credentials());
    await heldLongPoll(pbx);
    await until(() => stateOf("400") === undefined, "400 removed with its node");
    assert.equal(stateOf("410"), "idle", "410 is still watched by b");
  });

  it("a node redeployed with fewer extensions takes the ones it dropped out of the variable", async () => {
    await helper.load(nodes, flowOf(presenceNode("a", "400, 410")), credentials());
    await until(() => stateOf("400") === "idle" && stateOf("410") === "idle", "both idle");
    pbx.startCall("400", { status: "Connected", canAnswer: false, callStartTime: "2026/12/05 09:00:00" });
    await until(() => stateOf("400") === "on a call", "400 on a call");
    // Edited, not deleted: Node-RED closes it with removed false and starts it again (found by the model-based test).
    await deploy(flowOf(presenceNode("a", "410")), "full", credentials());
    await heldLongPoll(pbx);
    await until(() => stateOf("400") === undefined, "400 removed: no node watches it any more");
    assert.equal(stateOf("410"), "idle");
  });

  it("an event writes only the extension it changed", async () => {
    await helper.load(nodes, flowOf(presenceNode("a", "400, 401, 402")), credentials());
    await until(() => ["400", "401", "402"].every((e) => stateOf(e) === "idle"), "all idle");
    const before = variable()!;
    const untouched = { "400": before["400"], "402": before["402"] };
    pbx.startCall("401");
    await until(() => stateOf("401") === "ringing", "401 ringing");
    // The others' payloads are the very objects written before: neither rebuilt nor written again.
    assert.equal(variable()!["400"], untouched["400"]);
    assert.equal(variable()!["402"], untouched["402"]);
  });

  it("an extension removed by msg leaves the variable", async () => {
    await helper.load(nodes, flowOf(presenceNode("a", "400, 410")), credentials());
    await until(() => stateOf("400") === "idle" && stateOf("410") === "idle", "both idle");
    const node = helper.getNode("a");
    node.receive({ action: "remove", extensions: "400" } as never);
    await until(() => stateOf("400") === undefined, "400 removed");
    assert.equal(stateOf("410"), "idle");
  });

  it("after a restart, what the store kept for extensions no node watches now leaves; what a node sharing it watches stays", async () => {
    // As a persistent store holds it after a restart: 420 was added by msg (not kept), 430 was b's before it was edited.
    const onACall = (extension: string) => ({ extension, state: "on a call", previous: "idle", since: new Date(0).toISOString(), count: 1, calls: [] });
    helper.settings({});
    await helper.load(nodes, flowOf(), credentials());
    helper.getNode("cfg").context().global.set(key, { "410": onACall("410"), "420": onACall("420"), "430": onACall("430"), "440": onACall("440") });
    await deploy(flowOf(presenceNode("a", "410"), presenceNode("b", "440")), "full", credentials());
    await until(() => stateOf("420") === undefined && stateOf("430") === undefined, "420 and 430 removed: nothing watches them");
    await until(() => stateOf("410") === "idle" && stateOf("440") === "idle", "410 and 440 read");
    assert.deepEqual(Object.keys(variable()!).sort(), ["410", "440"]);
  });
});

