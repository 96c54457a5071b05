/** Contract tests for the fake PBX: the behaviour tests of the nodes are only as good as this fake. */
import assert from "node:assert/strict";
import * as https from "node:https";
import { X509Certificate, createHash } from "node:crypto";
import axios from "axios";
import { FakePbx, FakePbxOptions, FAULT_KINDS, FaultKind, loadTestTls, pbxTimestamp } from "./fake-pbx";
import type { Envelope, SubscribeResponse } from "../nodes/lib/types";

interface Reply {
  status: number;
  body: string;
  contentType: string;
  ms: number;
}

interface PostOptions {
  method?: string;
  signal?: AbortSignal;
  httpsAgent?: https.Agent;
}

/** Raw POST: the URL is sent as given (no re-encoding) and every status resolves. */
async function post(url: string, opts: PostOptions = {}): Promise<Reply> {
  const t0 = Date.now();
  const r = await axios.request({
    url,
    method: opts.method ?? "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    responseType: "text",
    transformResponse: (d: unknown) => d,
    validateStatus: () => true,
    signal: opts.signal,
    httpsAgent: opts.httpsAgent,
  });
  return {
    status: r.status,
    body: typeof r.data === "string" ? r.data : "",
    contentType: String(r.headers["content-type"] ?? ""),
    ms: Date.now() - t0,
  };
}

function qs(params: Record<string, string | number | undefined>): string {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) sp.append(k, String(v));
  return sp.toString();
}

async function call(pbx: FakePbx, method: string, params: Record<string, string | number | undefined>, opts: PostOptions = {}): Promise<Reply> {
  return post(`${pbx.apiUrl(method)}?${qs({ apiKey: pbx.apiKey, ...params })}`, opts);
}

async function envelope(pbx: FakePbx, method: string, params: Record<string, string | number | undefined>): Promise<Envelope> {
  const r = await call(pbx, method, params);
  assert.equal(r.status, 200);
  return JSON.parse(r.body) as Envelope;
}

interface SubResult {
  json: SubscribeResponse;
  ms: number;
}

async function subscribe(
  pbx: FakePbx,
  exten: string,
  last: number,
  timeOut?: number,
  opts: PostOptions = {},
): Promise<SubResult> {
  const r = await call(pbx, "subscribe", { exten, lastSequenceNumber: last, timeOut }, opts);
  assert.equal(r.status, 200, r.body);
  assert.match(r.contentType, /application\/json/);
  return { json: JSON.parse(r.body) as SubscribeResponse, ms: r.ms };
}

