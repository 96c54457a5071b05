/**
 * noojee-subscribe with more extensions than one request URL can carry: the config node's hub splits them into
 * several long polls, each with its own seq, over real HTTP to the fake PBX.
 */
import assert from "node:assert/strict";
import { MAX_URL_LENGTH } from "../../nodes/lib/client/api-client";
import { FakePbx } from "../fake-pbx";
import { API_KEY, configFlowNode, credentials, helper, nodes, Sent, subscribeFlowNodes, until } from "./support";

const range = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => String(from + i));

describe("noojee-subscribe: extensions in several polls", function () {
  this.timeout(30_000);
  let pbx: FakePbx;

  beforeEach(async () => {
    pbx = new FakePbx({ apiKey: API_KEY });
    await pbx.start();
  });

  afterEach(async () => {
    await helper.unload();
    await pbx.stop();
  });

  it("polls two chunks of 1,200 extensions concurrently, each URL short and each with its own seq, losing nothing", async () => {
    const extensions = range(1000, 1200);
    await helper.load(
      nodes,
      [configFlowNode(pbx.url), ...subscribeFlowNodes("a", extensions.slice(0, 600).join(",")), ...subscribeFlowNodes("b", extensions.slice(600).join(","))],
      credentials(),
    );
    const a = new Sent(helper.getNode("a"));
    const b = new Sent(helper.getNode("b"));
    const held = () => pbx.subscribeRequests().slice(-2);
    await until(() => pbx.openPolls() === 2 && held().every((r) => r.query.lastSequenceNumber !== "0"), "two held long polls");
    const chunks = held().map((r) => r.query.exten.split(","));
    assert.deepEqual(chunks.flat().sort(), [...extensions].sort(), "each extension in exactly one poll");
    for (const r of pbx.subscribeRequests()) {
      const url = `${pbx.url}${r.path}?${r.rawQuery}`;
      assert.ok(url.length <= MAX_URL_LENGTH, `URL of ${url.length} characters`);
    }

    // Bursts on both chunks, interleaved, while both polls are held and re-polled: the global seq moves for each
    // poll by the other's events too.
    const expected = new Map<string, string>();
    for (let burst = 0; burst < 10; burst++) {
      for (const chunk of chunks) {
        for (let i = 0; i < 5; i++) {
          const exten = chunk[(burst * 53 + i * 17) % chunk.length];
          expected.set(pbx.startCall(exten), exten);
        }
      }
      await new Promise((r) => setTimeout(r, burst % 3 === 0 ? 0 : 5));
    }
    const received = () => [...a.payloads(), ...b.payloads()];
    await until(() => received().length >= expected.size, `${expected.size} msgs`, 10_000);
    await new Promise((r) => setTimeout(r, 50));
    const ids = received().map((p) => `${String(p.uniqueCallId)}@${String(p.extension)}`).sort();
    assert.deepEqual(ids, [...expected].map(([id, exten]) => `${id}@${exten}`).sort(), "every event once, none lost");

    // Each chunk sent back exactly the seq of its own previous answer, never the other's.
    const byChunk = new Map<string, typeof pbx.answers>();
    for (const answer of pbx.answers) byChunk.set(answer.exten, [...(byChunk.get(answer.exten) ?? []), answer]);
    assert.equal(byChunk.size, 2, "answers went to two extension sets");
    const [first, second] = [...byChunk.values()];
    for (const answers of [first, second]) {
      for (let i = 1; i < answers.length; i++) assert.equal(answers[i].last, answers[i - 1].seq, `answer ${i} of its chunk`);
    }
    assert.ok(first.length > 2 && second.length > 2, "both chunks were answered several times");

    // Events on the first chunk alone move its cursor, not the second's.
    const heldOf = (chunk: string[]) =>
      pbx.subscribeRequests().filter((r) => r.query.exten === chunk.join(",")).at(-1)?.query.lastSequenceNumber;
    const before = heldOf(chunks[1]);
    const count = received().length;
    pbx.startCall(chunks[0][0]);
    await until(() => received().length === count + 1 && pbx.openPolls() === 2, "the event and both polls held again");
    assert.equal(heldOf(chunks[0]), String(pbx.seq));
    assert.equal(heldOf(chunks[1]), before, "the other chunk's poll still waits with its own seq");
    assert.notEqual(heldOf(chunks[0]), heldOf(chunks[1]));
  });
});
