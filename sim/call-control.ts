/**
 * The call control endpoints: answer, hangup, dial, and start/stop (recording). Each checks its parameters, changes
 * the call legs, keeps a log of what it accepted, and says which ApiAction to report.
 */
import { randomUUID } from "node:crypto";
import { CODE_BAD_PARAM, CODE_NOT_FOUND, CODE_REFUSED } from "./api-codes";
import type { CallLegs, Leg } from "./call-legs";
import { pbxTimestamp, stripTech } from "./pbx-formats";
import type { AnsweredCall, ApiAction, CallData, DialRecord, RecordingRecord } from "./pbx-types";
import { trimBatch } from "./trim-batch";

/** The envelope to answer, and the action to report once it is sent. */
export interface ControlResult {
  body: object;
  action?: ApiAction;
}

/** How the endpoints change calls: through the server, so that every change is counted, logged and heard. */
export interface CallChanges {
  emit(exten: string, data: CallData): void;
  startCall(exten: string, init: Partial<CallData>): string;
}

export class CallControl {
  /** Accepted requests, oldest first (each bounded by maxRequests). */
  readonly answered: AnsweredCall[] = [];
  readonly dialed: DialRecord[] = [];
  readonly recordings: RecordingRecord[] = [];

  constructor(
    private readonly legs: CallLegs,
    private readonly changes: CallChanges,
    private readonly maxRequests: number,
  ) {}

  answer(q: Record<string, string>): ControlResult {
    const uniqueId = q.uniqueId;
    const exten = q.exten;
    if (!uniqueId || !exten) return { body: { Message: "Missing parameter: uniqueId and exten are required", Code: CODE_BAD_PARAM } };
    const leg = this.legs.get(uniqueId);
    if (!leg) return { body: { Message: `No call found with uniqueId ${uniqueId}`, Code: CODE_NOT_FOUND } };
    if (stripTech(exten) !== leg.exten) return { body: { Message: `Call ${uniqueId} is not ringing on ${exten}`, Code: CODE_REFUSED } };
    if (leg.data.status !== "Ringing" || leg.data.canAnswer === false) {
      return { body: { Message: `Call ${uniqueId} cannot be answered (${leg.data.status})`, Code: CODE_REFUSED } };
    }
    this.changes.emit(leg.exten, { ...leg.data, status: "Connected", canAnswer: false, callStartTime: pbxTimestamp() });
    this.answered.push({ uniqueId, exten, answerString: q.answerString });
    trimBatch(this.answered, this.maxRequests);
    return {
      body: { Message: "Call answered", Code: 0 },
      action: { method: "answer", uniqueCallId: uniqueId, exten: leg.exten, answerString: q.answerString },
    };
  }

  hangup(q: Record<string, string>): ControlResult {
    const target = q.extenOrUniqueId;
    if (!target) return { body: { Message: "Missing parameter: extenOrUniqueId", Code: CODE_BAD_PARAM } };
    const leg = this.target(target);
    if (!leg) return { body: { Message: `No channel found for ${target}`, Code: CODE_NOT_FOUND } };
    this.changes.emit(leg.exten, { ...leg.data, status: "Hungup", canAnswer: false });
    return {
      body: { Message: "Channel Hungup", Code: 0 },
      action: { method: "hangup", uniqueCallId: leg.data.uniqueCallId, exten: leg.exten, target },
    };
  }

  dial(q: Record<string, string>): ControlResult {
    const number = q.number;
    const from = q.extenOrUniqueId;
    if (!number || !from) return { body: { Message: "Missing parameter: number and extenOrUniqueId are required", Code: CODE_BAD_PARAM } };
    if (!/^[A-Za-z0-9]+\/./.test(from)) {
      return { body: { Message: `extenOrUniqueId must carry a technology, e.g. SIP/100 (got ${from})`, Code: CODE_BAD_PARAM } };
    }
    const exten = stripTech(from);
    const uniqueCallId = this.changes.startCall(exten, {
      canAnswer: false,
      callerId: number,
      inbound: false,
      isClickToDialCall: true,
      status: "Dialing Out",
    });
    const sessionId = randomUUID();
    this.dialed.push({ sessionId, exten, uniqueCallId, query: { ...q } });
    trimBatch(this.dialed, this.maxRequests);
    return {
      body: { SessionID: sessionId, Message: "Dialing", Code: 0 },
      action: { method: "dial", uniqueCallId, exten, number, sessionId },
    };
  }

  recording(method: "start" | "stop", q: Record<string, string>): object {
    const target = q.extenOrUniqueId;
    if (!target) return { Message: "Missing parameter: extenOrUniqueId", Code: CODE_BAD_PARAM };
    const leg = this.target(target);
    if (!leg) return { Message: `No channel found for ${target}`, Code: CODE_NOT_FOUND };
    this.recordings.push({
      action: method,
      extenOrUniqueId: target,
      uniqueCallId: leg.data.uniqueCallId,
      tag: q.tag,
      agentLoginName: q.agentLoginName,
    });
    trimBatch(this.recordings, this.maxRequests);
    return { Message: method === "start" ? "Recording started" : "Recording stopped", Code: 0 };
  }

  /** A uniqueCallId, or an extension (bare or with tech) meaning its newest leg in progress. */
  private target(extenOrUniqueId: string): Leg | undefined {
    return this.legs.get(extenOrUniqueId) ?? this.legs.latest(stripTech(extenOrUniqueId));
  }
}
