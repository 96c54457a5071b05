/** Contract tests for the fake PBX: the behaviour tests of the nodes are only as good as this fake. */
import assert from "node:assert/strict";
import { FakePbx, FakePbxOptions, FAULT_KINDS, FaultKind } from "./fake-pbx";
import { call, describePbxContract, envelope, post, sleep, subscribe, type Reply } from "./pbx-contract";
import type { Envelope } from "../nodes/lib/client/types";

describePbxContract("FakePbx", (options) => new FakePbx(options));

describe("FakePbx: injected faults", function () {
  const running: FakePbx[] = [];

  async function startPbx(options: FakePbxOptions = {}): Promise<FakePbx> {
    const pbx = new FakePbx(options);
    await pbx.start();
    running.push(pbx);
    return pbx;
  }

  afterEach(async function () {
    await Promise.all(running.splice(0).map((p) => p.stop()));
  });

  describe("faults", function () {
    const expectations: Record<Exclude<FaultKind, "hang" | "reset">, (r: Reply) => void> = {
      http500: (r) => assert.equal(r.status, 500),
      html502: (r) => {
        assert.equal(r.status, 502);
        assert.match(r.contentType, /text\/html/);
        assert.match(r.body, /<html>/);
      },
      empty200: (r) => {
        assert.equal(r.status, 200);
        assert.equal(r.body, "");
      },
      malformed: (r) => {
        assert.equal(r.status, 200);
        assert.throws(() => JSON.parse(r.body));
      },
      negativeCode: (r) => {
        assert.equal(r.status, 200);
        assert.deepEqual(JSON.parse(r.body), { Message: "Expired TimeStamp", Code: -1 });
      },
      badKey200: (r) => {
        assert.equal(r.status, 200);
        const env = JSON.parse(r.body) as Envelope;
        assert.ok(env.Code < 0);
        assert.match(String(env.Message), /Invalid API Key/);
        assert.equal("seq" in env, false);
      },
      badKey401: (r) => assert.equal(r.status, 401),
      html404: (r) => {
        assert.equal(r.status, 404);
        assert.match(r.body, /<html/i);
      },
    };

    for (const [kind, check] of Object.entries(expectations) as Array<[FaultKind, (r: Reply) => void]>) {
      it(`${kind}: the next subscribe gets the fault, the one after a normal answer`, async function () {
        const pbx = await startPbx();
        pbx.fault(kind);
        const seqBefore = pbx.seq;
        check(await call(pbx, "subscribe", { exten: "410", lastSequenceNumber: 0, timeOut: 0 }));
        assert.equal(pbx.seq, seqBefore);
        assert.equal(pbx.pendingFaults(), 0);
        assert.equal((await subscribe(pbx, "410", 0, 0)).json.Code, 0);
      });
    }

    it("every FaultKind is covered", function () {
      assert.deepEqual([...Object.keys(expectations), "hang", "reset"].sort(), [...FAULT_KINDS].sort());
    });

    it("reset: the socket is destroyed without an answer", async function () {
      const pbx = await startPbx();
      pbx.fault("reset");
      await assert.rejects(call(pbx, "subscribe", { exten: "410", lastSequenceNumber: 0, timeOut: 0 }));
      assert.equal((await subscribe(pbx, "410", 0, 0)).json.Code, 0);
    });

    it("hang: never answers, counts as an open poll (reported as hung) until the client aborts", async function () {
      const pbx = await startPbx();
      const seq = (await subscribe(pbx, "410", 0, 0)).json.seq;
      const seen: Array<[number, number]> = [];
      pbx.onPollsChanged = (open, hung) => seen.push([open, hung]);
      pbx.fault("hang");
      const ac = new AbortController();
      const p = call(pbx, "subscribe", { exten: "410", lastSequenceNumber: 0, timeOut: 0 }, { signal: ac.signal });
      await pbx.waitForPolls(1);
      await sleep(100);
      assert.equal(pbx.openPolls(), 1);
      const held = subscribe(pbx, "410", seq, 5); // a poll the PBX answers, beside the hung one
      await pbx.waitForPolls(2);
      ac.abort();
      await assert.rejects(p);
      await pbx.waitForPolls(1);
      pbx.startCall("410", { uniqueCallId: "c1", status: "Ringing" });
      await held;
      await pbx.waitForPolls(0);
      assert.deepEqual(seen, [[1, 1], [2, 1], [1, 0], [0, 0]]);
    });

    it("count applies the fault to that many subscribes; other methods do not consume faults", async function () {
      const pbx = await startPbx();
      pbx.fault("http500", 2);
      pbx.fault("empty200");
      assert.equal(pbx.pendingFaults(), 3);
      const hang = await envelope(pbx, "hangup", { extenOrUniqueId: "410" });
      assert.ok(hang.Code < 0); // nothing to hang up, but a normal answer
      const got: number[] = [];
      for (let i = 0; i < 4; i++) got.push((await call(pbx, "subscribe", { exten: "410", lastSequenceNumber: 0, timeOut: 0 })).status);
      assert.deepEqual(got, [500, 500, 200, 200]);
      assert.equal(pbx.requests.filter((r) => r.path.endsWith("/subscribe")).length, 4);
    });
  });

  describe("refusals", function () {
    it("refuseNext refuses the next requests of one method, after the key check, in order", async function () {
      const pbx = await startPbx();
      pbx.refuseNext("dial", { Message: "Extension busy", Code: -7 });
      pbx.refuseNext("dial");
      const wrongKey = { number: "1", extenOrUniqueId: "SIP/100", apiKey: "wrong" };
      assert.equal((await envelope(pbx, "dial", wrongKey)).Code, -3, "the key is checked first");
      const id = pbx.startCall("410");
      assert.equal((await envelope(pbx, "hangup", { extenOrUniqueId: id })).Code, 0, "other methods are not refused");
      assert.deepEqual(await envelope(pbx, "dial", { number: "1", extenOrUniqueId: "SIP/100" }), { Message: "Extension busy", Code: -7 });
      assert.deepEqual(await envelope(pbx, "dial", { number: "1", extenOrUniqueId: "SIP/100" }), { Message: "Request refused", Code: -5 });
      assert.equal(pbx.dialed.length, 0);
      assert.equal((await envelope(pbx, "dial", { number: "1", extenOrUniqueId: "SIP/100" })).Code, 0);
      assert.throws(() => pbx.refuseNext("stop", { Message: "x", Code: 0 }));
    });
  });

  describe("raw and streamed answers, and a held clock", function () {
    it("answerNextRaw answers exactly that body, in order with the faults; for another method, its next request", async function () {
      const pbx = await startPbx();
      pbx.answerNextRaw('{"Data":[],"seq":"10","Code":"0"}');
      pbx.fault("http500");
      pbx.answerNextRaw('{"Code":"0"}', 202, "hangup");
      assert.equal(pbx.pendingFaults(), 2);
      const first = await call(pbx, "subscribe", { exten: "410", lastSequenceNumber: 0, timeOut: 0 });
      assert.deepEqual([first.status, first.body], [200, '{"Data":[],"seq":"10","Code":"0"}']);
      assert.equal((await call(pbx, "subscribe", { exten: "410", lastSequenceNumber: 0, timeOut: 0 })).status, 500);
      const hangup = await call(pbx, "hangup", { extenOrUniqueId: "410" });
      assert.deepEqual([hangup.status, hangup.body], [202, '{"Code":"0"}']);
      assert.ok((await envelope(pbx, "hangup", { extenOrUniqueId: "410" })).Code < 0, "then normal answers again");
    });

    for (const chunked of [true, false]) {
      it(`streamNext sends a body of that size (${chunked ? "chunked" : "with a Content-Length"}) and counts it`, async function () {
        const pbx = await startPbx();
        pbx.streamNext(300_000, { chunked });
        const r = await call(pbx, "subscribe", { exten: "410", lastSequenceNumber: 0, timeOut: 0 });
        await pbx.streamed?.done;
        assert.equal(Buffer.byteLength(r.body), 300_000);
        assert.equal(pbx.streamed?.written, 300_000);
        assert.ok(r.body.startsWith('{"Data":{"410":[{"CallData"'));
      });
    }

    it("holdClock parks clock reads until releaseClock", async function () {
      const pbx = await startPbx();
      pbx.holdClock();
      let answered = false;
      const read = post(`${pbx.url}/servicemanager/rest/Time`).then((r) => ((answered = true), r));
      await pbx.waitForRequest((r) => r.path === "/servicemanager/rest/Time");
      await sleep(50);
      assert.equal(answered, false);
      pbx.releaseClock();
      assert.match((await read).body, /^\d{13}$/);
      assert.match((await post(`${pbx.url}/servicemanager/rest/Time`)).body, /^\d{13}$/, "no longer held");
    });
  });

  describe("stop", function () {
      it("stop() ends held and hung polls, closes the server and can be called twice", async function () {
        const pbx = new FakePbx();
        await pbx.start();
        const held = subscribe(pbx, "410", pbx.seq, 30);
        await pbx.waitForPolls(1);
        pbx.fault("hang");
        const hung = call(pbx, "subscribe", { exten: "410", lastSequenceNumber: 0 });
        await pbx.waitForPolls(2);
        const url = pbx.apiUrl("subscribe");
        await pbx.stop();
        assert.equal(pbx.openPolls(), 0);
        await assert.rejects(held);
        await assert.rejects(hung);
        await assert.rejects(post(`${url}?exten=410&lastSequenceNumber=0&timeOut=0`));
        await pbx.stop();
      });
  });
});
