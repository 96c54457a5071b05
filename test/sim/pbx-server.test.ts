/**
 * The simulator's server core (sim/pbx-server.ts): the same contract suite as the tests' fake PBX, plus what only
 * the simulator relies on (listeners, bind address, CallID continuity, bounded logs).
 */
import assert from "node:assert/strict";
import { PbxServer, type ApiAction, type PbxEvent } from "../../sim/pbx-server";
import { describePbxContract, envelope, subscribe } from "../pbx-contract";

describePbxContract("PbxServer (the simulator's server core)", (options) => new PbxServer({ apiKey: "test-key-123e4567-e89b", ...options }));

describe("PbxServer: simulator extras", function () {
  const running: PbxServer[] = [];

  async function startPbx(server = new PbxServer({ apiKey: "k" })): Promise<PbxServer> {
    await server.start();
    running.push(server);
    return server;
  }

  afterEach(async function () {
    await Promise.all(running.splice(0).map((p) => p.stop()));
  });

  it("makes up an unguessable API key when none is given", function () {
    const a = new PbxServer();
    const b = new PbxServer();
    assert.match(a.apiKey, /^[0-9a-f-]{36}$/);
    assert.notEqual(a.apiKey, b.apiKey);
  });

  it("tells change listeners about every leg change, and stops when unsubscribed", async function () {
    const pbx = await startPbx();
    const seen: PbxEvent[] = [];
    const off = pbx.onChange((ev) => seen.push(ev));
    const id = pbx.startCall("410", { callerId: "0355501234" });
    pbx.update("410", id, { status: "Hungup" });
    off();
    pbx.startCall("411");
    assert.deepEqual(
      seen.map((e) => [e.seq, e.exten, e.entry.CallData.status]),
      [
        [2, "410", "Ringing"],
        [3, "410", "Hungup"],
      ],
    );
    assert.ok(seen.every((e) => Math.abs(e.at - Date.now()) < 5000));
  });

  it("tells action listeners about successful answer, hangup and dial requests only, after applying them", async function () {
    const pbx = await startPbx();
    const actions: Array<ApiAction & { statusThen: string | undefined }> = [];
    pbx.onApiAction((a) => actions.push({ ...a, statusThen: pbx.leg(a.uniqueCallId)?.status }));
    const id = pbx.startCall("410");
    assert.ok((await envelope(pbx, "answer", { uniqueId: id, exten: "411" })).Code < 0);
    assert.equal((await envelope(pbx, "answer", { uniqueId: id, exten: "SIP/410", answerString: "x" })).Code, 0);
    assert.equal((await envelope(pbx, "dial", { number: "0299998888", extenOrUniqueId: "SIP/400" })).Code, 0);
    assert.equal((await envelope(pbx, "hangup", { extenOrUniqueId: "410" })).Code, 0);
    assert.ok((await envelope(pbx, "hangup", { extenOrUniqueId: "410" })).Code < 0);
    const dialled = pbx.legsOf("400")[0];
    assert.deepEqual(
      actions.map(({ sessionId: _s, ...a }: ApiAction & { statusThen: string | undefined; sessionId?: string }) => a),
      [
        { method: "answer", uniqueCallId: id, exten: "410", answerString: "x", statusThen: "Connected" },
        { method: "dial", uniqueCallId: dialled.uniqueCallId, exten: "400", number: "0299998888", statusThen: "Dialing Out" },
        { method: "hangup", uniqueCallId: id, exten: "410", target: "410", statusThen: undefined },
      ],
    );
  });

  it("keeps a leg's CallID when it is reported again just after it ended (Hungup after No Answer)", async function () {
    const pbx = await startPbx();
    const s0 = pbx.seq;
    const id = pbx.startCall("410");
    pbx.update("410", id, { status: "No Answer" });
    assert.equal(pbx.leg(id), undefined, "No Answer ends the leg");
    pbx.emit("410", { uniqueCallId: id, status: "Hungup", hangupCause: "NO_ANSWER" });
    const { json } = await subscribe(pbx, "410", s0, 0);
    const entries = json.Data?.["410"] ?? [];
    assert.deepEqual(
      entries.map((e) => e.CallData.status),
      ["Ringing", "No Answer", "Hungup"],
    );
    assert.equal(new Set(entries.map((e) => e.CallID)).size, 1);
    // On another extension the same id is another leg.
    pbx.emit("411", { uniqueCallId: id, status: "Hungup" });
    assert.notEqual(pbx.events.at(-1)?.entry.CallID, entries[0].CallID);
  });

  it("answerStyle: every lists each change; latest lists each changed leg's newest state, in the order of those states", async function () {
    for (const answerStyle of ["every", "latest", undefined] as const) {
      const pbx = await startPbx(new PbxServer({ apiKey: "k", answerStyle }));
      const s0 = pbx.seq;
      const a = pbx.startCall("410", { uniqueCallId: "a" });
      const b = pbx.startCall("410", { uniqueCallId: "b" });
      pbx.update("410", a, { status: "Connected" });
      pbx.startCall("411", { uniqueCallId: "c" });
      const s1 = pbx.seq;
      pbx.update("410", a, { status: "Hungup" });
      pbx.update("410", b, { status: "Connected" });
      const list = async (from: number): Promise<Array<[string, string]>> =>
        ((await subscribe(pbx, "410,411", from, 0)).json.Data?.["410"] ?? []).map((e) => [e.CallData.uniqueCallId, e.CallData.status]);
      if (answerStyle === "latest") {
        assert.deepEqual(await list(s0), [["a", "Hungup"], ["b", "Connected"]]);
        assert.deepEqual(await list(s1), [["a", "Hungup"], ["b", "Connected"]]);
        assert.deepEqual(await list(s1 + 1), [["b", "Connected"]], "the newest state after lastSequenceNumber only");
        const other = (await subscribe(pbx, "411", s0, 0)).json.Data?.["411"] ?? [];
        assert.deepEqual(other.map((e) => e.CallData.status), ["Ringing"]);
      } else {
        assert.deepEqual(await list(s0), [["a", "Ringing"], ["b", "Ringing"], ["a", "Connected"], ["a", "Hungup"], ["b", "Connected"]], String(answerStyle));
        assert.deepEqual(await list(s1 + 1), [["b", "Connected"]]);
      }
      // The current-state read is the same for both.
      const state = (await subscribe(pbx, "410", 0, 0)).json.Data?.["410"] ?? [];
      assert.deepEqual(state.map((e) => [e.CallData.uniqueCallId, e.CallData.status]), [["b", "Connected"]]);
    }
  });

  it("listens on the address given, and shows a wildcard address as loopback in its URL", async function () {
    const pbx = new PbxServer({ apiKey: "k" });
    await pbx.start(0, "0.0.0.0");
    running.push(pbx);
    assert.equal(pbx.url, `http://127.0.0.1:${pbx.port}`);
    assert.equal((await subscribe(pbx, "410", 0, 0)).json.Code, 0);
  });

  it("rejects start() while started, and frees the port after a failed start", async function () {
    const pbx = await startPbx();
    await assert.rejects(pbx.start(), /already started/);
    const other = new PbxServer({ apiKey: "k" });
    await assert.rejects(other.start(pbx.port), /EADDRINUSE/);
    await other.start(); // usable after the failure
    running.push(other);
  });

  it("keeps the answered log bounded by maxRequests", async function () {
    const pbx = await startPbx(new PbxServer({ apiKey: "k", maxRequests: 8 }));
    for (let i = 0; i < 30; i++) {
      const id = pbx.startCall("410");
      assert.equal((await envelope(pbx, "answer", { uniqueId: id, exten: "410" })).Code, 0);
      pbx.update("410", id, { status: "Hungup" });
    }
    assert.ok(pbx.answered.length <= 9, `${pbx.answered.length}`);
    assert.ok(pbx.requests.length <= 9, `${pbx.requests.length}`);
  });
});
