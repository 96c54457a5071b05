/**
 * Two chunks' requests and answers held up on their connections around PBX restarts (found by outside reviews), then
 * a crash: a short call made meanwhile still reaches the flow after the restart. The real fake PBX over HTTP; the
 * order is forced by gates a request waits at before it reaches the PBX, or its answer after it was read.
 *
 * - g1: 406's answer at c read after 403's at c + 1 counted a PBX life that never was; 403's cursor of the "older"
 *   life was carried on from 406's, past a short call whose answer was on its way when Node-RED died.
 * - h1: 403's request, sent before 406's answers raised the counter, reached the PBX after its restart; judged only
 *   against what had been answered when it was sent, the restart went unseen and 406's old cursor looked current.
 * - h2: 403's answer of the PBX's old life, read after 406 had found the restart, was labelled with the new life, so
 *   its cursor was polled on from past the new counter.
 */
import assert from "node:assert/strict";
import { NoojeeClient } from "../../nodes/lib/client/api-client";
import { PbxLives } from "../../nodes/lib/poll/pbx-lives";
import type { CallEvent } from "../../nodes/lib/poll/poll-loop";
import type { SubscribeResponse } from "../../nodes/lib/client/types";
import { type HubPosition, SubscriptionHub } from "../../nodes/lib/poll/subscription-hub";
import { FakePbx } from "../fake-pbx";
import { of, type Recorder, recorder } from "./flow-recorder";

