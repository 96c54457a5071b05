/**
 * The hub's start while its context store keeps it waiting for the saved position (issue 23 item 4), over real HTTP
 * to the fake PBX: a call that rings and ends during the 3 minutes of waiting reaches the flow when the store gives
 * up (the polls carry on from a read taken early in the wait, early-read.ts), a position the store gives in the end
 * still wins (nothing sent twice), and a PBX restart during the wait is resynchronised. The 3 minutes run on sinon's
 * fake clock (only setTimeout/clearTimeout: sockets keep real time).
 */
import assert from "node:assert/strict";
import sinon from "sinon";
import { NoojeeClient } from "../../nodes/lib/client/api-client";
import { type ContextAccess, ContextPosition, READ_FOR_MS } from "../../nodes/lib/poll/context-position";
import { serialisePosition } from "../../nodes/lib/poll/position-format";
import type { CallEvent } from "../../nodes/lib/poll/poll-loop";
import { type HubPosition, type Subscriber, SubscriptionHub } from "../../nodes/lib/poll/subscription-hub";
import { FakePbx } from "../fake-pbx";

const KEY = "wait-key-3c9d1f20-b7e4";
const HOUR = 3_600_000;

/** True once `check` holds, yielding to real I/O in between (sockets are not on the fake clock); false if it never does. */
async function within(check: () => boolean): Promise<boolean> {
  for (let i = 0; i < 2000; i++) {
    if (check()) return true;
    await new Promise((r) => setImmediate(r));
  }
  return false;
}

async function until(check: () => boolean, what: string): Promise<void> {
  if (!(await within(check))) throw new Error(`never happened: ${what}`);
}

/** A context store whose reads answer only from the `answerFrom`-th on (never, by default); writes are kept. */
class WaitingContext implements ContextAccess {
  gets = 0;
  readonly written: unknown[] = [];
  constructor(private readonly value?: unknown, private readonly answerFrom = Infinity) {}

  get(_key: string, _store: string, callback: (err: Error | null | undefined, value?: unknown) => void): void {
    this.gets += 1;
    if (this.gets >= this.answerFrom) setImmediate(() => callback(null, this.value));
  }

  set(_key: string, value: unknown, _store: string, callback: (err?: Error | null) => void): void {
    this.written.push(value);
    setImmediate(() => callback(null));
  }
}

