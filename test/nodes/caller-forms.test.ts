/**
 * Written forms of numbers and the Country setting, inside Node-RED's test helper over real HTTP to the fake PBX:
 * wrapped caller IDs (`"Bob" <...>`, `SIP/...`, `sip:...@host`, `tel:`, `;ext=`) read as the number inside, in
 * subscribe's msgs and in what dial sends; no E.164 form for an invalid number; a wrong Country warns, naming the
 * code meant, and the nodes carry on without one (issue 24, items 10 and 11).
 */
import assert from "node:assert/strict";
import type { Node } from "node-red";
import { API_BASE, FakePbx } from "../fake-pbx";
import {
  configFlowNode, credentials, heldLongPoll, helper, isRed, Logged, nodes, Sent, startFakePbx, Statuses, subscribeFlowNodes,
  unloadAndStop,
} from "./support";

type Payload = Record<string, unknown>;
const WRAPPED = ['"Ann" <0355501234>', "SIP/0355501234", "sip:0355501234@pbx.example.com", "tel:+61355501234", "0355501234;ext=12"];

describe("who is calling: written forms and the Country setting", function () {
  let pbx: FakePbx;

  beforeEach(async () => {
    pbx = await startFakePbx();
    helper.settings({ noojeePhonebookPollMs: 20 } as Parameters<typeof helper.settings>[0]);
  });
  afterEach(async () => {
    await unloadAndStop(pbx);
    helper.settings({});
  });

  async function loadSubscribe(config: Record<string, unknown>) {
    await helper.load(nodes, [configFlowNode(pbx.url, config), ...subscribeFlowNodes("sub", "410")], credentials());
    return { cfg: helper.getNode("cfg"), received: new Sent(helper.getNode("sub")) };
  }

  /** A call on 410 from `callerId`, and its first msg's payload. */
  async function ring(received: Sent, callerId: string): Promise<Payload> {
    const before = received.all.length;
    pbx.startCall("410", { callerId });
    return (await received.waitFor(() => received.all.length > before, 5000, before)).payload as Payload;
  }

  it("subscribe: a wrapped caller ID gets its E.164 form, kind and phonebook name; an invalid one no E.164 form", async () => {
    const { cfg, received } = await loadSubscribe({ country: "AU", phonebookContext: "phonebook", phonebookContextType: "global" });
    cfg.context().global.set("phonebook", { "03 5550 1234": "Ann Smith" });
    const logs = new Logged(cfg, "log");
    await logs.waitFor((l) => String(l).includes("phonebook.loaded"));
    await heldLongPoll(pbx);
    for (const form of WRAPPED) {
      const p = await ring(received, form);
      assert.deepEqual(
        { e164: p.callerIdE164, kind: p.callerIdKind, name: p.callerName, callerId: p.callerId },
        { e164: "+61355501234", kind: "fixed_line", name: "Ann Smith", callerId: form },
        form,
      );
    }
    const invalid = await ring(received, "0061355501234");
    assert.deepEqual([invalid.callerIdKind, "callerIdE164" in invalid], ["invalid", false]);
  });

  it("dial: a wrapped number dials the number inside", async () => {
    await helper.load(nodes, [
      { id: "f1", type: "tab" },
      configFlowNode(pbx.url, { country: "AU" }),
      { id: "n", z: "f1", type: "noojee-dial", server: "cfg", extension: "100", tech: "SIP", number: "", autoAnswer: "", wires: [["out"]] },
      { id: "out", z: "f1", type: "helper" },
    ], credentials());
    const node: Node = helper.getNode("n");
    const sent = new Sent(node);
    for (const number of WRAPPED) node.receive({ number });
    await sent.count(WRAPPED.length);
    const dialled = pbx.requests.filter((r) => r.path === `${API_BASE}dial`).map((r) => r.query.number);
    assert.deepEqual(dialled, WRAPPED.map(() => "0355501234"));
  });

  it("Country UK: one warning naming GB; subscribe and presence carry on without a country, the phonebook too", async () => {
    pbx.startCall("410", { callerId: "0355501234" });
    await helper.load(nodes, [
      configFlowNode(pbx.url, { country: "UK", phonebookContext: "phonebook", phonebookContextType: "global" }),
      ...subscribeFlowNodes("sub", "410"),
      { id: "p", type: "noojee-presence", server: "cfg", extensions: "410", wires: [["pout"]] },
      { id: "pout", type: "helper" },
    ], credentials());
    const cfg = helper.getNode("cfg");
    const warnings = new Logged(cfg, "warn");
    const countryWarnings = () => warnings.all.filter((w) => String(w).includes("noojee-config.country"));
    assert.equal(countryWarnings().length, 1);
    assert.match(String(countryWarnings()[0]), /country\.meant.*"value":"UK".*"code":"GB"/);
    assert.deepEqual(new Logged(cfg, "error").all, [], "no error: an optional setting");

    const sub = new Sent(helper.getNode("sub"));
    const first = (await sub.waitFor(() => true)).payload as Payload;
    assert.equal(first.callerId, "0355501234");
    assert.equal("callerIdKind" in first, false, "no country: no kind");
    await new Sent(helper.getNode("p")).waitFor(() => true);
    for (const id of ["sub", "p"]) assert.ok(!new Statuses(helper.getNode(id)).all.some(isRed), `${id} not red`);

    cfg.context().global.set("phonebook", { "0355501234": "Ann" });
    await new Logged(cfg, "log").waitFor((l) => String(l).includes("phonebook.loaded"));
    await heldLongPoll(pbx);
    assert.equal((await ring(sub, "0355501234")).callerName, "Ann", "names found by their digits, as without a country");
    assert.equal(countryWarnings().length, 1, "said once");
  });

  it("Country lower case (gb) is GB; an unknown code (XX) warns without a suggestion", async () => {
    let loaded = await loadSubscribe({ country: " gb " });
    await heldLongPoll(pbx);
    assert.equal((await ring(loaded.received, "020 7946 0018")).callerIdE164, "+442079460018");
    assert.deepEqual(new Logged(loaded.cfg, "warn").all, []);
    await helper.unload();
    loaded = await loadSubscribe({ country: "XX" });
    await heldLongPoll(pbx);
    assert.match(String(new Logged(loaded.cfg, "warn").all[0]), /country\.unknown.*"value":"XX"/);
    assert.equal("callerIdKind" in (await ring(loaded.received, "0355501234")), false);
  });
});
