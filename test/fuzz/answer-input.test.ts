/**
 * Fuzzing noojee-answer with arbitrary input msgs (fast-check), inside Node-RED's test helper, over real HTTP to the
 * fake PBX. Properties: the node never throws (every msg ends in a send or one of our own errors), bad input sends no
 * request, and every request it does send carries only known, percent-encoded, valid parameters.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Node } from "node-red";
import { UNIQUE_CALL_ID } from "../../nodes/lib/input/answer-input";
import { DIALABLE_EXTENSION } from "../../nodes/lib/input/extensions";
import { API_BASE, FakePbx } from "../fake-pbx";
import { API_KEY, configFlowNode, credentials, helper, nodes } from "../nodes/support";

/** What encodeURIComponent leaves: unreserved characters and %XX escapes, nothing else. */
const ENCODED = /^(?:[A-Za-z0-9\-_.!~*'()]|%[0-9A-F]{2})*$/;
const GRANDSTREAM = "Call-Info:\\; answer-after=0";
const POLYCOM = "Alert-Info: Ring Answer";

type Outcome = { sent: Record<string, unknown> } | { error: string };

/** The first send or error of `node` for the msg with this _msgid (Node-RED turns done(err) into node.error(err, msg)). */
function outcomeOf(node: Node, msgid: string): Promise<Outcome> {
  const emitter = node as unknown as NodeJS.EventEmitter;
  return new Promise((resolve, reject) => {
    const finish = (outcome: Outcome): void => {
      clearTimeout(timer);
      emitter.removeListener("call:send", onSend);
      emitter.removeListener("call:error", onError);
      resolve(outcome);
    };
    const onSend = (call: { args: unknown[] }): void => {
      const msg = call.args[0] as Record<string, unknown>;
      if (msg?._msgid === msgid) finish({ sent: msg });
    };
    const onError = (call: { args: unknown[] }): void => {
      const msg = call.args[1] as Record<string, unknown> | undefined;
      if (msg?._msgid === msgid) finish({ error: String((call.args[0] as Error)?.message ?? call.args[0]) });
    };
    const timer = setTimeout(() => reject(new Error(`no outcome for msg ${msgid} within 5 s`)), 5000);
    emitter.on("call:send", onSend);
    emitter.on("call:error", onError);
  });
}

const plausible = fc.constantFrom(
  "410", " 410 ", "SIP/101", "PJSIP/410", "sip/4", "+61400000000", "0400 000 000", "1412750652.496", "342082345-238.234",
  "a&b=c", "x#y", "%41", "%", "1+2", "?", "/", "\u0000", "\r\n", "__proto__", "constructor", "x".repeat(64), "x".repeat(65),
  "1".repeat(15), "1".repeat(16), "Call-Info:\\; answer-after=0", "😀", "",
);
const text = fc.oneof(
  plausible,
  fc.string(),
  fc.string({ unit: "binary" }),
  fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,70}$/),
  fc.stringMatching(/^\s*(?:[A-Za-z]{1,6}\/)?\d{1,17}\s*$/),
);
const value = fc.oneof(
  { weight: 4, arbitrary: text },
  fc.integer(),
  fc.double(),
  fc.bigInt(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(undefined),
  fc.anything({
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withObjectString: true,
    withSparseArray: true,
    withTypedArray: true,
  }),
);
const msgArb = fc.record(
  {
    payload: fc.oneof(value, fc.record({ uniqueCallId: value, extension: value }, { requiredKeys: [] })),
    uniqueCallId: value,
    extension: value,
    topic: value,
  },
  { requiredKeys: [] },
);

describe("fuzz: noojee-answer input", function () {
  this.timeout(120_000);
  let pbx: FakePbx;

  before(async () => {
    pbx = new FakePbx({ apiKey: API_KEY });
    await pbx.start();
    await helper.load(nodes, [
      { id: "f1", type: "tab", label: "fuzz" },
      configFlowNode(pbx.url),
      { id: "free", z: "f1", type: "noojee-answer", server: "cfg", extension: "", answerString: GRANDSTREAM, wires: [[]] },
      { id: "fixed", z: "f1", type: "noojee-answer", server: "cfg", extension: "SIP/101", answerString: POLYCOM, wires: [[]] },
    ], credentials());
  });

  after(async () => {
    await helper.unload();
    await pbx.stop();
  });

  it("never throws, sends nothing for bad input, and sends only valid, encoded parameters", async () => {
    let n = 0;
    let requested = 0;
    await fc.assert(
      fc.asyncProperty(msgArb, fc.boolean(), async (generated, useFixed) => {
        const node = helper.getNode(useFixed ? "fixed" : "free");
        const msgid = `fuzz-${++n}`;
        const msg = { ...generated, _msgid: msgid };
        const before = pbx.requests.length;
        const outcome = outcomeOf(node, msgid);
        (node as unknown as { receive(m: unknown): void }).receive(msg);
        const result = await outcome;
        const requests = pbx.requests.slice(before);

        if ("error" in result) {
          assert.match(result.error, /^noojee-answer\.error\.\w+/, `an error of our own, not a crash: ${result.error}`);
          if (/error\.(noCallId|badCallId|noExtension|badExtension)/.test(result.error)) {
            assert.equal(requests.length, 0, "bad input sends no request");
          }
        }
        assert.ok(requests.length <= 1, "at most one request per msg");
        for (const request of requests) {
          requested += 1;
          assert.equal(request.method, "POST");
          assert.equal(request.path, `${API_BASE}answer`);
          const pairs = request.rawQuery.split("&").map((pair) => pair.split("="));
          const names = pairs.map(([name]) => name).sort();
          assert.deepEqual(names, ["answerString", "apiKey", "exten", "uniqueId"]);
          const decoded: Record<string, string> = {};
          for (const pair of pairs) {
            assert.equal(pair.length, 2, `one "=" per parameter: ${request.rawQuery}`);
            assert.match(pair[1], ENCODED, `percent-encoded value: ${pair[1]}`);
            decoded[pair[0]] = decodeURIComponent(pair[1]);
          }
          // The PBX (a servlet: "+" decodes to a space) reads exactly what was meant.
          assert.deepEqual(request.query, decoded);
          assert.match(decoded.uniqueId, UNIQUE_CALL_ID);
          assert.match(decoded.exten, DIALABLE_EXTENSION);
          assert.equal(decoded.answerString, useFixed ? POLYCOM : GRANDSTREAM);
          assert.equal(decoded.apiKey, API_KEY);
          if (useFixed) assert.equal(decoded.exten, "SIP/101");
        }
      }),
      { numRuns: 400, seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined },
    );
    assert.ok(requested > 20, `the generator reaches the PBX often enough (${requested} requests)`);
  });
});