describe("SubscriptionHub over HTTP: a context store that keeps the start waiting", function () {
  let pbx: FakePbx;
  let client: NoojeeClient;
  let hub: SubscriptionHub | undefined;
  let clock: sinon.SinonFakeTimers;
  const warnings: string[] = [];

  beforeEach(async () => {
    warnings.length = 0;
    pbx = new FakePbx({ apiKey: KEY });
    await pbx.start();
    client = new NoojeeClient({ origin: pbx.url, apiKey: KEY, verifyTls: true });
    clock = sinon.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
  });

  afterEach(async () => {
    await hub?.close();
    hub = undefined;
    clock.restore();
    client.close();
    await pbx.stop();
  });

  function start(context: WaitingContext, extensions: string[]): CallEvent[] {
    const writer = new ContextPosition({ context, store: "disk", host: pbx.url, authMode: "apiKey", onWarning: (w) => warnings.push(w) });
    const position = writer.load(HOUR).then((loaded) => loaded.position);
    hub = new SubscriptionHub(client, { position, store: writer, random: () => 0, onWarning: (w) => warnings.push(w) });
    const events: CallEvent[] = [];
    const subscriber: Subscriber = { extensions, timeoutSec: 30, onEvent: (e) => events.push(e), onStatus: () => undefined };
    hub.register("a", subscriber);
    hub.releaseLingering();
    return events;
  }

  /** The PBX has answered the read the hub takes while it waits (a call made after it is after its seq). */
  async function earlyRead(): Promise<void> {
    await clock.tickAsync(1500);
    await until(() => pbx.answers.some((a) => a.snapshot), "the read taken while waiting");
  }

  /** A minute into the wait (any request the hub made meanwhile answered). */
  async function aMinuteIn(): Promise<void> {
    await clock.tickAsync(1500);
    await within(() => pbx.answers.length > 0 && pbx.openPolls() === 0);
    await clock.tickAsync(60_000 - 1500);
  }

  /** Every event once the hub holds a long poll again (all it had to send has been sent). */
  async function quiet(): Promise<void> {
    await until(() => pbx.openPolls() === 1 && pbx.subscribeRequests().at(-1)?.query.timeOut !== "0", "a held long poll");
  }

  const seen = (events: CallEvent[]) => events.map((e) => `${e.extension}:${e.data.uniqueCallId}:${e.data.status}:${e.initial}`);

  it("a call that rings and ends while the store keeps the start waiting reaches the flow when the store gives up", async () => {
    const context = new WaitingContext(); // never answers
    const events = start(context, ["410"]);
    await aMinuteIn();
    const call = pbx.startCall("410");
    pbx.update("410", call, { status: "Hungup", hangupCause: "NO_ANSWER" });
    await clock.tickAsync(READ_FOR_MS - 62_000);
    assert.deepEqual(context.written, [], "nothing is written while the store is read");
    await clock.tickAsync(2000);
    await hub?.ready();
    await until(() => events.some((e) => e.data.status === "Hungup"), "the call made during the wait");
    await quiet();
    assert.deepEqual(events.map((e) => `${e.data.uniqueCallId}:${e.data.status}`), [`${call}:Ringing`, `${call}:Hungup`]);
  });

  it("the calls in progress when the wait began go out as in progress, then what changed since", async () => {
    const before = pbx.startCall("410", { callerId: "0411000001" }); // rang while Node-RED was down
    const still = pbx.startCall("420", { callerId: "0411000002" });
    const events = start(new WaitingContext(), ["410", "420"]);
    await earlyRead();
    pbx.update("410", before, { status: "Connected" });
    await clock.tickAsync(READ_FOR_MS);
    await until(() => events.some((e) => e.data.status === "Connected"), "the change during the wait");
    await quiet();
    assert.deepEqual(seen(events).sort(), [`410:${before}:Connected:false`, `410:${before}:Ringing:true`, `420:${still}:Ringing:true`]);
    const connected = events.find((e) => e.data.status === "Connected");
    assert.equal(connected?.afterOutage, true, "it happened at an unknown moment of the wait");
  });

  it("a position the store gives in the end wins: every change since it, once, and nothing of the early read", async () => {
    const saved: HubPosition = { polls: [{ seq: pbx.seq, extensions: ["410"], fences: {} }], legs: [] };
    const value = JSON.parse(serialisePosition(saved, { host: pbx.url, authMode: "apiKey" }, Date.now(), 1 << 20)) as unknown;
    const down = pbx.startCall("410"); // while Node-RED was down: in progress at the early read
    const context = new WaitingContext(value, 2); // the first read is silent; the second, 11 s in, answers
    const events = start(context, ["410"]);
    await earlyRead();
    const during = pbx.startCall("410");
    pbx.update("410", during, { status: "Hungup" });
    await clock.tickAsync(11_000);
    await hub?.ready();
    assert.equal(context.gets, 2);
    await until(() => events.some((e) => e.data.status === "Hungup"), "the changes since the saved position");
    await quiet();
    assert.deepEqual(seen(events), [`410:${down}:Ringing:false`, `410:${during}:Ringing:false`, `410:${during}:Hungup:false`]);
    assert.ok(events.every((e) => e.afterOutage), "all of them happened before they arrived");
  });

  it("a position from before a PBX restart (its cursor above the early read's seq) carries on from that read", async () => {
    pbx.bumpSeq(500);
    const saved: HubPosition = { polls: [{ seq: pbx.seq, extensions: ["410"], fences: {} }], legs: [] };
    const value = JSON.parse(serialisePosition(saved, { host: pbx.url, authMode: "apiKey" }, Date.now(), 1 << 20)) as unknown;
    pbx.restart(); // while Node-RED was down
    const context = new WaitingContext(value, 2); // the first read is silent; the second, 11 s in, answers
    const events = start(context, ["410"]);
    await earlyRead();
    const during = pbx.startCall("410"); // after the restarted PBX's first answer: in the position's place, nothing lost
    pbx.update("410", during, { status: "Hungup", hangupCause: "NO_ANSWER" });
    await clock.tickAsync(11_000);
    await hub?.ready();
    await until(() => events.some((e) => e.data.status === "Hungup"), "the call made after the early read");
    await quiet();
    assert.deepEqual(seen(events), [`410:${during}:Ringing:false`, `410:${during}:Hungup:false`]);
    assert.ok(pbx.subscribeRequests().every((r) => Number(r.query.lastSequenceNumber) < 500), "never polled from the previous life's cursor");
  });

  it("a PBX restarted during the wait is resynchronised, never deaf", async () => {
    pbx.bumpSeq(500);
    const events = start(new WaitingContext(), ["410"]);
    await earlyRead();
    pbx.restart();
    const after = pbx.startCall("410"); // in the PBX's new life, still ringing at the end of the wait
    await clock.tickAsync(READ_FOR_MS);
    await until(() => events.some((e) => e.data.uniqueCallId === after), "the call of the new life");
    assert.ok(warnings.some((w) => /sequence went back/.test(w)), warnings.join("\n"));
    await quiet();
    const next = pbx.startCall("410");
    await until(() => events.some((e) => e.data.uniqueCallId === next), "a call after the resynchronisation");
    assert.deepEqual(seen(events).map((line) => line.split(":").slice(1, 3).join(":")), [`${after}:Ringing`, `${next}:Ringing`]);
  });
});
