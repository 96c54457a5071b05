/**
 * Flows saved by 0.1.0 keep working: test/fixtures/flows-0.1.0.json (all six node types with non-default settings,
 * exactly as 0.1.0 saved it; see test/fixtures/README.md) is the flow file of a real Node-RED process running the
 * packed current version, as after an upgrade. Only the config node's host is changed, to the fake PBX's.
 *
 * Proves: every node starts without an error, GET /flows gives back the saved flow unchanged and a redeploy of it is
 * accepted, and each node does with the PBX what its saved settings say (the values 0.1.0 sent for them).
 * The editor side (no field flagged invalid, subscribe's status) is test/browser/flows-0.1.0-editor.test.ts.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { API_BASE, type ApiAction, FakePbx, TIME_PATH } from "../fake-pbx";
import { type NodeRedProcess, startNodeRed, stopAllNodeRed } from "../harness/node-red-process";
import { nodeBinary, nodeRedEntry } from "../harness/node-red-under-test";
import { fixtureFor, OLD } from "./flows-0.1.0-fixture";

/** What the fixture's action nodes send besides the sign-in pair (timeStamp, hash). */
const AUTH_PARAMS = ["timeStamp", "hash"];

function withoutAuth(query: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(query).filter(([k]) => !AUTH_PARAMS.includes(k)));
}

/** Lines of Node-RED's output that report an error or a warning from one of our nodes or a Catch. */
function problems(log: string): string[] {
  return log.split("\n").filter((l) => /\[error\]|\[warn\] \[noojee-|\[debug:errors\]/.test(l));
}

describe("flows saved by 0.1.0 in the current version (real Node-RED process)", function () {
  this.timeout(120_000);

  const apiKey = `fixture-${randomUUID()}`;
  let pbx: FakePbx;
  let nr: NodeRedProcess;
  let loaded: ReturnType<typeof fixtureFor>;

  const nrLog = (): string => `--- Node-RED output ---\n${nr?.log() ?? "(not started)"}`;

  /** The next answer/hangup/dial the fake PBX applies. */
  function nextAction<M extends ApiAction["method"]>(method: M, timeoutMs = 15_000): Promise<Extract<ApiAction, { method: M }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`no ${method} reached the PBX within ${timeoutMs} ms\n${nrLog()}`));
      }, timeoutMs);
      const off = pbx.onApiAction((action) => {
        if (action.method !== method) return;
        clearTimeout(timer);
        off();
        resolve(action as Extract<ApiAction, { method: M }>);
      });
    });
  }

  async function inject(id: string): Promise<void> {
    const res = await nr.request("POST", `/inject/${id}`);
    assert.equal(res.status, 200, `POST /inject/${id}: ${res.text}`);
  }

  before(async () => {
    pbx = new FakePbx({ apiKey });
    await pbx.start();
    loaded = fixtureFor(pbx.url);
    nr = await startNodeRed({
      nodeRedEntry: nodeRedEntry(),
      nodeBinary: nodeBinary(),
      savedFlows: { flows: loaded, credentials: { [OLD.config]: { apiKey } } },
    });
  });

  after(async () => {
    try {
      await stopAllNodeRed();
    } finally {
      await pbx?.stop();
    }
  });

  it("starts every node: subscribe holds its long poll with the saved settings, the log holds no error", async () => {
    const held = await pbx.waitForRequest(
      (r) => r.path === `${API_BASE}subscribe` && r.query.lastSequenceNumber !== undefined && r.query.lastSequenceNumber !== "0",
      30_000,
    );
    assert.equal(pbx.openPolls(), 1, "one long poll");
    assert.equal(held.query.exten, "410,411", "both saved extensions");
    assert.equal(held.query.timeOut, "20", "the saved poll timeout");
    assert.equal(held.query.apiKey, undefined, "the saved sign-in mode (timestamp) sends no key");
    assert.match(held.query.hash ?? "", /^[0-9a-f]{64}$/, "signed with a hash");
    assert.match(nr.log(), /Started flows/);
    assert.deepEqual(problems(nr.log()), [], nrLog());
  });

  it("gives back the saved flow unchanged on GET /flows, and accepts it redeployed", async () => {
    const { flows } = await nr.getFlows();
    assert.deepEqual(flows, loaded, "GET /flows is the saved flow");
    await nr.deploy(flows);
    assert.deepEqual((await nr.getFlows()).flows, loaded, "still the saved flow after a redeploy");
    const onDisk = JSON.parse(fs.readFileSync(path.join(nr.userDir, "flows.json"), "utf8")) as unknown;
    assert.deepEqual(onDisk, loaded, "flows.json after the redeploy");
    // The redeploy kept the stored credential: the new poll is signed and accepted.
    await pbx.waitForPolls(1, 30_000);
    assert.deepEqual(problems(nr.log()), [], nrLog());
  });

  it("answers a ringing call on 410 with the saved auto-answer header", async () => {
    await pbx.waitForPolls(1, 30_000);
    const answered = nextAction("answer");
    const id = pbx.startCall("410", { callerId: "0412345678" });
    const action = await answered;
    assert.deepEqual(action, { method: "answer", uniqueCallId: id, exten: "410", answerString: "Call-Info: <sip:pbx>;answer-after=2" });
    const sent = pbx.requests.filter((r) => r.path === `${API_BASE}answer`);
    assert.equal(sent.length, 1);
    assert.deepEqual(withoutAuth(sent[0].query), { uniqueId: id, exten: "410", answerString: "Call-Info: <sip:pbx>;answer-after=2" });
  });

  it("dials with every saved dial setting", async () => {
    const dialed = nextAction("dial");
    await inject(OLD.injectDial);
    const action = await dialed;
    assert.equal(action.exten, "410");
    assert.deepEqual(withoutAuth(pbx.dialed.at(-1)?.query ?? {}), {
      number: "0299990000",
      extenOrUniqueId: "PJSIP/410",
      autoAnswer: "Alert-Info: Ring Answer",
      callerId: "Reception",
      phoneCaption: "Customer callback",
      record: "true",
      tag: "crm-callback",
    });
  });

  it("hangs up extension 411 and records 410 with the saved tag and agent", async () => {
    // Not answerable, so the flow's answer node (fixed to 410) leaves it alone.
    const call = pbx.startCall("411", { canAnswer: false });
    const hungUp = nextAction("hangup");
    await inject(OLD.injectHangup);
    assert.deepEqual(await hungUp, { method: "hangup", uniqueCallId: call, exten: "411", target: "411" });

    const recorded = pbx.waitForRequest((r) => r.path === `${API_BASE}start`, 15_000);
    await inject(OLD.injectRecord);
    await recorded;
    const recording = pbx.recordings.at(-1);
    assert.ok(recording, "the PBX accepted a recording");
    assert.deepEqual(
      { action: recording.action, target: recording.extenOrUniqueId, tag: recording.tag, agent: recording.agentLoginName },
      { action: "start", target: "410", tag: "qa-review", agent: "agent7" },
    );
  });

  it("signed every request the saved way and logged no error", () => {
    // The clock reads (GET /Time, which timestamp sign-in needs) carry no credentials.
    const api = pbx.requests.filter((r) => r.path !== TIME_PATH);
    assert.ok(api.some((r) => r.path === `${API_BASE}subscribe`), "subscribe requests were made");
    for (const r of api) {
      assert.equal(r.query.apiKey, undefined, `${r.path} sends no key`);
      assert.ok(r.query.timeStamp && r.query.hash, `${r.path} is signed`);
    }
    assert.deepEqual(problems(nr.log()), [], nrLog());
  });
});
