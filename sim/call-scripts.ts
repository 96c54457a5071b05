/**
 * The call scripts of the traffic generator, one a kind of call: each plays its call's legs on the server, drawing
 * every choice and duration from the call's own seeded generator, and waits on the call (sleep, waitAnswer) so that
 * an API hangup or a stop cuts it short.
 */
import type { CallRun } from "./call-run";
import type { ExtensionPicker } from "./extension-picker";
import type { TrafficLegs } from "./traffic-legs";
import type { TrafficTiming } from "./traffic-options";

export class CallScripts {
  constructor(
    private readonly timing: TrafficTiming,
    private readonly legs: TrafficLegs,
    private readonly picker: ExtensionPicker,
  ) {}

  /** An outside call ringing on an idle extension: answered by the person (or the API), or missed. */
  async inbound(call: CallRun, target: string, missed: boolean): Promise<void> {
    const { rng, summary: s } = call;
    const t = this.timing;
    s.path.push(target);
    const ringStart = Date.now();
    const leg = this.legs.open(call, target, { status: "Ringing", callerId: s.from, canAnswer: true });
    const by = await call.waitAnswer(leg, rng.between(missed ? t.ringTimeoutMs : t.answerMs));
    if (by === "timeout" && missed) return this.ringOut(call, leg, ringStart);
    this.legs.answered(call, leg, by === "api" ? "api" : "phone", ringStart);
    await call.sleep(rng.between(t.talkMs));
    this.legs.hangupAll(call);
  }

  /** An outside call for an extension that is on another call: it does not ring there. */
  async busyInbound(call: CallRun, target: string): Promise<void> {
    const { rng, summary: s } = call;
    s.path.push(target);
    s.outcome = "busy";
    const leg = this.legs.open(call, target, { status: "Busy", callerId: s.from, canAnswer: false });
    await call.sleep(rng.between(this.timing.endDelayMs));
    this.legs.change(call, leg, { status: "Hungup", canAnswer: false, hangupCause: "BUSY" });
  }

  /** An extension calls an outside number; `existing` is a leg the API's dial already created. */
  async outbound(call: CallRun, from: string, number: string, existing?: string): Promise<void> {
    const { rng, summary: s } = call;
    const t = this.timing;
    const dialStart = Date.now();
    const leg = existing ?? this.dialOut(call, from, number);
    const fate = rng.weighted({ answer: 80, noAnswer: 12, busy: 8 });
    if (fate === "busy") {
      await call.sleep(rng.between({ min: 1_000, max: 3_000 }));
      return this.busyTone(call, leg);
    }
    if (fate === "noAnswer") {
      await call.sleep(rng.between(t.ringTimeoutMs));
      s.outcome = "no answer";
      s.ringMs = Date.now() - dialStart;
      this.legs.change(call, leg, { status: "Hungup", hangupCause: "NO_ANSWER" });
      return;
    }
    await call.sleep(rng.between(t.farEndAnswerMs));
    this.legs.answered(call, leg, "far end", dialStart);
    await call.sleep(rng.between(t.talkMs));
    this.legs.hangupAll(call);
  }

  /** One extension calls another; busy when the other is on a call. */
  async internal(call: CallRun, from: string, to: string, existing?: string): Promise<void> {
    const { rng, summary: s } = call;
    const t = this.timing;
    const dialStart = Date.now();
    const caller = existing ?? this.dialOut(call, from, to);
    s.path.push(to);
    if (to === from || !this.legs.isIdle(to)) {
      await call.sleep(rng.between(t.endDelayMs));
      return this.busyTone(call, caller);
    }
    const callee = this.legs.open(call, to, { status: "Ringing", callerId: from, canAnswer: true });
    const missed = rng.chance(0.15);
    const by = await call.waitAnswer(callee, rng.between(missed ? t.ringTimeoutMs : t.answerMs));
    if (by === "timeout" && missed) {
      await this.ringOut(call, callee, dialStart);
      this.legs.change(call, caller, { status: "Hungup", hangupCause: "NO_ANSWER" });
      return;
    }
    this.legs.answered(call, callee, by === "api" ? "api" : "phone", dialStart);
    this.legs.connect(call, caller);
    await call.sleep(rng.between(t.talkMs));
    this.legs.hangupAll(call);
  }

