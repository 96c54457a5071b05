/**
 * What the client accepts from the PBX over real HTTP to the fake PBX: plausible shapes the API notes leave open
 * (`Data: []`, numbers as strings) are accepted and normalised; what is really malformed is rejected with a clear
 * reason; and an answer past the size cap is cut off while it streams (see nodes/lib/client/answer-shape.ts for the rules).
 */
import assert from "node:assert/strict";
import { DEFAULT_MAX_ANSWER_BYTES, NoojeeClient } from "../../nodes/lib/client/api-client";
import { NoojeeError } from "../../nodes/lib/client/errors";
import { FakePbx } from "../fake-pbx";

const KEY = "shape-key-5e6f7a8b-9c0d";
const MiB = 1024 * 1024;

describe("NoojeeClient: answer shapes and size", function () {
  let pbx: FakePbx;
  let client: NoojeeClient;

  beforeEach(async () => {
    pbx = new FakePbx({ apiKey: KEY });
    await pbx.start();
    client = new NoojeeClient({ origin: pbx.url, apiKey: KEY, verifyTls: true, maxAnswerBytes: MiB });
  });

  afterEach(async () => {
    client.close();
    await pbx.stop();
  });

  const poll = (body: string) => {
    pbx.answerNextRaw(body);
    return client.subscribe(["410"], 5, 0);
  };

  const badBody = (reason: RegExp) => (err: unknown) => {
    assert.ok(err instanceof NoojeeError, String(err));
    assert.equal(err.kind, "badBody");
    assert.match(err.message, reason);
    assert.ok(!err.message.includes(KEY));
    return true;
  };

  it("takes an idle answer with Data [] as no entries", async () => {
    const answer = await poll('{"Data":[],"seq":12,"Code":0}');
    assert.deepEqual(answer.Data, {});
    assert.equal(answer.seq, 12);
  });

  it("keeps Data null or missing as no entries, as before", async () => {
    assert.equal((await poll('{"Data":null,"seq":3,"Code":0}')).Data, null);
    assert.equal((await poll('{"seq":3,"Code":0}')).Data, undefined);
  });

  it("takes integer strings for Code and seq, and for each entry's CallID and Code, as numbers", async () => {
    const answer = await poll(
      '{"Data":{"410":[{"CallData":{"status":"Ringing","uniqueCallId":"1.5"},"CallID":"10","Code":"0"},' +
        '{"CallData":{"status":"Hungup","uniqueCallId":"1.6"},"CallID":" 11 ","Code":"-2"}]},"seq":"10","Code":"0"}',
    );
    assert.strictEqual(answer.Code, 0);
    assert.strictEqual(answer.seq, 10);
    const entries = answer.Data?.["410"] ?? [];
    assert.deepEqual(entries.map((e) => [e.CallID, e.Code]), [[10, 0], [11, -2]]);
    assert.strictEqual((await poll('{"seq":" 7 ","Code":" 1 "}')).seq, 7, "surrounding whitespace is accepted");
    assert.strictEqual((await poll('{"seq":"0","Code":"-0"}')).Code, 0);
  });

  it("leaves other odd entry fields for the poll loop to judge, without failing the answer", async () => {
    const answer = await poll('{"Data":{"410":[{"CallData":{"status":"Ringing","uniqueCallId":"1"},"CallID":"x","Code":{}},7]},"seq":4,"Code":0}');
    const [entry, junk] = answer.Data?.["410"] ?? [];
    assert.equal(entry.CallID, "x");
    assert.deepEqual(entry.Code, {});
    assert.equal(junk, 7);
  });

  it("treats a string negative Code as the error it is", async () => {
    await assert.rejects(poll('{"Message":"Invalid API Key","Code":"-3"}'), (err: unknown) => {
      assert.ok(err instanceof NoojeeError);
      assert.equal(err.kind, "auth");
      assert.equal(err.code, -3);
      return true;
    });
  });

  const malformed: Array<[string, RegExp]> = [
    ['{"seq":"abc","Code":0}', /seq that is not an integer/],
    ['{"seq":"1e3","Code":0}', /seq that is not an integer/],
    ['{"seq":"+5","Code":0}', /seq that is not an integer/],
    ['{"seq":"1.5","Code":0}', /seq that is not an integer/],
    ['{"seq":1.5,"Code":0}', /seq that is not an integer/],
    ['{"seq":"","Code":0}', /seq that is not an integer/],
    ['{"seq":{},"Code":0}', /seq that is not an integer/],
    ['{"seq":[3],"Code":0}', /seq that is not an integer/],
    ['{"seq":true,"Code":0}', /seq that is not an integer/],
    ['{"seq":9007199254740993,"Code":0}', /seq that is not an integer/],
    ['{"seq":"9007199254740993","Code":0}', /seq that is not an integer/],
    ['{"seq":-1,"Code":0}', /negative seq/],
    ['{"seq":"-1","Code":0}', /negative seq/],
    ['{"seq":null,"Code":0}', /without a seq/],
    ['{"Code":0}', /without a seq/],
    ['{"seq":1,"Code":0,"Data":[{"x":1}]}', /malformed Data field \(a non-empty array\)/],
    ['{"seq":1,"Code":0,"Data":"none"}', /malformed Data field/],
    ['{"seq":1,"Code":0,"Data":0}', /malformed Data field/],
    ['{"seq":1,"Code":0.5}', /Code that is not an integer/],
    ['{"seq":1,"Code":"OK"}', /Code that is not an integer/],
    ['{"seq":1,"Code":{}}', /Code that is not an integer/],
    ['{"seq":1,"Code":null}', /Code that is not an integer/],
    ['{"seq":1}', /without a Code/],
  ];
  for (const [body, reason] of malformed) {
    it(`rejects ${body}`, async () => {
      await assert.rejects(poll(body), badBody(reason));
    });
  }

  it("applies the same Code rule to the other methods", async () => {
    const id = pbx.startCall("410");
    pbx.answerNextRaw('{"Message":"Channel Hungup","Code":"0"}', 200, "hangup");
    assert.strictEqual((await client.hangup(id)).Code, 0);
    pbx.answerNextRaw('{"Message":"Busy","Code":"-4"}', 200, "dial");
    await assert.rejects(client.dial({ number: "100", extenOrUniqueId: "SIP/101" }), (err: unknown) => err instanceof NoojeeError && err.kind === "api" && err.code === -4);
    pbx.answerNextRaw('{"Message":"ok","Code":"0.0"}', 200, "answer");
    await assert.rejects(client.answer(id, "410", undefined), badBody(/Code that is not an integer/));
  });

  for (const chunked of [true, false]) {
    it(`stops reading an answer past the cap (${chunked ? "chunked" : "with a Content-Length"}) with a clear error`, async () => {
      pbx.streamNext(64 * MiB, { chunked });
      await assert.rejects(client.subscribe(["410"], 5, 0), badBody(/^answer larger than 1 MiB$/));
      const streamed = pbx.streamed!;
      await streamed.done;
      // Past the cap only what loopback socket buffers took before the client let go.
      assert.ok(streamed.written < 24 * MiB, `the client read on: ${streamed.written} bytes written`);
    });
  }

  it("reads an answer just under the cap", async () => {
    const entry = { CallData: { status: "Ringing", uniqueCallId: "1.1", callerId: "0".repeat(200) }, CallID: 1, Code: 0 };
    const entries = Array.from({ length: Math.floor((MiB - 100) / (JSON.stringify(entry).length + 1)) }, () => entry);
    const body = JSON.stringify({ Data: { "410": entries }, seq: 9, Code: 0 });
    assert.ok(body.length > MiB - 1000 && body.length <= MiB, String(body.length));
    assert.equal((await poll(body)).seq, 9);
  });

  it("caps at 8 MiB by default", async () => {
    assert.equal(DEFAULT_MAX_ANSWER_BYTES, 8 * MiB);
    const plain = new NoojeeClient({ origin: pbx.url, apiKey: KEY, verifyTls: true });
    try {
      pbx.streamNext(9 * MiB);
      await assert.rejects(plain.subscribe(["410"], 5, 0), badBody(/^answer larger than 8 MiB$/));
    } finally {
      plain.close();
    }
  });
});
