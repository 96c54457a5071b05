/**
 * The fault soak's accounting (definitions in soak.ts), from the fake PBX's own records and the msgs that reached the
 * UDP sink. Node-RED kills: the changes made while Node-RED was down count like any other (the resumed poll must
 * bring them); a change sent within RESEND_WINDOW_MS before a kill may come again after it, and is counted apart.
 */
import type { PbxEvent, RecordedAnswer, RecordedRequest } from "../fake-pbx";
import { TERMINAL_STATUSES } from "../fake-pbx";

/** How long before a kill a msg may have been sent and still come again after the restart. */
export const RESEND_WINDOW_MS = 1000;

export interface Received {
  id: string;
  step: number;
  status: string;
  initial: boolean;
  /** performance.now() at arrival. */
  at: number;
}

export interface SoakRecords {
  events: PbxEvent[];
  answers: RecordedAnswer[];
  subscribeRequests: RecordedRequest[];
  restarts: Array<{ epoch: number; keepCalls: boolean; at: number }>;
  deployLog: Array<{ at: number; type: string; done?: number }>;
  received: Received[];
  finalEpoch: number;
  /** performance.now() of each Node-RED kill. */
  kills: number[];
}

export interface Tallies {
  required: number;
  lost: number;
  lostExamples: string[];
  blindHead: number;
  blindTail: number;
  undetectable: number;
  survivorsChecked: number;
  survivorsLost: number;
  duplicated: number;
  duplicateExamples: string[];
  resentAfterKill: number;
  phantom: number;
  initialMsgs: number;
}

export function account(records: SoakRecords): Tallies {
  const { events, answers, subscribeRequests, restarts, deployLog, received, finalEpoch, kills } = records;
  const key = (id: string, step: number): string => `${id}#${step}`;
  const pbxStates = new Set(events.map((e) => key(e.entry.CallData.uniqueCallId, Number(e.entry.CallData.step))));
  const firstAt = new Map<string, number>();
  let duplicated = 0;
  let resentAfterKill = 0;
  let phantom = 0;
  let initialMsgs = 0;
  const duplicateExamples: string[] = [];
  for (const m of received) {
    const k = key(m.id, m.step);
    if (!pbxStates.has(k)) phantom += 1;
    const first = firstAt.get(k);
    if (m.initial) initialMsgs += 1;
    else if (first !== undefined) {
      // A Node-RED killed within a second of sending it may send it again once restarted: its position on disk is
      // written a few times a second at most. Anything older, or twice from one process, is a duplicate.
      if (kills.some((kill) => first >= kill - RESEND_WINDOW_MS && first < kill && m.at > kill)) resentAfterKill += 1;
      else {
        duplicated += 1;
        if (duplicateExamples.length < 5) duplicateExamples.push(`${k} ${m.status}`);
      }
    }
    if (first === undefined) firstAt.set(k, m.at);
  }
  const deliveredAny = new Set(firstAt.keys());

  const epochs = [...new Set(events.map((e) => e.epoch)).add(finalEpoch)].sort((a, b) => a - b);
  let required = 0;
  let lost = 0;
  const lostExamples: string[] = [];
  let blindTail = 0;
  let blindHead = 0;
  let undetectable = 0;
  let survivorsChecked = 0;
  let survivorsLost = 0;
  // Legs in progress, replayed over the epochs, to know the calls alive at each resync point.
  let alive = new Map<string, { step: number; status: string }>();
  let eventIndex = 0;
  for (const epoch of epochs) {
    const inEpoch = (a: { epoch: number }): boolean => a.epoch === epoch;
    const epochAnswers: RecordedAnswer[] = answers.filter(inEpoch);
    const firstSnapshot = epochAnswers.find((a) => a.snapshot);
    let resync = firstSnapshot?.seq;
    if (epoch > 0) {
      // Did the client notice the restart? Its polls after the resynchronising read carry that read's seq.
      const polls = subscribeRequests.filter((r) => r.epoch === epoch && r.query.lastSequenceNumber !== "0");
      const firstPoll = polls[0];
      const afterSnapshot = firstSnapshot ? polls.find((r) => r.at >= firstSnapshot.at) : undefined;
      const staleOf = (r: { query: Record<string, string> }): number => Number(r.query.lastSequenceNumber);
      if (firstPoll && (!firstSnapshot || firstPoll.at < firstSnapshot.at) && staleOf(firstPoll) <= firstPoll.seqAtArrival) {
        undetectable += 1; // polled on with a cursor the new counter had already passed: the seq never went down
        resync = staleOf(firstPoll);
      } else if (firstSnapshot && afterSnapshot && staleOf(afterSnapshot) !== firstSnapshot.seq &&
        staleOf(afterSnapshot) <= afterSnapshot.seqAtArrival) {
        undetectable += 1; // the read did not show a lower seq either: the client kept its cursor
        resync = staleOf(afterSnapshot);
      }
    }
    const isLast = epoch === finalEpoch;
    const handedOut = Math.max(
      resync ?? -1,
      ...epochAnswers.filter((a) => !a.snapshot && a.seq >= a.last).map((a) => a.seq),
    );
    const restart = restarts.find((r) => r.epoch === epoch);
    if (epoch > 0 && !restart?.keepCalls) alive = new Map();
    let checkedSurvivors = resync === undefined;
    for (; eventIndex < events.length && events[eventIndex].epoch === epoch; eventIndex++) {
      const e = events[eventIndex];
      const data = e.entry.CallData;
      const k = key(data.uniqueCallId, Number(data.step));
      if (!checkedSurvivors && resync !== undefined && e.seq > resync) {
        checkedSurvivors = true;
        if (epoch > 0) for (const [id, s] of alive) {
          survivorsChecked += 1;
          if (!deliveredAny.has(key(id, s.step))) survivorsLost += 1;
        }
      }
      const inWindow = resync !== undefined && e.seq > resync && (isLast || e.seq <= handedOut);
      if (inWindow) {
        required += 1;
        if (!deliveredAny.has(k)) {
          lost += 1;
          if (lostExamples.length < 8) {
            const t = Number(data.t);
            const deploy = deployLog.filter((d) => d.at <= t + 2000).at(-1);
            const near = deploy ? ` (${t - deploy.at} ms after a ${deploy.type} deploy)` : "";
            lostExamples.push(`epoch ${epoch} seq ${e.seq} ${k} ${data.status}${near}`);
          }
        }
      } else if (resync === undefined || e.seq <= resync) blindHead += 1;
      else blindTail += 1;
      if (TERMINAL_STATUSES.has(data.status)) alive.delete(data.uniqueCallId);
      else alive.set(data.uniqueCallId, { step: Number(data.step), status: data.status });
    }
    if (!checkedSurvivors && epoch > 0 && resync !== undefined) {
      for (const [id, s] of alive) {
        survivorsChecked += 1;
        if (!deliveredAny.has(key(id, s.step))) survivorsLost += 1;
      }
    }
  }

  return {
    required, lost, lostExamples, blindHead, blindTail, undetectable, survivorsChecked, survivorsLost, duplicated,
    duplicateExamples, resentAfterKill, phantom, initialMsgs,
  };
}