  /** An outside call to a queue: rings a free agent (queue calls cannot be answered through the API), maybe a second. */
  async queue(call: CallRun): Promise<void> {
    const { rng, summary: s } = call;
    const t = this.timing;
    const queueStart = Date.now();
    for (let attempt = 0; attempt < 2; attempt++) {
      const agent = this.picker.pick(rng, (e) => this.legs.isIdle(e) && !s.path.includes(e));
      if (agent === undefined) break;
      s.path.push(agent);
      const noAnswer = rng.chance(attempt === 0 ? 0.4 : 0.25);
      const leg = this.legs.open(call, agent, { status: "Ringing", callerId: s.from, isQueueCall: true, canAnswer: false });
      const by = await call.waitAnswer(leg, rng.between(noAnswer ? t.queueRingMs : t.answerMs));
      if (by === "timeout" && noAnswer) {
        this.legs.change(call, leg, { status: "No Answer" });
        await call.sleep(rng.between(t.endDelayMs));
        this.legs.change(call, leg, { status: "Hungup", hangupCause: "NO_ANSWER" });
        continue;
      }
      this.legs.answered(call, leg, by === "api" ? "api" : "phone", queueStart);
      await call.sleep(rng.between(t.talkMs));
      this.legs.hangupAll(call);
      return;
    }
    s.outcome = s.path.length > 0 ? "missed" : "abandoned";
    s.ringMs = Date.now() - queueStart;
  }

  /**
   * An outside call answered on `first`, which consults another free extension and hands the caller over:
   * the first leg goes Unlinked then Hungup, the target's leg goes Unlinked then Connected to the caller.
   */
  async transfer(call: CallRun, first: string): Promise<void> {
    const { rng, summary: s } = call;
    const t = this.timing;
    s.path.push(first);
    const ringStart = Date.now();
    const callerLeg = this.legs.open(call, first, { status: "Ringing", callerId: s.from, canAnswer: true });
    const by = await call.waitAnswer(callerLeg, rng.between(t.answerMs));
    this.legs.answered(call, callerLeg, by === "api" ? "api" : "phone", ringStart);
    await call.sleep(rng.between(t.transferAfterMs));

    const target = this.picker.pick(rng, (e) => e !== first && this.legs.isIdle(e));
    if (target === undefined) {
      // Nobody free to take the call: it stays an ordinary call.
      await call.sleep(rng.between(t.talkMs));
      this.legs.hangupAll(call);
      return;
    }
    s.path.push(target);
    const consultLeg = this.dialOut(call, first, target);
    const targetLeg = this.legs.open(call, target, { status: "Ringing", callerId: first, canAnswer: true });
    await call.waitAnswer(targetLeg, rng.between(t.consultMs));
    this.legs.connect(call, targetLeg);
    this.legs.connect(call, consultLeg);
    await call.sleep(rng.between(t.consultMs));

    this.legs.change(call, callerLeg, { status: "Unlinked" });
    this.legs.change(call, consultLeg, { status: "Hungup" });
    this.legs.change(call, targetLeg, { status: "Unlinked" });
    this.legs.change(call, targetLeg, { status: "Connected", callerId: s.from });
    this.legs.change(call, callerLeg, { status: "Hungup" });
    s.outcome = "transferred";
    await call.sleep(rng.between(t.talkMs));
    this.legs.hangupAll(call);
  }

  /** Opens the leg of an extension that dials `number`. */
  private dialOut(call: CallRun, from: string, number: string): string {
    return this.legs.open(call, from, { status: "Dialing Out", callerId: number, inbound: false, canAnswer: false });
  }

  /** A ringing leg nobody picks up: No Answer, then Hungup. */
  private async ringOut(call: CallRun, leg: string, ringStart: number): Promise<void> {
    const s = call.summary;
    s.outcome = "missed";
    s.ringMs = Date.now() - ringStart;
    this.legs.change(call, leg, { status: "No Answer", canAnswer: false });
    await call.sleep(call.rng.between(this.timing.endDelayMs));
    this.legs.change(call, leg, { status: "Hungup", canAnswer: false, hangupCause: "NO_ANSWER" });
  }

  /** A dialling leg that finds the other side busy: Busy, then Hungup. */
  private async busyTone(call: CallRun, leg: string): Promise<void> {
    call.summary.outcome = "busy";
    this.legs.change(call, leg, { status: "Busy" });
    await call.sleep(call.rng.between(this.timing.endDelayMs));
    this.legs.change(call, leg, { status: "Hungup", hangupCause: "BUSY" });
  }
}