function statuses(json: SubscribeResponse, exten: string): string[] {
  return (json.Data?.[exten] ?? []).map((e) => e.CallData.status);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

describe("FakePbx", function () {
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

  describe("transport, routing and authentication", function () {
    it("listens on 127.0.0.1 and exposes url/hostPort/apiKey", async function () {
      const pbx = await startPbx();
      assert.ok(pbx.port > 0);
      assert.equal(pbx.hostPort, `127.0.0.1:${pbx.port}`);
      assert.equal(pbx.url, `http://127.0.0.1:${pbx.port}`);
      assert.equal(pbx.apiKey, "test-key-123e4567-e89b");
    });

    it("accepts only POST (405 otherwise) and answers HTML 404 for unknown paths and methods", async function () {
      const pbx = await startPbx();
      const get = await call(pbx, "subscribe", { exten: "410", lastSequenceNumber: 0, timeOut: 0 }, { method: "GET" });
      assert.equal(get.status, 405);
      const unknownMethod = await call(pbx, "subscribeAll", { exten: "410" });
      assert.equal(unknownMethod.status, 404);
      assert.match(unknownMethod.contentType, /text\/html/);
      assert.match(unknownMethod.body, /<html/i);
      const unknownPath = await post(`${pbx.url}/servicemanager/rest/Other/subscribe`);
      assert.equal(unknownPath.status, 404);
      assert.match(unknownPath.body, /<html/i);
      assert.equal(pbx.openPolls(), 0);
    });

    it("serves the PBX clock as plain-text milliseconds at /servicemanager/rest/Time", async function () {
      const pbx = await startPbx();
      const r = await post(`${pbx.url}/servicemanager/rest/Time`);
      assert.equal(r.status, 200);
      assert.match(r.body, /^\d+$/);
      assert.ok(Math.abs(Number(r.body) - Date.now()) < 5000);
    });

    it("answers a negative-Code envelope (no seq, no Data) to a wrong key and follows runtime key changes", async function () {
      const pbx = await startPbx({ apiKey: "right" });
      const bad = await post(`${pbx.apiUrl("subscribe")}?${qs({ exten: "410", lastSequenceNumber: 0, timeOut: 0, apiKey: "wrong" })}`);
      assert.equal(bad.status, 200);
      const env = JSON.parse(bad.body) as Envelope;
      assert.ok(env.Code < 0);
      assert.match(String(env.Message), /Invalid API Key/);
      assert.equal("seq" in env, false);
      assert.equal("Data" in env, false);

      const noKey = await post(`${pbx.apiUrl("answer")}?${qs({ uniqueId: "1.1", exten: "410" })}`);
      assert.ok((JSON.parse(noKey.body) as Envelope).Code < 0);

      assert.equal((await subscribe(pbx, "410", 0, 0)).json.Code, 0);
      pbx.apiKey = "rotated";
      const rejected = await post(`${pbx.apiUrl("subscribe")}?${qs({ exten: "410", lastSequenceNumber: 0, timeOut: 0, apiKey: "right" })}`);
      assert.ok((JSON.parse(rejected.body) as Envelope).Code < 0);
      assert.equal((await subscribe(pbx, "410", 0, 0)).json.Code, 0); // `call` sends the current key
    });

    it("accepts the older timeStamp/hash pair and answers Expired TimeStamp (Code -1) for a stale one", async function () {
      const pbx = await startPbx({ apiKey: "k" });
      const pair = (ts: number) => ({ timeStamp: ts, hash: createHash("sha256").update(`k:${ts}`).digest("hex") });
      const base = { exten: "410", lastSequenceNumber: 0, timeOut: 0 };
      const ok = await post(`${pbx.apiUrl("subscribe")}?${qs({ ...base, ...pair(Date.now()) })}`);
      assert.equal((JSON.parse(ok.body) as Envelope).Code, 0);
      const stale = await post(`${pbx.apiUrl("subscribe")}?${qs({ ...base, ...pair(Date.now() - 60_000) })}`);
      assert.deepEqual(JSON.parse(stale.body), { Message: "Expired TimeStamp", Code: -1 });
      const wrong = await post(`${pbx.apiUrl("subscribe")}?${qs({ ...base, timeStamp: Date.now(), hash: "00" })}`);
      assert.ok((JSON.parse(wrong.body) as Envelope).Code < 0);
    });

    it("records every request with its raw query, and decodes parameters like a servlet (+ is a space, %2B is +)", async function () {
      const pbx = await startPbx();
      const raw = `number=+61400111222&extenOrUniqueId=SIP%2F100&apiKey=${pbx.apiKey}`;
      const r1 = await post(`${pbx.apiUrl("dial")}?${raw}`);
      assert.equal((JSON.parse(r1.body) as Envelope).Code, 0);
      const rec = pbx.requests[pbx.requests.length - 1];
      assert.equal(rec.method, "POST");
      assert.equal(rec.path, "/servicemanager/rest/CallManagementAPI/dial");
      assert.equal(rec.rawQuery, raw);
      assert.equal(rec.query.number, " 61400111222");
      assert.equal(rec.query.extenOrUniqueId, "SIP/100");
      assert.deepEqual(rec.query, { number: " 61400111222", extenOrUniqueId: "SIP/100", apiKey: pbx.apiKey });
      assert.equal(rec.headers["content-type"], "application/x-www-form-urlencoded");
      assert.equal(pbx.legsOf("100")[0].callerId, " 61400111222");

      await post(`${pbx.apiUrl("dial")}?number=%2B61400111222&extenOrUniqueId=SIP/101&apiKey=${pbx.apiKey}`);
      assert.equal(pbx.legsOf("101")[0].callerId, "+61400111222");

      // Yealink / Snom answer headers survive a proper encoding.
      const id = pbx.startCall("410");
      await post(`${pbx.apiUrl("answer")}?uniqueId=${id}&exten=410&answerString=Call-Info%3A%5C%3B+answer-after%3D0&apiKey=${pbx.apiKey}`);
      assert.equal(pbx.answered[0].answerString, "Call-Info:\\; answer-after=0");
    });

    it("waitForRequest resolves on an already recorded and on a future request", async function () {
      const pbx = await startPbx();
      await subscribe(pbx, "410", 0, 0);
      const past = await pbx.waitForRequest((r) => r.query.exten === "410", 100);
      assert.equal(past.query.lastSequenceNumber, "0");
      const future = pbx.waitForRequest((r) => r.query.exten === "411", 2000);
      await subscribe(pbx, "411", 0, 0);
      assert.equal((await future).query.exten, "411");
      await assert.rejects(pbx.waitForRequest((r) => r.query.exten === "999", 50), /no matching request/);
    });
  });

  describe("subscribe", function () {
    it("lastSequenceNumber=0 answers the calls in progress on the requested extensions at once, with seq = counter", async function () {
      const pbx = await startPbx();
      const a = pbx.startCall("410", { callerId: "400" });
      const b = pbx.startCall("410", { callerId: "401" });
      pbx.update("410", b, { status: "Connected", canAnswer: false, callStartTime: pbxTimestamp() });
      const ended = pbx.startCall("400");
      pbx.update("400", ended, { status: "Hungup", hangupCause: "NO_ANSWER" });
      pbx.startCall("500"); // not requested

      const { json, ms } = await subscribe(pbx, "400,410", 0, 10);
      assert.ok(ms < 1000, `took ${ms} ms`);
      assert.equal(json.Code, 0);
      assert.equal(json.seq, pbx.seq);
      assert.deepEqual(Object.keys(json.Data ?? {}), ["410"]);
      const entries = json.Data?.["410"] ?? [];
      assert.deepEqual(
        entries.map((e) => [e.CallData.uniqueCallId, e.CallData.status]),
        [
          [a, "Ringing"],
          [b, "Connected"],
        ],
      );
      assert.deepEqual(entries[0], {
        CallData: {
          canAnswer: true,
          callerId: "400",
          uniqueCallId: a,
          callStartTime: "",
          isQueueCall: false,
          isClickToDialCall: false,
          inbound: true,
          status: "Ringing",
        },
        CallID: entries[0].CallID,
        Code: 0,
      });
      assert.ok(Number.isInteger(entries[0].CallID));
      assert.notEqual(entries[0].CallID, entries[1].CallID);
      assert.match(a, /^\d+\.\d+$/);
      assert.match(String(entries[1].CallData.callStartTime), /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d$/);
    });

    it("lastSequenceNumber=0 with nothing in progress: timeOut=0 answers empty at once, timeOut>0 holds until the first event", async function () {
      const pbx = await startPbx();
      const now = await subscribe(pbx, "410", 0, 0);
      assert.deepEqual(now.json, { Data: {}, seq: pbx.seq, Code: 0 });

      const held = subscribe(pbx, "410", 0, 10);
      await pbx.waitForPolls(1);
      await sleep(50);
      assert.equal(pbx.openPolls(), 1);
      const id = pbx.startCall("410");
      const { json } = await held;
      assert.equal(json.seq, pbx.seq);
      assert.deepEqual(statuses(json, "410"), ["Ringing"]);
      assert.equal(json.Data?.["410"][0].CallData.uniqueCallId, id);
    });

    it("idleSnapshot: 'answer' answers lastSequenceNumber=0 at once even with timeOut>0", async function () {
      const pbx = await startPbx({ idleSnapshot: "answer" });
      const { json, ms } = await subscribe(pbx, "410", 0, 10);
      assert.ok(ms < 1000);
      assert.deepEqual(json, { Data: {}, seq: pbx.seq, Code: 0 });
    });

    it("a held poll wakes on an event and carries several entries for several extensions, oldest first", async function () {
      const pbx = await startPbx();
      const start = (await subscribe(pbx, "400,410", 0, 0)).json.seq;
      const held = subscribe(pbx, "400,410", start, 10);
      await pbx.waitForPolls(1);

      pbx.startCall("500"); // an extension nobody asked for does not wake the poll
      await sleep(100);
      assert.equal(pbx.openPolls(), 1);

      const in410 = pbx.startCall("410", { callerId: "400" });
      const out400 = pbx.startCall("400", { status: "Dialing Out", inbound: false, canAnswer: false, callerId: "410" });
      pbx.update("410", in410, { status: "Connected", canAnswer: false, callStartTime: pbxTimestamp() });
      const { json, ms } = await held;
      assert.ok(ms < 5000);
      assert.equal(json.seq, pbx.seq);
      assert.equal(json.seq, start + 4);
      assert.deepEqual(Object.keys(json.Data ?? {}).sort(), ["400", "410"]);
      assert.deepEqual(statuses(json, "410"), ["Ringing", "Connected"]);
      assert.deepEqual(statuses(json, "400"), ["Dialing Out"]);
      assert.equal(json.Data?.["400"][0].CallData.uniqueCallId, out400);
      assert.equal(pbx.openPolls(), 0);
    });

    it("answers at once with every event after lastSequenceNumber on the requested extensions", async function () {
      const pbx = await startPbx();
      const s0 = pbx.seq;
      const id = pbx.startCall("410");
      pbx.startCall("411");
      pbx.update("410", id, { status: "Hungup", hangupCause: "NO_ANSWER" });
      const { json, ms } = await subscribe(pbx, "410", s0, 10);
      assert.ok(ms < 1000);
      assert.deepEqual(statuses(json, "410"), ["Ringing", "Hungup"]);
      assert.equal(json.Data?.["410"][1].CallData.hangupCause, "NO_ANSWER");
      assert.equal(json.Data?.["411"], undefined);
      assert.equal(json.seq, s0 + 3);
      // From the middle: only the later event.
      const later = await subscribe(pbx, "410,411", s0 + 2, 0);
      assert.deepEqual(statuses(later.json, "410"), ["Hungup"]);
      assert.equal(later.json.Data?.["411"], undefined);
    });

    it("an idle poll answers with no entries and the counter when timeOut expires", async function () {
      const pbx = await startPbx();
      pbx.startCall("500");
      const s = pbx.seq;
      const { json, ms } = await subscribe(pbx, "410", s, 1);
      assert.ok(ms >= 950 && ms < 2000, `took ${ms} ms`);
      assert.deepEqual(json, { Data: {}, seq: s, Code: 0 });
      assert.equal(pbx.openPolls(), 0);
    });

    it("defaults timeOut to 10 units (timeOutUnitMs shrinks the unit)", async function () {
      const pbx = await startPbx({ timeOutUnitMs: 20 });
      const r = await call(pbx, "subscribe", { exten: "410", lastSequenceNumber: pbx.seq });
      assert.ok(r.ms >= 190 && r.ms < 1000, `took ${r.ms} ms`);
    });

    for (const [shape, expected] of [
      ["null", { Data: null, seq: 1, Code: 0 }],
      ["missing", { seq: 1, Code: 0 }],
    ] as const) {
      it(`emptyData: '${shape}' shapes an answer without entries`, async function () {
        const pbx = await startPbx({ emptyData: shape });
        assert.deepEqual((await subscribe(pbx, "410", 0, 0)).json, expected);
        assert.deepEqual((await subscribe(pbx, "410", 1, 0)).json, expected);
        const r = await call(pbx, "subscribe", { exten: "410", lastSequenceNumber: 1, timeOut: 0 });
        assert.equal(r.body, JSON.stringify(expected)); // Data first, as the vendor's example
      });
    }

    it("seq is one global counter: other extensions' traffic makes it jump", async function () {
      const pbx = await startPbx();
      const s0 = (await subscribe(pbx, "410", 0, 0)).json.seq;
      pbx.bumpSeq(100);
      pbx.startCall("500");
      pbx.startCall("410");
      const { json } = await subscribe(pbx, "410", s0, 0);
      assert.equal(json.seq, s0 + 102);
      assert.equal(json.Data?.["410"].length, 1);
      assert.deepEqual(
        pbx.events.map((e) => e.seq),
        [s0 + 101, s0 + 102],
      );
    });

    it("rejects missing or invalid parameters with a negative Code and no seq", async function () {
      const pbx = await startPbx();
      for (const params of [
        { lastSequenceNumber: 0, timeOut: 0 },
        { exten: "", lastSequenceNumber: 0 },
        { exten: "410", timeOut: 0 },
        { exten: "410", lastSequenceNumber: "abc" },
        { exten: "410", lastsequencenumber: 0 }, // names are case sensitive
        { exten: "410", lastSequenceNumber: 0, timeOut: "x" },
      ]) {
        const env = await envelope(pbx, "subscribe", params);
        assert.ok(env.Code < 0, JSON.stringify(params));
        assert.equal("seq" in env, false);
      }
      assert.equal(pbx.openPolls(), 0);
    });

    it("takes exten literally: a tech prefix in subscribe never matches (the client must send bare extensions)", async function () {
      const pbx = await startPbx();
      pbx.startCall("410");
      const { json } = await subscribe(pbx, "SIP/410", 0, 0);
      assert.deepEqual(json.Data, {});
    });

    it("minPollMs delays every answer and includes the events that arrive meanwhile", async function () {
      const pbx = await startPbx({ minPollMs: 150 });
      const first = await subscribe(pbx, "410", 0, 0);
      assert.ok(first.ms >= 140, `took ${first.ms} ms`);
      const s = first.json.seq;
      const p = subscribe(pbx, "410", s, 10);
      await pbx.waitForPolls(1);
      const id = pbx.startCall("410");
      await sleep(60);
      pbx.update("410", id, { status: "Hungup" });
      const { json, ms } = await p;
      assert.ok(ms >= 140 && ms < 1000, `took ${ms} ms`);
      assert.deepEqual(statuses(json, "410"), ["Ringing", "Hungup"]);
      assert.equal(json.seq, s + 2);
    });
  });

  describe("restart", function () {
    it("restartMode 'answer': a poll from before the restart gets a smaller seq and no entries at once", async function () {
      const pbx = await startPbx();
      pbx.bumpSeq(50);
      pbx.startCall("410");
      const before = (await subscribe(pbx, "410", 0, 0)).json;
      assert.equal(before.Data?.["410"].length, 1);
      pbx.restart();
      assert.ok(pbx.seq < before.seq);
      assert.equal(pbx.events.length, 0);
      const { json, ms } = await subscribe(pbx, "410", before.seq, 10);
      assert.ok(ms < 1000);
      assert.deepEqual(json, { Data: {}, seq: pbx.seq, Code: 0 });
      assert.ok(json.seq < before.seq);
      // Resynchronising from 0 sees the empty state; CallIDs restart too.
      assert.deepEqual((await subscribe(pbx, "410", 0, 0)).json.Data, {});
      pbx.startCall("410");
      assert.equal(pbx.events[0].entry.CallID, 1);
    });

    it("restartMode 'hold': such a poll is held past its timeOut until the counter passes its lastSequenceNumber", async function () {
      const pbx = await startPbx({ restartMode: "hold" });
      pbx.bumpSeq(20);
      const old = pbx.seq;
      pbx.restart();
      const p = subscribe(pbx, "410", old, 0);
      await pbx.waitForPolls(1);
      await sleep(150);
      assert.equal(pbx.openPolls(), 1);
      pbx.bumpSeq(old - pbx.seq); // counter == old: not yet past
      await sleep(20);
      assert.equal(pbx.openPolls(), 1);
      pbx.startCall("410");
      const { json } = await p;
      assert.equal(json.seq, old + 1);
      assert.deepEqual(statuses(json, "410"), ["Ringing"]);
    });

    it("closes the sockets of polls held during a restart", async function () {
      const pbx = await startPbx();
      const p = subscribe(pbx, "410", pbx.seq, 10);
      await pbx.waitForPolls(1);
      pbx.restart();
      assert.equal(pbx.openPolls(), 0);
      await assert.rejects(p);
    });
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

    it("hang: never answers, counts as an open poll until the client aborts", async function () {
      const pbx = await startPbx();
      pbx.fault("hang");
      const ac = new AbortController();
      const p = call(pbx, "subscribe", { exten: "410", lastSequenceNumber: 0, timeOut: 0 }, { signal: ac.signal });
      await pbx.waitForPolls(1);
      await sleep(100);
      assert.equal(pbx.openPolls(), 1);
      ac.abort();
      await assert.rejects(p);
      await pbx.waitForPolls(0);
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

  describe("answer, hangup, dial", function () {
    it("answers a ringing leg: Connected is emitted, recorded, and the envelope says Code 0", async function () {
      const pbx = await startPbx();
      const s = pbx.seq;
      const id = pbx.startCall("410", { callerId: "400" });
      const env = await envelope(pbx, "answer", { uniqueId: id, exten: "410", answerString: "Call-info:answer-after=0" });
      assert.deepEqual(env, { Message: "Call answered", Code: 0 });
      assert.deepEqual(pbx.answered, [{ uniqueId: id, exten: "410", answerString: "Call-info:answer-after=0" }]);
      const { json } = await subscribe(pbx, "410", s, 0);
      const [ringing, connected] = json.Data?.["410"] ?? [];
      assert.equal(ringing.CallData.status, "Ringing");
      assert.equal(connected.CallData.status, "Connected");
      assert.equal(connected.CallData.canAnswer, false);
      assert.match(String(connected.CallData.callStartTime), /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d$/);
      assert.equal(connected.CallID, ringing.CallID);

      // Already connected: cannot be answered again.
      assert.ok((await envelope(pbx, "answer", { uniqueId: id, exten: "410" })).Code < 0);
      assert.equal(pbx.answered.length, 1);
    });

    it("accepts exten with a tech prefix, an absent answerString, and refuses wrong extension, unknown id, non-answerable legs", async function () {
      const pbx = await startPbx();
      const a = pbx.startCall("410");
      assert.equal((await envelope(pbx, "answer", { uniqueId: a, exten: "SIP/410" })).Code, 0);
      assert.deepEqual(pbx.answered[0], { uniqueId: a, exten: "SIP/410", answerString: undefined });

      const b = pbx.startCall("410");
      assert.ok((await envelope(pbx, "answer", { uniqueId: b, exten: "411" })).Code < 0);
      assert.ok((await envelope(pbx, "answer", { uniqueId: "1412750652.999", exten: "410" })).Code < 0);
      assert.ok((await envelope(pbx, "answer", { exten: "410" })).Code < 0);
      const queued = pbx.startCall("410", { isQueueCall: true, canAnswer: false });
      assert.ok((await envelope(pbx, "answer", { uniqueId: queued, exten: "410" })).Code < 0);
      const out = pbx.startCall("410", { status: "Dialing Out", inbound: false, canAnswer: false });
      assert.ok((await envelope(pbx, "answer", { uniqueId: out, exten: "410" })).Code < 0);
      assert.equal(pbx.answered.length, 1);
      assert.equal(pbx.leg(b)?.status, "Ringing");
    });

    it("hangup by uniqueCallId or by extension emits Hungup and ends the leg", async function () {
      const pbx = await startPbx();
      const a = pbx.startCall("410");
      const b = pbx.startCall("411");
      assert.deepEqual(await envelope(pbx, "hangup", { extenOrUniqueId: a }), { Message: "Channel Hungup", Code: 0 });
      assert.deepEqual(await envelope(pbx, "hangup", { extenOrUniqueId: "SIP/411" }), { Message: "Channel Hungup", Code: 0 });
      assert.equal(pbx.leg(a), undefined);
      assert.equal(pbx.leg(b), undefined);
      assert.deepEqual(
        pbx.events.map((e) => [e.exten, e.entry.CallData.status]),
        [
          ["410", "Ringing"],
          ["411", "Ringing"],
          ["410", "Hungup"],
          ["411", "Hungup"],
        ],
      );
      assert.ok((await envelope(pbx, "hangup", { extenOrUniqueId: a })).Code < 0);
      assert.deepEqual((await subscribe(pbx, "410,411", 0, 0)).json.Data, {});
    });

    it("dial creates an outbound Dialing Out leg on the extension given with its tech", async function () {
      const pbx = await startPbx();
      const env = await envelope(pbx, "dial", { number: "0299998888", extenOrUniqueId: "SIP/100" });
      assert.equal(env.Code, 0);
      assert.equal(typeof env.SessionID, "string");
      const [leg] = pbx.legsOf("100");
      assert.equal(leg.status, "Dialing Out");
      assert.equal(leg.inbound, false);
      assert.equal(leg.callerId, "0299998888");
      assert.deepEqual(pbx.dialed, [
        { sessionId: env.SessionID, exten: "100", uniqueCallId: leg.uniqueCallId, query: { number: "0299998888", extenOrUniqueId: "SIP/100", apiKey: pbx.apiKey } },
      ]);
      assert.ok((await envelope(pbx, "dial", { number: "0299998888", extenOrUniqueId: "100" })).Code < 0);
      assert.ok((await envelope(pbx, "dial", { extenOrUniqueId: "SIP/100" })).Code < 0);
      assert.equal(pbx.dialed.length, 1, "refused dials are not logged");
    });

    it("start/stop record the leg their target resolves to (uniqueCallId, or the extension's newest leg)", async function () {
      const pbx = await startPbx();
      const a = pbx.startCall("410");
      const b = pbx.startCall("410");
      const start = await envelope(pbx, "start", { extenOrUniqueId: a, tag: "x&y z", agentLoginName: "jo" });
      assert.deepEqual(start, { Message: "Recording started", Code: 0 });
      assert.deepEqual(await envelope(pbx, "stop", { extenOrUniqueId: "SIP/410" }), { Message: "Recording stopped", Code: 0 });
      assert.ok((await envelope(pbx, "start", { extenOrUniqueId: "499" })).Code < 0);
      assert.ok((await envelope(pbx, "stop", {})).Code < 0);
      assert.deepEqual(pbx.recordings, [
        { action: "start", extenOrUniqueId: a, uniqueCallId: a, tag: "x&y z", agentLoginName: "jo" },
        { action: "stop", extenOrUniqueId: "SIP/410", uniqueCallId: b, tag: undefined, agentLoginName: undefined },
      ]);
    });

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

    it("update throws for a leg that is not in progress; terminal statuses end legs", async function () {
      const pbx = await startPbx();
      const id = pbx.startCall("410");
      assert.throws(() => pbx.update("411", id, { status: "Connected" }));
      for (const status of ["Busy", "No Answer", "Hungup"]) {
        const leg = pbx.startCall("410");
        pbx.update("410", leg, { status });
        assert.equal(pbx.leg(leg), undefined, status);
      }
      pbx.update("410", id, { status: "Unlinked" }); // not terminal
      assert.equal(pbx.leg(id)?.status, "Unlinked");
      pbx.emit("410", { uniqueCallId: "342082345-238.234", status: "Parked", futureField: 1 });
      const { json } = await subscribe(pbx, "410", 0, 0);
      assert.deepEqual(
        json.Data?.["410"].map((e) => e.CallData.status),
        ["Unlinked", "Parked"],
      );
      assert.equal(json.Data?.["410"][1].CallData.futureField, 1);
    });
  });

  describe("open polls, aborts and stop", function () {
    it("a client abort removes the held poll at once", async function () {
      const pbx = await startPbx();
      const polls = [0, 1, 2].map(() => {
        const ac = new AbortController();
        return { ac, p: subscribe(pbx, "410", pbx.seq, 30, { signal: ac.signal }) };
      });
      await pbx.waitForPolls(3);
      polls[0].ac.abort();
      await assert.rejects(polls[0].p);
      await pbx.waitForPolls(2);
      polls[1].ac.abort();
      polls[2].ac.abort();
      await Promise.allSettled(polls.map((x) => x.p));
      await pbx.waitForPolls(0);
      // An event after the aborts reaches no one and breaks nothing.
      pbx.startCall("410");
      assert.equal((await subscribe(pbx, "410", 0, 0)).json.Data?.["410"].length, 1);
    });

    it("waitForPolls rejects after its timeout", async function () {
      const pbx = await startPbx();
      await assert.rejects(pbx.waitForPolls(1, 50), /waitForPolls/);
    });

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

  describe("https", function () {
    it("serves HTTPS with the self-signed fixture certificate for 127.0.0.1", async function () {
      const tls = loadTestTls();
      const cert = new X509Certificate(tls.cert);
      assert.match(cert.subjectAltName ?? "", /IP Address:127\.0\.0\.1/);
      assert.ok(new Date(cert.validTo).getFullYear() > 2100);

      const pbx = await startPbx({ tls });
      assert.equal(pbx.url, `https://127.0.0.1:${pbx.port}`);
      const httpsAgent = new https.Agent({ ca: tls.cert });
      try {
        pbx.startCall("410");
        const { json } = await subscribe(pbx, "410", 0, 0, { httpsAgent });
        assert.deepEqual(statuses(json, "410"), ["Ringing"]);
        // Held poll over TLS, then an abort.
        const ac = new AbortController();
        const p = subscribe(pbx, "410", json.seq, 30, { httpsAgent, signal: ac.signal });
        await pbx.waitForPolls(1);
        ac.abort();
        await assert.rejects(p);
        await pbx.waitForPolls(0);
        // Without the CA the client must refuse the certificate.
        await assert.rejects(call(pbx, "subscribe", { exten: "410", lastSequenceNumber: 0, timeOut: 0 }, { httpsAgent: new https.Agent() }));
      } finally {
        httpsAgent.destroy();
      }
    });
  });

  describe("event log", function () {
    it("records every change in order with its seq (for loss and duplicate accounting)", async function () {
      const pbx = await startPbx();
      const id = pbx.startCall("410");
      pbx.bumpSeq(5);
      pbx.update("410", id, { status: "Hungup" });
      assert.deepEqual(
        pbx.events.map((e) => [e.seq, e.exten, e.entry.CallData.status, e.entry.CallData.uniqueCallId]),
        [
          [2, "410", "Ringing", id],
          [8, "410", "Hungup", id],
        ],
      );
    });

    it("stays bounded by maxEvents and keeps serving polls from the per-extension index", async function () {
      const pbx = await startPbx({ maxEvents: 100 });
      const s0 = pbx.seq;
      for (let i = 0; i < 1000; i++) pbx.emit(String(400 + (i % 10)), { uniqueCallId: `c${i}`, status: "Hungup" });
      assert.ok(pbx.events.length >= 100 && pbx.events.length <= 113, `length ${pbx.events.length}`);
      assert.equal(pbx.events[pbx.events.length - 1].seq, s0 + 1000);
      const oldest = pbx.events[0].seq;
      // From long ago: only what the log still holds, oldest first.
      const { json } = await subscribe(pbx, "403", s0, 0);
      const seqs = (json.Data?.["403"] ?? []).map((e) => Number(String(e.CallData.uniqueCallId).slice(1)) + s0 + 1);
      assert.ok(seqs.length > 0 && seqs.every((s) => s >= oldest));
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
      // From a recent seq: exactly the later events.
      const recent = await subscribe(pbx, "403,407", s0 + 990, 0);
      assert.deepEqual(
        (recent.json.Data?.["403"] ?? []).map((e) => e.CallData.uniqueCallId),
        ["c993"],
      );
      assert.deepEqual(
        (recent.json.Data?.["407"] ?? []).map((e) => e.CallData.uniqueCallId),
        ["c997"],
      );
    });
  });
});
