/** Contract: listening, routing (POST only, HTML 404/405), the PBX clock, sign-in, and the request log. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { post, qs, call, subscribe } from "./pbx-client";
import type { ContractContext } from "./contract-context";
import type { Envelope } from "../../nodes/lib/client/types";

export function describeTransportContract(ctx: ContractContext): void {
  const { startPbx } = ctx;

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
}