describe("PbxLives: the life of an answer's cursor", () => {
  it("an answer below one read before in the same life counts a new life (a restart, or answers crossed)", () => {
    const lives = new PbxLives();
    const first = lives.sent();
    const second = lives.sent();
    assert.equal(lives.answered(21, second), 0);
    assert.equal(lives.answered(20, first), 1);
    assert.equal(lives.answered(25, lives.sent()), 1);
  });

  it("an answer to a request sent before a newer life was found is of the life it was sent in", () => {
    const lives = new PbxLives();
    lives.answered(100, lives.sent());
    const before = lives.sent();
    lives.answered(3, lives.sent()); // a restart, seen by another loop
    assert.equal(lives.answered(150, before), 0, "the old life's, read late");
    assert.equal(lives.answered(4, lives.sent()), 1, "4 after 3 in the new life is no restart: 150 raised nothing");
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

/** A client whose next request or answer of an extension's chunk can be held up on its way (a slow connection). */
class SlowLinks {
  readonly api: NoojeeClient;
  /** Per extension: the next request waits there before it reaches the PBX. */
  readonly sends = new Map<string, Gate>();
  /** Per extension: the next answer waits there once read. */
  readonly answers = new Map<string, Gate>();
  private readonly read = new Map<string, Array<() => void>>();

  constructor(pbx: FakePbx) {
    const real = new NoojeeClient({ origin: pbx.url, apiKey: pbx.apiKey, verifyTls: false, authMode: "apiKey" });
    this.api = Object.create(real) as NoojeeClient;
    this.api.subscribe = async (extensions, last, timeOut, signal): Promise<SubscribeResponse> => {
      await this.pass(this.sends, extensions, signal);
      const response = await real.subscribe(extensions, last, timeOut, signal);
      for (const extension of extensions) for (const done of this.read.get(extension)?.splice(0) ?? []) done();
      await this.pass(this.answers, extensions, signal);
      return response;
    };
  }

  /** Resolves once an answer for this extension has been read from the PBX (held or not). */
  answerRead(extension: string): Promise<void> {
    return new Promise((resolve) => this.read.set(extension, [...(this.read.get(extension) ?? []), resolve]));
  }

  private async pass(gates: Map<string, Gate>, extensions: readonly string[], signal: AbortSignal | undefined): Promise<void> {
    for (const extension of extensions) {
      const held = gates.get(extension);
      gates.delete(extension);
      // Aborted meanwhile (the hub closing): the request fails, as one cut on its way does.
      if (held) await Promise.race([held.opened, aborted(signal)]);
    }
  }
}


describe("SubscriptionHub: chunks' requests and answers held up on their way around restarts, then a crash", () => {
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

  /** A hub on two chunks (403 | 406), each past its first read and holding a poll; the last position it stored. */
  async function start(links: SlowLinks): Promise<{ a: Recorder; b: Recorder; kill(): HubPosition; warnings: string[] }> {
    pbx.bumpSeq(20);
    const from = String(pbx.seq);
    let saved: HubPosition | undefined;
    const store = { save: (capture: () => HubPosition | undefined) => (saved = structuredClone(capture()) ?? saved) };
    let alive = true;
    const a = recorder(["403"], () => alive);
    const b = recorder(["406"], () => alive);
    const warnings: string[] = [];
    const hub = new SubscriptionHub(links.api, { store, maxExtenBytes: 3, onWarning: (m) => warnings.push(m) }); // a chunk each
    hubs.push(hub);
    hub.register("a", a);
    hub.register("b", b);
    hub.releaseLingering();
    const polling = (extension: string) => (r: { path: string; query: Record<string, string> }): boolean =>
      r.path.endsWith("/subscribe") && r.query.exten === extension && r.query.lastSequenceNumber === from;
    await Promise.all(["403", "406"].map((extension) => pbx.waitForRequest(polling(extension))));
    return {
      a,
      b,
      warnings,
      kill: () => {
        alive = false;
        assert.ok(saved, "a position was stored");
        return saved;
      },
    };
  }

  /** Node-RED started again on `position`: resolves once `id`'s Hungup reached the flow of `extension`'s node. */
  async function resume(position: HubPosition, extension: string, id: string): Promise<CallEvent[]> {
    const a = recorder(["403"]);
    const b = recorder(["406"]);
    const hub = new SubscriptionHub(new SlowLinks(pbx).api, { position, maxExtenBytes: 3 });
    hubs.push(hub);
    hub.register("a", a);
    hub.register("b", b);
    hub.releaseLingering();
    const flow = extension === "403" ? a : b;
    await flow.waitFor(of(id, "Hungup"));
    return flow.events.filter(of(id));
  }

  it("g1: answers crossed, no restart: the short call on the chunk read first, in transit at the kill, is sent", async () => {
    const links = new SlowLinks(pbx);
    const { a, b, kill } = await start(links);
    // 406's answer is held on its way; 403's, with a higher seq, is read first.
    const late406 = gate();
    links.answers.set("406", late406);
    const read406 = links.answerRead("406");
    const w6 = pbx.startCall("406");
    await read406;
    const w3 = pbx.startCall("403");
    await a.waitFor(of(w3));
    late406.open();
    await b.waitFor(of(w6));
    // A short call on 403 whose answer is still on its way when Node-RED dies; 406 goes on, its cursor past it.
    links.answers.set("403", gate()); // never opened
    const z = pbx.startCall("403");
    pbx.update("403", z, { status: "Hungup" });
    pbx.update("406", w6, { status: "Connected" });
    await b.waitFor(of(w6, "Connected"));
    pbx.bumpSeq(3);
    pbx.update("406", w6, { status: "Hungup" });
    await b.waitFor(of(w6, "Hungup"));
    assert.ok(!a.events.some(of(z)), "the short call had not reached the flow before the kill");
    const sent = await resume(kill(), "403", z);
    assert.deepEqual(sent.map((e) => e.data.status), ["Ringing", "Hungup"], "every change of the short call");
  });

  it("h1: a request sent before the counter climbed, answered after a PBX restart, shows the restart", async () => {
    const links = new SlowLinks(pbx);
    const { a, b, kill } = await start(links);
    // 403's next request waits on its way to the PBX while 406's answers raise the counter.
    const send403 = gate();
    links.sends.set("403", send403);
    const x = pbx.startCall("403");
    await a.waitFor(of(x));
    const w = pbx.startCall("406");
    pbx.bumpSeq(40);
    pbx.update("406", w, { status: "Connected" });
    await b.waitFor(of(w, "Connected"));
    // The PBX restarts; 406's next request is slow to reach it. 403's reaches the new life.
    links.sends.set("406", gate()); // never opened
    pbx.restart(); // ends 406's held poll without an answer: its next request waits on its way
    pbx.bumpSeq(5);
    const y = pbx.startCall("403");
    send403.open();
    await a.waitFor(of(y));
    const position = kill();
    // While Node-RED is down: a short call on 406.
    const s = pbx.startCall("406");
    pbx.update("406", s, { status: "Hungup" });
    pbx.bumpSeq(30 - pbx.seq);
    const sent = await resume(position, "406", s);
    assert.deepEqual(sent.map((e) => e.data.status), ["Ringing", "Hungup"], "every change of the short call");
  });

  it("h2: an answer of the PBX's old life read after the restart was found does not pass for the new life", async () => {
    const links = new SlowLinks(pbx);
    const { a, b, kill, warnings } = await start(links);
    const x = pbx.startCall("403");
    await a.waitFor(of(x));
    const w = pbx.startCall("406");
    pbx.bumpSeq(40);
    pbx.update("406", w, { status: "Connected" });
    await b.waitFor(of(w, "Connected"));
    // 403's answer of the old life (X connected) is held on its way; the PBX restarts right after giving it.
    const late403 = gate();
    links.answers.set("403", late403);
    const read403 = links.answerRead("403");
    pbx.update("403", x, { status: "Connected" });
    await read403;
    pbx.restart();
    pbx.bumpSeq(3);
    // 406's loop finds the restart; then the old answer arrives, and 403's next request is slow to reach the PBX.
    await until(() => warnings.some((m) => /went back/.test(m)));
    links.sends.set("403", gate()); // never opened
    late403.open();
    await a.waitFor(of(x, "Connected"));
    const position = kill();
    // While Node-RED is down: a short call on 403.
    const s = pbx.startCall("403");
    pbx.update("403", s, { status: "Hungup" });
    pbx.bumpSeq(30 - pbx.seq);
    const sent = await resume(position, "403", s);
    assert.deepEqual(sent.map((e) => e.data.status), ["Ringing", "Hungup"], "every change of the short call");
  });
});

/** Resolves once `condition` holds (checked on each turn of the event loop; the test's timeout bounds it). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}
