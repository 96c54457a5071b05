/**
 * Two chunks' answers read out of order (one held up on its connection) are no PBX restart. Found by an outside
 * review: the hub counted a PBX life whenever an answer's seq was below one answered before, by any loop, so 406's
 * answer at c read after 403's at c + 1 made a life that never was; 403's cursor, of the "older" life, was then stale
 * after a crash and carried on from 406's, past a short call whose answer was on its way when Node-RED died. The real
 * fake PBX over HTTP; the order is forced by holding one answer until the other has reached its subscriber.
 */
import assert from "node:assert/strict";
import { NoojeeClient } from "../../nodes/lib/client/api-client";
import { PbxLives } from "../../nodes/lib/poll/pbx-lives";
import type { CallEvent } from "../../nodes/lib/poll/poll-loop";
import type { SubscribeResponse } from "../../nodes/lib/client/types";
import { type HubPosition, type Subscriber, SubscriptionHub } from "../../nodes/lib/poll/subscription-hub";
import { FakePbx } from "../fake-pbx";

describe("PbxLives: a new life only from an answer below what was answered before its request went out", () => {
  it("answers of two loops read out of order count no life; a counter gone back does", () => {
    const lives = new PbxLives();
    const first = lives.sent();
    const second = lives.sent();
    lives.answered(21, second);
    lives.answered(20, first); // sent before 21 was read: the PBX may have answered it first
    assert.equal(lives.current, 0);
    lives.answered(5, lives.sent()); // asked after 21 was read: the counter went back
    assert.equal(lives.current, 1);
  });

  it("an answer to a request sent before another loop found a new life tells nothing (it may be of either)", () => {
    const lives = new PbxLives();
    lives.answered(100, lives.sent());
    const before = lives.sent();
    lives.answered(3, lives.sent()); // a restart, seen by another loop
    assert.equal(lives.current, 1);
    lives.answered(150, before); // the old life's, read late: must not raise the new life's high mark
    lives.answered(4, lives.sent());
    assert.equal(lives.current, 1, "4 after 3 in the new life is no restart");
  });
});

interface Gate {
  open(): void;
  opened: Promise<void>;
}
const gate = (): Gate => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
};

const aborted = (signal: AbortSignal | undefined): Promise<never> =>
  new Promise((_, reject) => signal?.addEventListener("abort", () => reject(new Error("aborted")), { once: true }));

type Recorder = Subscriber & { events: CallEvent[]; waitFor(pred: (e: CallEvent) => boolean): Promise<void> };
function recorder(extensions: string[], alive: () => boolean): Recorder {
  const events: CallEvent[] = [];
  const waiters: Array<{ pred: (e: CallEvent) => boolean; resolve: () => void }> = [];
  return {
    extensions,
    timeoutSec: 30,
    events,
    onStatus: () => undefined,
    onEvent(event) {
      if (!alive()) return; // the process is dead: nothing reaches its flow
      events.push(event);
      for (const w of [...waiters]) {
        if (!w.pred(event)) continue;
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    },
    waitFor(pred) {
      if (events.some(pred)) return Promise.resolve();
      return new Promise((resolve) => waiters.push({ pred, resolve }));
    },
  };
}

describe("SubscriptionHub: answers of two chunks read out of order, then a crash", () => {
  let pbx: FakePbx;
  const hubs: SubscriptionHub[] = [];
  beforeEach(async () => {
    pbx = new FakePbx({ minPollMs: 5 });
    await pbx.start();
  });
  afterEach(async () => {
    await Promise.all(hubs.splice(0).map((hub) => hub.close()));
    await pbx.stop();
  });

  it("the short call on the chunk read first, in transit at the kill, reaches the flow after the restart", async () => {
    const real = new NoojeeClient({ origin: pbx.url, apiKey: pbx.apiKey, verifyTls: false, authMode: "apiKey" });
    /** Per extension: a gate the next answer of its chunk waits at, once read (a slow connection). */
    const holds = new Map<string, Gate>();
    const api = Object.create(real) as NoojeeClient;
    api.subscribe = async (extensions, last, timeOut, signal): Promise<SubscribeResponse> => {
      const response = await real.subscribe(extensions, last, timeOut, signal);
      for (const extension of extensions) {
        const held = holds.get(extension);
        holds.delete(extension);
        // Aborted meanwhile (the hub closing): the request fails, as one cut on its way does.
        if (held) await Promise.race([held.opened, aborted(signal)]);
      }
      return response;
    };
    let saved: HubPosition | undefined;
    const store = { save: (capture: () => HubPosition | undefined) => (saved = structuredClone(capture()) ?? saved) };
    let alive = true;
    const a1 = recorder(["403"], () => alive);
    const b1 = recorder(["406"], () => alive);
    pbx.bumpSeq(20);
    const from = String(pbx.seq);
    const hub1 = new SubscriptionHub(api, { store, maxExtenBytes: 3 }); // one chunk per extension
    hubs.push(hub1);
    hub1.register("a", a1);
    hub1.register("b", b1);
    hub1.releaseLingering();
    // Both chunks past their first read, each holding a poll from the counter.
    const polling = (extension: string) => (r: { path: string; query: Record<string, string> }): boolean =>
      r.path.endsWith("/subscribe") && r.query.exten === extension && r.query.lastSequenceNumber === from;
    await Promise.all(["403", "406"].map((extension) => pbx.waitForRequest(polling(extension))));
    await pbx.waitForPolls(2);

    // 406's answer is held on its way; 403's, with a higher seq, is read first.
    const late406 = gate();
    holds.set("406", late406);
    const w6 = pbx.startCall("406");
    await pbx.waitForPolls(1); // 406's poll was answered (and is held in transit)
    const w3 = pbx.startCall("403");
    await a1.waitFor((e) => e.data.uniqueCallId === w3);
    late406.open();
    await b1.waitFor((e) => e.data.uniqueCallId === w6);

    // A short call on 403 whose answer is still on its way when Node-RED dies; 406 goes on, its cursor past it.
    holds.set("403", gate()); // never opened
    const z = pbx.startCall("403");
    pbx.update("403", z, { status: "Hungup" });
    pbx.update("406", w6, { status: "Connected" });
    await b1.waitFor((e) => e.data.uniqueCallId === w6 && e.data.status === "Connected");
    pbx.bumpSeq(3);
    pbx.update("406", w6, { status: "Hungup" });
    await b1.waitFor((e) => e.data.uniqueCallId === w6 && e.data.status === "Hungup");
    assert.ok(!a1.events.some((e) => e.data.uniqueCallId === z), "the short call had not reached the flow before the kill");
    alive = false;
    const position = saved;
    assert.ok(position, "a position was stored");
    assert.ok(
      position.polls.every((p) => (p.life ?? 0) === 0),
      `no PBX restart happened, so every cursor is of one life: ${JSON.stringify(position.polls)}`,
    );

    const a2 = recorder(["403"], () => true);
    const b2 = recorder(["406"], () => true);
    const hub2 = new SubscriptionHub(new NoojeeClient({ origin: pbx.url, apiKey: pbx.apiKey, verifyTls: false, authMode: "apiKey" }), { position, maxExtenBytes: 3 });
    hubs.push(hub2);
    hub2.register("a", a2);
    hub2.register("b", b2);
    hub2.releaseLingering();
    await a2.waitFor((e) => e.data.uniqueCallId === z && e.data.status === "Hungup");
    assert.deepEqual(
      a2.events.filter((e) => e.data.uniqueCallId === z).map((e) => e.data.status),
      ["Ringing", "Hungup"],
      "every change of the short call",
    );
  });
});
