/**
 * One extension syntax in every node, inside Node-RED over HTTP to the fake PBX: subscribe and presence take ranges
 * and technology prefixes (watching by number), in their settings and in msg.extensions, and name what is wrong with
 * a list in their catalogue's words; the call nodes keep taking `SIP/400` for their one extension.
 */
import assert from "node:assert/strict";
import type sinon from "sinon";
import type { Node } from "node-red";
import type { FakePbx } from "../fake-pbx";
import { configFlowNode, credentials, type FlowNode, heldLongPoll, helper, isRed, nodes, startFakePbx, Statuses, subscribeFlowNodes, unloadAndStop, until } from "./support";

/** The extensions of the subscribe requests the PBX has had, newest last. */
const polled = (pbx: FakePbx): string[] =>
  pbx.requests.filter((r) => r.path.endsWith("/subscribe")).map((r) => String(r.query.exten));

const errorsOf = (node: Node): string[] =>
  (node.error as unknown as sinon.SinonSpy).getCalls().filter((c) => c.thisValue === node).map((c) => String(c.args[0]));

describe("extension syntax in the nodes", function () {
  let pbx: FakePbx;

  beforeEach(async () => (pbx = await startFakePbx()));
  afterEach(() => unloadAndStop(pbx));

  const presenceFlow = (extensions: string): FlowNode[] => [
    configFlowNode(pbx.url),
    { id: "p", type: "noojee-presence", server: "cfg", extensions, wires: [["out"]] },
    { id: "out", type: "helper" },
  ];

  it("subscribe watches SIP/400 as 400 and a range as each extension in it; msg.extensions takes ranges too", async () => {
    await helper.load(nodes, [configFlowNode(pbx.url), ...subscribeFlowNodes("sub", "SIP/400, 410-412")], credentials());
    await heldLongPoll(pbx);
    assert.equal(polled(pbx)[0], "400,410,411,412");
    const sub = helper.getNode("sub");
    sub.receive({ action: "add", extensions: ["PJSIP/420", "430-431"] } as never);
    await until(() => polled(pbx).some((e) => e.split(",").includes("431")), "a poll of the added range");
    const watched = new Set(polled(pbx).slice(1).flatMap((e) => e.split(",")));
    for (const e of ["420", "430", "431"]) assert.ok(watched.has(e), `${e} polled`);
    assert.deepEqual(errorsOf(sub), []);
  });

  it("presence watches SIP/400 and a range", async () => {
    pbx.startCall("401", { callerId: "0299990000" });
    await helper.load(nodes, presenceFlow("SIP/400, 401-402"), credentials());
    await heldLongPoll(pbx);
    assert.equal(polled(pbx)[0], "400,401,402");
    assert.deepEqual(errorsOf(helper.getNode("p")), []);
  });

  for (const [list, key] of [["410-400", "backwardsRange"], ["1-5000", "rangeTooLarge"], ["400, SIP/", "badItem"]] as const) {
    it(`subscribe refuses "${list}" with a red status and the catalogue's reason (${key})`, async () => {
      await helper.load(nodes, [configFlowNode(pbx.url), ...subscribeFlowNodes("sub", list)], credentials());
      const sub = helper.getNode("sub");
      assert.ok(isRed(new Statuses(sub).all[0]));
      const [error] = errorsOf(sub);
      assert.match(error, /noojee-subscribe\.error\.invalidExtensions/);
      assert.match(error, new RegExp(`noojee-subscribe\\.validation\\.${key}`));
      assert.equal(polled(pbx).length, 0);
    });
  }

  it("presence refuses a bad range sent by msg, naming it, and keeps its list", async () => {
    await helper.load(nodes, presenceFlow("400"), credentials());
    await heldLongPoll(pbx);
    const p = helper.getNode("p");
    const done = new Promise<unknown>((resolve) => (p as unknown as NodeJS.EventEmitter).once("call:error", resolve));
    p.receive({ action: "add", extensions: "420-410" } as never);
    await done;
    const errors = errorsOf(p);
    assert.equal(errors.length, 1);
    assert.match(errors[0], /noojee-presence\.validation\.backwardsRange/);
    assert.match(errors[0], /420-410/);
  });
});
