/**
 * The traffic generator's legs on the server: opening and changing them through the server's public methods, which
 * call each leg belongs to, and how many legs of generated calls each extension holds (an extension only rings when
 * it holds none).
 */
import type { CallRun, LegState } from "./call-run";
import { pbxTimestamp } from "./pbx-formats";
import type { PbxServer } from "./pbx-server";
import type { CallData } from "./pbx-types";

/** The Hungup that ends a leg cut short in `status`: a cause only for a leg that never connected. */
function finalHangup(status: string): Partial<CallData> {
  switch (status) {
    case "Connected":
    case "Unlinked":
      return { status: "Hungup", canAnswer: false };
    case "No Answer":
      return { status: "Hungup", canAnswer: false, hangupCause: "NO_ANSWER" };
    case "Busy":
      return { status: "Hungup", canAnswer: false, hangupCause: "BUSY" };
    default:
      return { status: "Hungup", canAnswer: false, hangupCause: "DISCONNECTED" };
  }
}

export class TrafficLegs {
  private readonly legCall = new Map<string, CallRun>();
  /** Legs of generated calls in progress per extension, counted until their final Hungup. */
  private readonly held = new Map<string, number>();

  constructor(private readonly server: PbxServer) {}

  /** True when no leg is in progress on the extension (neither a generated one nor any other). */
  isIdle(exten: string): boolean {
    return (this.held.get(exten) ?? 0) === 0 && this.server.legsOf(exten).length === 0;
  }

  /** The call a leg in progress belongs to. */
  callOf(uniqueCallId: string): CallRun | undefined {
    return this.legCall.get(uniqueCallId);
  }

  /** Opens a leg of the call on `exten` through the server. */
  open(call: CallRun, exten: string, init: Partial<CallData>): string {
    const id = this.server.startCall(exten, {
      callerId: "",
      callStartTime: "",
      canAnswer: false,
      inbound: true,
      isQueueCall: false,
      isClickToDialCall: false,
      ...init,
    });
    this.adopt(call, id, exten);
    const leg = call.legs.get(id);
    if (leg && leg.data.status === "Hungup") this.release(id, leg);
    return id;
  }

  /** Makes a leg the server already has (e.g. one the API dialled) a leg of the call. */
  adopt(call: CallRun, id: string, exten: string): void {
    const data = this.server.leg(id) ?? this.lastReported(id, exten);
    call.legs.set(id, { exten, data, ended: false });
    call.summary.legs.push(id);
    this.legCall.set(id, call);
    this.held.set(exten, (this.held.get(exten) ?? 0) + 1);
  }

  /** A leg that already left the current state (e.g. one that started as Busy): its last event. */
  private lastReported(id: string, exten: string): CallData {
    const events = this.server.events;
    for (let i = events.length - 1; i >= 0; i--) {
      const ev = events[i];
      if (ev.exten === exten && ev.entry.CallData.uniqueCallId === id) return { ...ev.entry.CallData };
    }
    return { uniqueCallId: id, status: "Hungup" };
  }

  /** Reports a change of one of the call's legs; a Hungup ends the leg. */
  change(call: CallRun, id: string, patch: Partial<CallData>): void {
    const leg = call.legs.get(id);
    if (!leg || leg.ended) return;
    const base = this.server.leg(id) ?? leg.data;
    const data = { ...base, ...patch, uniqueCallId: id } as CallData;
    leg.data = data;
    this.server.emit(leg.exten, data);
    if (data.status === "Hungup") this.release(id, leg);
  }

  release(id: string, leg: LegState): void {
    if (leg.ended) return;
    leg.ended = true;
    this.legCall.delete(id);
    const n = (this.held.get(leg.exten) ?? 1) - 1;
    if (n <= 0) this.held.delete(leg.exten);
    else this.held.set(leg.exten, n);
  }

  /** Connects a leg unless the API already did. */
  connect(call: CallRun, id: string): void {
    const current = this.server.leg(id);
    if (current?.status === "Connected") return;
    this.change(call, id, { status: "Connected", canAnswer: false, callStartTime: pbxTimestamp() });
  }

  /** Records who answered, connects the leg, starts the talk time. */
  answered(call: CallRun, id: string, by: "api" | "phone" | "far end", ringStart: number): void {
    this.connect(call, id);
    const s = call.summary;
    s.outcome = "answered";
    s.answeredBy = by;
    s.answeredAfterMs = Date.now() - ringStart;
    call.connectedAt = Date.now();
  }

  /** Hangs up every leg of the call still in progress: the end of a conversation. */
  hangupAll(call: CallRun): void {
    for (const [id, leg] of call.legs) {
      if (!leg.ended) this.change(call, id, { status: "Hungup", canAnswer: false });
    }
  }


  /** A call cut short (hung up through the API, or failed): its legs still in progress hang up too. */
  hangupCutShort(call: CallRun): void {
    for (const [id, leg] of call.legs) {
      if (!leg.ended) this.change(call, id, finalHangup(this.server.leg(id)?.status ?? leg.data.status));
    }
  }

  /** The call is over: none of its legs counts as held any more. */
  releaseAll(call: CallRun): void {
    for (const [id, leg] of call.legs) {
      if (!leg.ended) this.release(id, leg);
    }
  }
}
