/**
 * The fault soak's accounting (soak.ts runs it), from the fake PBX's own records and the msgs that reached the
 * UDP sink. Node-RED kills: the changes made while Node-RED was down count like any other (the resumed poll must
 * bring them); a change or an older state the killed process sent at or after the savedAt of the position it left on
 * disk (the resume file's last write, the context store's last flush or write, read once the process is dead) may come
 * again after it, and is counted apart: the documented bound. Anything older that comes again is DUPLICATED. A kill in a lifetime of the PBX
 * while the resume file still held a position of its previous one: that lifetime counts from the new process's own
 * current-state read (the position on disk cannot bring back what the PBX changed before it). Which changes the watch requires (msg-driven extension changes) is in soak-coverage.ts.
 *
 * The accounting is made from the fake PBX's own records: every state change (pbx.onEvent, all server lifetimes),
 * every subscribe request and every subscribe answer it wrote that the client took (soak-coverage.ts takenAnswers:
 * not a read it threw away, nor an answer written to a poll it had just aborted). Definitions (per server lifetime E, "epoch"):
 *
 * - R(E), the resync point: for E = 0 the seq of the first current-state read (the start); after a restart the seq of
 *   the first current-state read answered in E, which is the read the client resynchronises from. If the client's
 *   first poll in E carried a lastSequenceNumber the new counter had already passed, no client can tell the PBX
 *   restarted (the seq did not go down): R(E) is that lastSequenceNumber, and the restart is counted "undetectable".
 * - H(E, X), what was handed out for extension X: the highest seq of an answer the PBX wrote in E (polls, and R(E)
 *   itself); if E ended with a restart while the client still polled X (a request for X after its last answer, up to
 *   2 s after the restart), only answers for requests covering X count. For the last epoch everything counts: the
 *   run ends with a quiet drain until all is delivered (or a bound expires).
 * - Required: every state change of E on extension X with R(E) < seq <= H(E, X), X watched then (below). Each must reach
 *   the flow (any msg with that leg and step); as a change (initial: false) at most once. Missing ones are LOST.
 *   With "latest" answers the intermediate states of a leg are legitimately skipped: required are only the states an
 *   answer the client took listed (each leg's newest state in every poll answer the PBX wrote, where a later request
 *   of that lifetime carries the answer's seq as its lastSequenceNumber), and in the last epoch each leg's final state.
 * - Watched (soak-coverage.ts): an extension's watch segments run from a join (a msg add or replace, or a deploy or
 *   Node-RED restart that brings back an extension a msg had removed) to a leave (a msg remove or replace); kills and
 *   deploys that keep an extension watched, by whichever node, excuse nothing. A change made while no node watched its
 *   extension is not required (counted). Join window: the changes up to the join's fence are excused (counted), where
 *   the fence is the first answer covering the extension whose request arrived after the msg was sent — its seq for a
 *   current-state read (those changes are summed up by the calls in progress it reports), its lastSequenceNumber for a
 *   poll; after a restart of the PBX the fence of an earlier lifetime no longer applies. A Node-RED kill after the
 *   fence excuses nothing (the fence is the client's first cursor for the extension). Leave window: the changes
 *   after the last answer covering the extension written at least 200 ms before the msg was sent are excused
 *   (counted). A join with no request covering the extension within 4 s (while still watched) is NEVER POLLED, a
 *   violation; its fence is then the PBX's counter 4 s after the join, so what follows is required too.
 * - Joins: every call in progress on the extension at the join's fence must have its state then reach the flow (as
 *   initial: true, or as a change); not where a kill with the previous life's position on disk came less than 1 s
 *   after the read (the new process counts from its own read, as for the changes).
 * - Blind windows (excused, counted): changes of E above H(E) when E ended with a restart (the PBX forgot them before
 *   anyone could read them), and changes of E at or below R(E) (made by the restarted PBX before the client's
 *   resynchronising read, which reports only the calls then in progress). The API cannot replay either.
 * - Calls that survive a restart are checked by final state: for every call in progress at R(E), its state at R(E)
 *   must have reached the flow. A call that ended inside a blind window simply disappears (no client can see it).
 *   After an undetectable restart, R(E) for this check is the first read of E that listed the extension (polls from
 *   the old cursor never list survivors); with none, no answer of E lists them, and each of their states was judged
 *   in its own lifetime.
 *   A read whose taker ended before a poll after it (an interruption: a kill, a deploy, a replica's lost lease) is
 *   passed over for this check: its calls are checked at the next read (the first state of a call begun and ended
 *   in between arrives as its end only, a documented limit); the changes after R(E) stay required.
 * - A kill with the previous life's position on disk, the new process polling on from it unseen: the changes the killed
 *   process's resync read had summed up (made before the kill, up to that read's seq, except the states it reported as
 *   in progress) come back through such a resumed poll alone. They are required where, after some blind kill of that
 *   lifetime, the extension was still watched (outside a join or leave window) when the new process's poll for it
 *   answered, or DEAF_LIMIT_MS after the process was up if none had answered by then, before the PBX restarted again;
 *   else they are excused (counted): a msg that removed the extension right after the restart leaves them to nobody.
 * - A deploy stops the old nodes at once, and Node-RED drops the msgs it is still passing between them (any node's):
 *   a change that never reached the flow is counted apart, the documented limit, not as LOST, where the first answer
 *   that listed it came for a poll requested before a deploy that stopped its path (a full or flows deploy of the
 *   soak's one tab; a nodes deploy that removed its node and sink) was sent, arrived before that deploy was done, the
 *   next poll carried its seq on before the new nodes' first read (the old loop took it, not a parked one), and no
 *   later answer listed the change again.
 * - Node-RED kills excuse nothing: the changes made while Node-RED was down are required like any other (the resumed
 *   poll brings them), and the calls of a restart's resume are checked like all others. Survivors are checked
 *   only where their extension was watched since before the resync read (else the join check covers them).
 * - DUPLICATED: a change (initial: false) for a leg and step that already reached the flow (as a change, or as a
 *   current state). Replays with initial: true (not older) to a redeployed node are by design and only counted. A change that
 *   first reached the flow after the position in the resume file was taken (read as Node-RED is killed), or less than
 *   1 s before the kill, and again after it is counted apart; anything older is a duplicate. See soak-accounting.ts.
 * - OUT OF ORDER / STALE: a msg for a leg whose state (step) is older than one already delivered for that leg, as a
 *   change (OUT OF ORDER) or as a current state (initial: true, STALE); both are violations, replays to a redeployed
 *   or newly watching node included. The only excuse is a kill: an older state after a kill, when the newer one was
 *   delivered less than 1 s before it, is counted apart. The extensions are split between nodes without overlap, so
 *   this is also per node.
 * - UNWATCHED: a msg from a node for an extension that node did not watch at any time within 1 s of its arrival.
 * - PHANTOM: a msg for a leg and step the PBX never had.
 * - Two polls: the fake PBX reports every poll opened and closed. Two polls open at once for more than 20 ms is a
 *   violation (a poll the client aborted stays open on the PBX until the socket's close reaches it; that is < 1 ms on
 *   loopback and is not two polls from the client's side). The run uses 20 extensions, one poll's worth.
 * - Node-RED must not crash, log an unhandled rejection or uncaught exception (in any of its processes), and the heap
 *   of its last process after a forced GC must not grow by more than 32 MB from the first to the last sample.
 */
import type { PbxEvent, RecordedAnswer, RecordedRequest } from "../fake-pbx";
import { TERMINAL_STATUSES } from "../fake-pbx";
import { coverage, covers, DEAF_LIMIT_MS, type Fence, fenceAtOrBefore, LEAVE_GRACE_MS, type Segment, segmentAt } from "./soak-coverage";
import type { NodeWatch } from "./soak-extensions";

/** How soon after a PBX restart a request for an extension shows that the client was still polling it. */
const FOLLOW_UP_MS = 2000;
/** A read this close before a blind kill: its calls may not have left the killed process (see joinStates). */
const READ_IN_FLIGHT_MS = 1000;

/**
 * A Node-RED kill: when (performance.now() and Date.now(), once the process was dead), the killed process (its pid,
 * which its msgs carry), and the position it had made durable then: its savedAt (Node-RED's Date.now() when it was
 * taken; undefined: none on disk) and its polls' seqs. The documented bound: a crash may re-send what the flow got after
 * the last position the store made durable (the resume file's last write; localfilesystem's last flush), nothing older.
 */
export interface Kill {
  at: number;
  wall: number;
  pid?: number;
  savedWall?: number;
  /** The seqs of the position's polls on disk then (each an answer's seq, of whichever PBX lifetime it came from). */
  savedSeqs?: number[];
  /** Date.now() when the restarted Node-RED's admin API answered. */
  upWall?: number;
}

/** Whether `kill` came between `first` and `again`, and the killed process sent `first`. */
function killedBetween(kill: Kill, first: Received, again: Received): boolean {
  if (again.at <= kill.at) return false;
  // Its pid when msgs carry one (a datagram may be read after the kill), else its time.
  return first.pid !== undefined && kill.pid !== undefined ? first.pid === kill.pid : first.at < kill.at;
}

/**
 * The kill that lets `first` (a msg's first arrival) come again at `again`: the killed process sent it at or after the
 * savedAt of the position it left on disk (a msg sent before that was covered by the position). Undefined: none does.
 */
export function resendingKill(kills: readonly Kill[], first: Received, again: Received): Kill | undefined {
  return kills.find((kill) => kill.savedWall !== undefined && killedBetween(kill, first, again) && (first.sent ?? first.wall) >= kill.savedWall);
}

/** Why a repeat is not excused, for the examples. */
function describeRepeat(kills: readonly Kill[], first: Received, again: Received): string {
  const kill = kills.find((k) => killedBetween(k, first, again));
  if (!kill) return " (twice from one process)";
  if (kill.savedWall === undefined) return " (after a kill that left no position on disk)";
  return ` (first sent ${((kill.savedWall - (first.sent ?? first.wall)) / 1000).toFixed(1)} s before the position on disk at the kill was taken)`;
}

export interface Received {
  /** The subscribe node that sent it, and the extension (msg.topic). */
  node: string;
  exten: string;
  id: string;
  step: number;
  status: string;
  initial: boolean;
  /** performance.now() and Date.now() at arrival. */
  at: number;
  wall: number;
  /** The Node-RED process that sent it, and its Date.now() then (undefined where a test does not say). */
  pid?: number;
  sent?: number;
  /** msg.payload.eventId, when the package sets one. */
  eventId?: string;
  /** A Hungup the node made up for a call the PBX stopped listing (msg.payload.vanished): no state of the PBX's. */
  vanished?: boolean;
}

export interface SoakRecords {
  events: PbxEvent[];
  answers: RecordedAnswer[];
  subscribeRequests: RecordedRequest[];
  restarts: Array<{ epoch: number; keepCalls: boolean; at: number }>;
  /** Each deploy: sent at `at`, done (the new flows run) at `done`; `stops`, whose msgs it may drop: every node's, or
   * those of the nodes watching these extensions (a "nodes" deploy stops only what changed or went). */
  deployLog: Array<{ at: number; type: string; done?: number; stops?: "all" | string[] }>;
  received: Received[];
  finalEpoch: number;
  /** Each Node-RED kill. */
  kills: Kill[];
  answerStyle: "every" | "latest";
  /** Each extension's watch segments (soak-coverage.ts) and each node's lists over time (soak-extensions.ts). */
  segments: Map<string, Segment[]>;
  history: NodeWatch[];
  /** msg.payload.eventId: checked when any msg carries one ("auto", the default), always ("require"), or never. */
  eventIds?: EventIdMode;
  /**
   * Spans (Date.now()) in which the process, or the replica's term, that took a current-state read may have ended
   * before a poll after it settled the read: kills, pauses, Redis outages, deploys. See "Calls that survive a restart".
   */
  interruptions?: ReadonlyArray<{ from: number; to: number }>;
}

export type EventIdMode = "auto" | "require" | "off";

/** A msg for an extension its node did not watch within this long of its arrival is UNWATCHED. */
export const UNWATCHED_GRACE_MS = 1000;

export interface Tallies {
  required: number;
  lost: number;
  /** Of those, made after the newest change a process killed without a position on disk delivered, before the restart's first answer. */
  lostWhileDownBlank: number;
  /** Lost after a crash before the store had ever written a position out: the documented limit, not required. */
  lostBeforeFirstWrite: number;
  /** Not delivered: sent into a flow as a deploy stopped it, where Node-RED drops msgs between nodes (documented, not required). */
  lostInDeploy: number;
  lostExamples: string[];
  /** The first lost change: its extension and when the PBX made it (for the trace around it). */
  firstLost?: { exten: string; at: number };
  blindHead: number;
  blindTail: number;
  undetectable: number;
  survivorsChecked: number;
  survivorsLost: number;
  duplicated: number;
  duplicateExamples: string[];
  resentAfterKill: number;
  /** The longest a re-sent change had been sent before its kill (ms). */
  oldestResendMs: number;
  phantom: number;
  /** Hungups made up for calls that died with a PBX restart (msg.payload.vanished). */
  vanishedEnds: number;
  initialMsgs: number;
  /** Msgs with a state older than one already delivered for that leg: as a change, as a current state. */
  outOfOrder: number;
  staleInitial: number;
  staleExamples: string[];
  staleAfterKill: number;
  /** Changes excused by a join or leave window; made while no node watched their extension; not listed ("latest"). */
  joinLeaveExcused: number;
  /** Changes a blind kill's resumed poll alone could list again, no process watching their extension then (see "A kill with"). */
  reopenedExcused: number;
  notWatched: number;
  notListed: number;
  joins: number;
  deafJoins: number;
  deafExamples: string[];
  /** Calls in progress at a join's fence, whose state then must reach the flow. */
  joinStatesChecked: number;
  joinStatesLost: number;
  unwatchedMsgs: number;
  unwatchedExamples: string[];
  /** Whether eventIds were checked; msgs without one; changes sent with two ids; ids given to two changes. */
  eventIdsChecked: boolean;
  eventIdsMissing: number;
  eventIdsUnstable: number;
  eventIdsShared: number;
  eventIdExamples: string[];
}

/** A call's end for the PBX (call-state-table.ts). */
const TERMINAL = new Set(["Hungup", "Busy", "No Answer"]);

export function account(records: SoakRecords): Tallies {
  const { events, answers, subscribeRequests, restarts, deployLog, finalEpoch, kills } = records;
  // Made-up ends are no PBX state: sound unless the PBX still had the call when it came (as the model test judges):
  // its last change before then no end, and no restart that dropped calls since.
  const received = records.received.filter((m) => !m.vanished);
  const madeUp = records.received.filter((m) => m.vanished);
  const stillHad = (m: Received): boolean => {
    const last = events.filter((e) => e.entry.CallData.uniqueCallId === m.id && e.at <= m.wall).at(-1);
    if (!last || TERMINAL.has(String(last.entry.CallData.status))) return false;
    return !restarts.some((r) => !r.keepCalls && r.at >= last.at && r.at <= m.wall);
  };
  const unsoundEnds = madeUp.filter(stillHad).length;
  const key = (id: string, step: number): string => `${id}#${step}`;
  const pbxStates = new Set(events.map((e) => key(e.entry.CallData.uniqueCallId, Number(e.entry.CallData.step))));
  const firstOf = new Map<string, Received>();
  let duplicated = 0;
  let resentAfterKill = 0;
  let oldestResendMs = 0;
  let phantom = unsoundEnds;
  let initialMsgs = 0;
  const duplicateExamples: string[] = [];
  for (const m of received) {
    const k = key(m.id, m.step);
    if (!pbxStates.has(k)) phantom += 1;
    const first = firstOf.get(k);
    if (m.initial) initialMsgs += 1;
    else if (first !== undefined) {
      // A killed Node-RED may send again, once restarted, what it sent after the position it had made durable: nothing
      // older, and nothing twice from one process.
      const kill = resendingKill(kills, first, m);
      if (kill) {
        resentAfterKill += 1;
        oldestResendMs = Math.max(oldestResendMs, kill.wall - (first.sent ?? first.wall));
      } else {
        duplicated += 1;
        if (duplicateExamples.length < 5) duplicateExamples.push(`${k} ${m.status}${describeRepeat(kills, first, m)}`);
      }
    }
    if (first === undefined) firstOf.set(k, m);
  }
  const deliveredAny = new Set(firstOf.keys());
  const stale = staleness(received, kills, records.segments);
  const unwatched = unwatchedMsgs(records.received, records.history);

  // "latest": a change is required only where an answer the client took listed it (its leg's newest state there).
  const listed = records.answerStyle === "latest" ? listedStates(events, answers, subscribeRequests) : undefined;
  const lastOfLeg = new Map<string, number>();
  events.forEach((e, i) => lastOfLeg.set(e.entry.CallData.uniqueCallId, i));
  let joinLeaveExcused = 0;
  let reopenedExcused = 0;
  let notWatched = 0;
  let notListed = 0;

  const epochs = [...new Set(events.map((e) => e.epoch)).add(finalEpoch)].sort((a, b) => a - b);
  let required = 0;
  let lost = 0;
  let lostWhileDownBlank = 0;
  // A kill that left no position on disk: what the PBX changed after the newest change the killed process delivered and
  // before the first answer the restarted one was given, nothing could bring back (counted as lost, and said so).
  const eventOf = new Map(events.map((e) => [key(e.entry.CallData.uniqueCallId, Number(e.entry.CallData.step)), e]));
  const newestDelivered = new Map<number, Fence>();
  for (const m of received) {
    const e = m.pid === undefined ? undefined : eventOf.get(key(m.id, m.step));
    const top = m.pid === undefined ? undefined : newestDelivered.get(m.pid);
    if (e && m.pid !== undefined && (!top || !fenceAtOrBefore(e, top))) newestDelivered.set(m.pid, { epoch: e.epoch, seq: e.seq });
  }
  const blankKill = (e: PbxEvent, x: Kill): boolean => {
    if (x.savedWall !== undefined || e.at < x.wall - 60_000) return false;
    const top = x.pid === undefined ? undefined : newestDelivered.get(x.pid);
    return (!top || !fenceAtOrBefore(e, top)) && e.at <= (answers.find((a) => a.requestedAt > (x.upWall ?? x.wall))?.at ?? Infinity);
  };
  const blankKillBefore = (e: PbxEvent): boolean => kills.some((x) => blankKill(e, x));
  // The README's one documented loss of a late-flushing store: a crash before it ever wrote a position out (no kill
  // before this one found a position on disk either). A kill with no position after one that had one is a loss.
  const neverWrittenKillBefore = (e: PbxEvent): boolean =>
    kills.some((x) => blankKill(e, x) && kills.every((k) => k.wall >= x.wall || k.savedWall === undefined));
  let lostBeforeFirstWrite = 0;
  // Node-RED drops what it is still passing between nodes when a deploy stops them (any node's msgs): a change whose
  // answer a running poll took while a deploy that stopped its path was under way (the poll opened before the deploy
  // was sent) went into a flow that was stopping. The documented limit, where: the next poll carried the answer's seq
  // on before the new nodes' first read (the old loop took it, not a parked one nor the next config node), and no later
  // answer listed the change again (a process that got it again must deliver it).
  let lostInDeploy = 0;
  const droppedInDeploy = (e: PbxEvent): boolean => {
    const lists = (x: RecordedAnswer): boolean => x.epoch === e.epoch && !x.snapshot && x.last < e.seq && e.seq <= x.seq && covers(e.exten, x.exten);
    const a = answers.find(lists);
    if (!a || answers.some((x) => x !== a && x.at > a.at && lists(x))) return false;
    const stopsPath = (d: SoakRecords["deployLog"][number]): boolean => d.stops === "all" || (d.stops ?? []).includes(e.exten);
    const doneAt = (x: SoakRecords["deployLog"][number]): number => x.done ?? x.at + 10_000;
    const d = deployLog.find((x) => a.requestedAt < x.at && x.at <= a.at && a.at <= doneAt(x) && stopsPath(x));
    if (!d) return false;
    const newRead = subscribeRequests.find((r) => r.at > d.at && r.query.lastSequenceNumber === "0")?.at ?? Infinity;
    const until = Math.min(doneAt(d), newRead);
    return subscribeRequests.some((r) => r.epoch === e.epoch && r.at >= a.at && r.at <= until && r.query.lastSequenceNumber === String(a.seq) && covers(e.exten, r.query.exten));
  };
  const lostExamples: string[] = [];
  let firstLost: { exten: string; at: number } | undefined;
  let blindTail = 0;
  let blindHead = 0;
  let undetectable = 0;
  let survivorsChecked = 0;
  let survivorsLost = 0;
  let eventIndex = 0;
  /** Epochs whose restart the client could not see: the cursor it polled on from (states up to it were never listed). */
  const unseen = new Map<number, number>();
  /** Per PBX lifetime, its blind kills (the position on disk of the previous lifetime): when. */
  const blindKillsIn = new Map<number, number[]>();
  const onExten = new Map<string, PbxEvent[]>();
  for (const e of events) {
    let list = onExten.get(e.exten);
    if (!list) onExten.set(e.exten, (list = []));
    list.push(e);
  }
  for (const epoch of epochs) {
    const inEpoch = (a: { epoch: number }): boolean => a.epoch === epoch;
    const epochAnswers: RecordedAnswer[] = answers.filter(inEpoch);
    const firstSnapshot = epochAnswers.find((a) => a.snapshot);
    // A kill in this lifetime of the PBX while the resume file still held a position of its previous one: the new
    // process carries on from that, finds the PBX restarted, and resynchronises with a read of its own. What the PBX
    // changed before that read (after the killed process's own resync) no client could bring back: count from it.
    const start = restarts.find((r) => r.epoch === epoch)?.at;
    const end = restarts.find((r) => r.epoch === epoch + 1)?.at ?? Infinity;
    // The file may have been written after the restart yet before the client's resync (a deploy or a msg change
    // stores the position too): its position is of this lifetime only if each of its seqs is one this lifetime answered.
    const previousLife = (k: Kill): boolean => {
      // No position on disk at all (a store that had not flushed yet): the restart reads afresh, and what the PBX changed
      // meanwhile is lost, not excused.
      if (k.savedWall === undefined) return false;
      const savedBefore = k.savedWall < (start ?? -Infinity);
      if (savedBefore || !k.savedSeqs) return savedBefore;
      const answered = new Set(epochAnswers.filter((a) => a.at <= (k.wall ?? Infinity)).map((a) => a.seq));
      return !k.savedSeqs.every((seq) => answered.has(seq));
    };
    const blindKills = start === undefined ? [] : kills.filter((k) => k.wall > start && k.wall < end && previousLife(k));
    const blindKill = blindKills.at(-1);
    const after = blindKill?.wall ?? -Infinity;
    // The resync point of an extension: the first current-state read of the epoch that covers it (a read for
    // extensions just added may come first, for those alone); the first read of all when none does.
    let cursorResync: number | undefined;
    if (epoch > 0) {
      // Did the client notice the restart? Its polls after the resynchronising read carry that read's seq.
      // After such a kill, the new process's requests tell (it may carry on from the previous life's cursor unseen).
      const polls = subscribeRequests.filter((r) => r.epoch === epoch && r.at > after && r.query.lastSequenceNumber !== "0");
      const resyncSnapshot = epochAnswers.find((a) => a.snapshot && a.at > after);
      const firstPoll = polls[0];
      const afterSnapshot = resyncSnapshot ? polls.find((r) => r.at >= resyncSnapshot.at) : undefined;
      const staleOf = (r: { query: Record<string, string> }): number => Number(r.query.lastSequenceNumber);
      if (firstPoll && (!resyncSnapshot || firstPoll.at < resyncSnapshot.at) && staleOf(firstPoll) <= firstPoll.seqAtArrival) {
        undetectable += 1; // polled on with a cursor the new counter had already passed: the seq never went down
        cursorResync = staleOf(firstPoll);
      } else if (resyncSnapshot && afterSnapshot && !fromThisLife(afterSnapshot, epochAnswers) &&
        staleOf(afterSnapshot) <= afterSnapshot.seqAtArrival) {
        undetectable += 1; // the read did not show a lower seq either: the client kept its cursor
        cursorResync = staleOf(afterSnapshot);
      }
    }
    if (cursorResync !== undefined) unseen.set(epoch, cursorResync);
    if (blindKill) blindKillsIn.set(epoch, blindKills.map((k) => k.wall));
    const readOf = new Map<string, RecordedAnswer | undefined>();
    const resyncRead = (exten: string): RecordedAnswer | undefined => {
      if (!readOf.has(exten)) {
        const reads = epochAnswers.filter((a) => a.snapshot && a.at > after);
        readOf.set(exten, reads.find((a) => covers(exten, a.exten)) ?? reads[0] ?? firstSnapshot);
      }
      return readOf.get(exten);
    };
    const resyncOf = (exten: string): number | undefined => cursorResync ?? resyncRead(exten)?.seq;
    const isLast = epoch === finalEpoch;
    const handedOutToAll = Math.max(
      cursorResync ?? firstSnapshot?.seq ?? -1,
      ...epochAnswers.filter((a) => !a.snapshot && a.seq >= a.last).map((a) => a.seq),
    );
    // Per extension, for one the client kept polling up to the restart: polls of others may have been answered further
    // before the PBX forgot this lifetime (a restarted Node-RED resuming two cursor groups one after the other as the
    // PBX restarts). An extension nobody asked for since its last answer (a stalled poll) gets no such excuse.
    const handedOutTo = new Map<string, number>();
    const handedOut = (exten: string): number => {
      let h = handedOutTo.get(exten);
      if (h === undefined) {
        const covering = epochAnswers.filter((a) => !a.snapshot && a.seq >= a.last && covers(exten, a.exten));
        const lastAt = Math.max(-Infinity, ...epochAnswers.filter((a) => covers(exten, a.exten)).map((a) => a.at));
        const followed = end !== Infinity &&
          subscribeRequests.some((r) => r.at >= lastAt && r.at <= end + FOLLOW_UP_MS && covers(exten, r.query.exten));
        h = followed ? Math.max(cursorResync ?? resyncOf(exten) ?? -1, ...covering.map((a) => a.seq)) : handedOutToAll;
        handedOutTo.set(exten, h);
      }
      return h;
    };
    // A read whose taker ended (a kill, a deploy, a lost lease) before a poll after it could settle it: its calls went
    // nowhere, and the next process or term reads for itself. It still bounds what the polls must bring (resyncOf).
    const interrupted = (a: RecordedAnswer): boolean => {
      const next = subscribeRequests.find((r) => r.epoch === epoch && r.at > a.at && r.query.lastSequenceNumber !== "0");
      return (records.interruptions ?? []).some((i) => i.to >= a.at && i.from <= (next?.at ?? Infinity));
    };
    const unseenRestartRead = (exten: string): RecordedAnswer | undefined => {
      const settled = epochAnswers.filter((a) => a.snapshot && covers(exten, a.exten) &&
        epochAnswers.some((b) => !b.snapshot && b.requestedAt > a.at && covers(exten, b.exten)));
      return settled.find((a) => !interrupted(a)) ?? settled[0];
    };
    const survivorRead = (exten: string): RecordedAnswer | undefined =>
      epochAnswers.find((a) => a.snapshot && a.at > after && covers(exten, a.exten) && !interrupted(a)) ?? resyncRead(exten);
    // The calls in progress at an extension's resync must show their state then, where a node watched it since before.
    if (epoch > 0) {
      for (const exten of onExten.keys()) {
        // Polled on from a cursor (the restart unseen): only a read of this lifetime lists the survivors (a killed
        // process's resync, a check or join read), and one a poll of this lifetime answered after owes them as it
        // listed them (read-check.ts keeps a check until then; a restart seen first drops it). An interrupted one
        // only when no other did. With none, no answer of this lifetime lists them: their states were each judged in
        // the lifetime that set them (one set after the last answer before the restart was forgotten there).
        const read = cursorResync === undefined ? survivorRead(exten) : unseenRestartRead(exten);
        if (cursorResync !== undefined && !read) continue;
        const at = read?.seq;
        if (at === undefined) continue;
        const seg = segmentAt(records.segments.get(exten), read?.at ?? 0);
        if (!seg || (seg.join && (!seg.join.fence || !fenceAtOrBefore(seg.join.fence, { epoch, seq: at })))) continue;
        if (seg.leave && read && seg.leave.at - LEAVE_GRACE_MS < read.at) continue;
        for (const [id, step] of aliveAt(onExten.get(exten) ?? [], restarts, { epoch, seq: at })) {
          // Polled on from a cursor (the restart unseen): states this lifetime set up to it were never listed.
          if (cursorResync !== undefined && onExten.get(exten)?.some((e) => e.epoch === epoch && e.entry.CallData.uniqueCallId === id && Number(e.entry.CallData.step) === step)) continue;
          survivorsChecked += 1;
          if (deliveredAny.has(key(id, step))) continue;
          survivorsLost += 1;
          if (lostExamples.length < 8) lostExamples.push(`survivor of restart ${epoch}: ${exten} ${key(id, step)}`);
        }
      }
    }
    // After a blind kill, the new process polls on unseen from the previous life's cursor: the changes the killed
    // process's resync read had summed up (at or below its seq; not the states it reported as in progress, which it
    // delivered itself) come back through such a resumed poll alone. They are owed where some process resuming after a
    // blind kill of this lifetime still watched the extension when its poll answered, or 4 s after it was up if it had
    // not answered by then, and the PBX had not forgotten this lifetime yet.
    const reopened = (e: PbxEvent): "owed" | "excused" | undefined => {
      const first = blindKills[0];
      if (cursorResync === undefined || !first || e.at >= first.wall) return undefined;
      const read = epochAnswers.find((a) => a.snapshot && a.at < first.wall && covers(e.exten, a.exten));
      if (!read || e.seq > read.seq) return undefined;
      const reported = aliveAt(onExten.get(e.exten) ?? [], restarts, { epoch, seq: read.seq }).get(e.entry.CallData.uniqueCallId);
      if (reported === Number(e.entry.CallData.step)) return undefined;
      const owedAfter = (k: Kill): boolean => {
        const answered = epochAnswers.find((a) => a.requestedAt > k.wall && covers(e.exten, a.exten))?.at ?? Infinity;
        const when = Math.min(answered, (k.upWall ?? k.wall) + DEAF_LIMIT_MS);
        if (when >= end) return false;
        const seg = segmentAt(records.segments.get(e.exten), when);
        if (!seg || (seg.leave && seg.leave.at - LEAVE_GRACE_MS < when)) return false;
        return !(seg.join && (!seg.join.fence || fenceAtOrBefore(e, seg.join.fence)));
      };
      return blindKills.some((k) => k.wall > e.at && owedAfter(k)) ? "owed" : "excused";
    };
    for (; eventIndex < events.length && events[eventIndex].epoch === epoch; eventIndex++) {
      const e = events[eventIndex];
      const data = e.entry.CallData;
      const k = key(data.uniqueCallId, Number(data.step));
      const resync = resyncOf(e.exten);
      const inWindow = resync !== undefined && e.seq > resync && (isLast || e.seq <= handedOut(e.exten));
      const again = inWindow ? reopened(e) : undefined;
      const watch = again === "owed" ? "required" : inWindow ? coverage(e, records.segments.get(e.exten)) : undefined;
      if (again === "excused") reopenedExcused += 1;
      else if (watch === "unwatched") notWatched += 1;
      else if (watch === "window") joinLeaveExcused += 1;
      else if (watch && listed && !listed.has(k) && !(isLast && lastOfLeg.get(data.uniqueCallId) === eventIndex)) notListed += 1;
      else if (inWindow) {
        required += 1;
        if (!deliveredAny.has(k) && neverWrittenKillBefore(e)) lostBeforeFirstWrite += 1;
        else if (!deliveredAny.has(k) && droppedInDeploy(e)) lostInDeploy += 1;
        else if (!deliveredAny.has(k)) {
          lost += 1;
          firstLost ??= { exten: e.exten, at: e.at };
          if (blankKillBefore(e)) lostWhileDownBlank += 1;
          if (lostExamples.length < 8) {
            const t = Number(data.t);
            const deploy = deployLog.filter((d) => d.at <= t + 2000).at(-1);
            const near = deploy ? ` (${t - deploy.at} ms after a ${deploy.type} deploy)` : "";
            const down = blankKillBefore(e) ? " (after a kill that left no position on disk)" : "";
            lostExamples.push(`epoch ${epoch} seq ${e.seq} ${e.exten} ${k} ${data.status}${near}${down}`);
          }
        }
      } else if (resync === undefined || e.seq <= resync) blindHead += 1;
      else blindTail += 1;
    }
  }
  const joinsChecked = joinStates(events, restarts, records.segments, deliveredAny, unseen, blindKillsIn);

  return {
    required, lost, lostWhileDownBlank, lostBeforeFirstWrite, lostInDeploy, lostExamples, firstLost, blindHead, blindTail, undetectable, survivorsChecked, survivorsLost, duplicated,
    duplicateExamples, resentAfterKill, oldestResendMs, phantom, initialMsgs, vanishedEnds: madeUp.length, ...stale, joinLeaveExcused, notWatched, notListed,
    reopenedExcused, ...joinsChecked, ...unwatched, ...eventIdChecks(received, records.eventIds ?? "auto"),
  };
}

/**
 * Whether a poll's lastSequenceNumber came from this PBX lifetime: the seq of an answer of it, given before, covering
 * some of the same extensions (a group's cursor comes from its own answers). Else it is a cursor of an earlier life.
 */
function fromThisLife(poll: RecordedRequest, epochAnswers: readonly RecordedAnswer[]): boolean {
  const cursor = Number(poll.query.lastSequenceNumber);
  const polled = new Set((poll.query.exten ?? "").split(","));
  return epochAnswers.some((a) => a.at <= poll.at && a.seq === cursor && a.exten.split(",").some((e) => polled.has(e)));
}

/** The legs in progress among `onExten` (one extension's events, in order) at `fence`, across restarts that kept the calls. */
function aliveAt(onExten: readonly PbxEvent[], restarts: ReadonlyArray<{ epoch: number; keepCalls: boolean }>, fence: Fence): Map<string, number> {
  const alive = new Map<string, number>();
  let epoch = 0;
  const cross = (to: number): void => {
    for (; epoch < to; epoch++) if (!restarts.find((r) => r.epoch === epoch + 1)?.keepCalls) alive.clear();
  };
  for (const e of onExten) {
    if (!fenceAtOrBefore(e, fence)) break;
    cross(e.epoch);
    if (TERMINAL_STATUSES.has(e.entry.CallData.status)) alive.delete(e.entry.CallData.uniqueCallId);
    else alive.set(e.entry.CallData.uniqueCallId, Number(e.entry.CallData.step));
  }
  cross(fence.epoch);
  return alive;
}

/**
 * Msgs with a state older (an earlier step of its leg) than one the flow was already given: OUT OF ORDER as a change,
 * STALE as a current state (initial: true). Each extension is watched by one node at a time in the soak, so this is
 * also per node. A newer state delivered before a kill but after the position on disk was taken excuses an older
 * one after it.
 */
function staleness(received: readonly Received[], kills: readonly Kill[], segs: Map<string, Segment[]>): Pick<Tallies, "outOfOrder" | "staleInitial" | "staleExamples" | "staleAfterKill"> {
  const newest = new Map<string, Received>();
  let outOfOrder = 0;
  let staleInitial = 0;
  let staleAfterKill = 0;
  const staleExamples: string[] = [];
  for (const m of received) {
    const top = newest.get(m.id);
    if (top && m.step < top.step) {
      if (resendingKill(kills, top, m)) staleAfterKill += 1;
      else {
        if (m.initial) staleInitial += 1;
        else outOfOrder += 1;
        if (staleExamples.length < 6) {
          const join = segmentAt(segs.get(m.exten), m.wall)?.join;
          const near = join ? `, ${m.wall - join.at} ms after ${join.node ? `a msg added it to ${join.node}` : `a ${join.cause} watched it again`}` : "";
          staleExamples.push(`${m.node} ${m.exten} ${m.id} ${m.status}#${m.step}${m.initial ? " (initial)" : ""} after ${top.status}#${top.step}${near}`);
        }
      }
    }
    if (!top || m.step > top.step) newest.set(m.id, m);
  }
  return { outOfOrder, staleInitial, staleExamples, staleAfterKill };
}

/**
 * Msgs from a node for an extension it did not watch at any time within UNWATCHED_GRACE_MS before the msg left Node-RED
 * (its `sent`, else its arrival): the grace covers a msg made before a change and queued in Node-RED behind it. A msg
 * change takes effect between its sending (`at`) and the flow's answer (`done`): the list before it counts until then.
 */
function unwatchedMsgs(received: readonly Received[], history: readonly NodeWatch[]): Pick<Tallies, "unwatchedMsgs" | "unwatchedExamples"> {
  const byNode = new Map<string, NodeWatch[]>();
  for (const h of history) {
    let list = byNode.get(h.node);
    if (!list) byNode.set(h.node, (list = []));
    list.push(h);
  }
  let count = 0;
  const unwatchedExamples: string[] = [];
  for (const m of received) {
    const list = byNode.get(m.node) ?? [];
    const t = m.sent ?? m.wall;
    // A list may have been in force within [t - grace, t]: it began by t, and the next one did not surely begin before.
    const possible = list.filter((h, i) => h.at <= t && (i + 1 >= list.length || (list[i + 1].done ?? list[i + 1].at) > t - UNWATCHED_GRACE_MS));
    if (possible.some((h) => h.extensions.includes(m.exten))) continue;
    count += 1;
    if (unwatchedExamples.length < 5) unwatchedExamples.push(`${m.node} ${m.exten} ${m.id} ${m.status}${m.initial ? " (initial)" : ""}`);
  }
  return { unwatchedMsgs: count, unwatchedExamples };
}

/**
 * "latest": the leg states (id#step) each answer lists, the newest per leg on each of its extensions, for the
 * answers the client took (a later request in that lifetime carries the answer's seq as its lastSequenceNumber).
 */
function listedStates(events: readonly PbxEvent[], answers: readonly RecordedAnswer[], requests: readonly RecordedRequest[]): Set<string> {
  const taken = new Map<string, number>();
  for (const r of requests) taken.set(`${r.epoch}|${r.query.lastSequenceNumber}`, r.at);
  const byExten = new Map<string, PbxEvent[]>();
  for (const e of events) {
    const k = `${e.epoch}|${e.exten}`;
    let list = byExten.get(k);
    if (!list) byExten.set(k, (list = []));
    list.push(e);
  }
  const out = new Set<string>();
  for (const a of answers) {
    if (a.snapshot || a.seq < a.last || (taken.get(`${a.epoch}|${a.seq}`) ?? -1) < a.at) continue;
    for (const exten of a.exten.split(",")) {
      const newest = new Map<string, PbxEvent>();
      for (const e of byExten.get(`${a.epoch}|${exten}`) ?? []) if (e.seq > a.last && e.seq <= a.seq) newest.set(e.entry.CallData.uniqueCallId, e);
      for (const [id, e] of newest) out.add(`${id}#${Number(e.entry.CallData.step)}`);
    }
  }
  return out;
}

/**
 * Joins: each extension a node started to watch (a msg add or replace, a deploy, a Node-RED restart) must be asked for
 * within DEAF_LIMIT_MS (else DEAF), and the calls in progress on it at the join's fence must reach the flow in their
 * state then (as the current state, initial: true, or as a change).
 */
function joinStates(
  events: readonly PbxEvent[],
  restarts: ReadonlyArray<{ epoch: number; keepCalls: boolean }>,
  segments: Map<string, Segment[]>,
  delivered: ReadonlySet<string>,
  unseen: ReadonlyMap<number, number> = new Map(),
  blindKillsIn: ReadonlyMap<number, readonly number[]> = new Map(),
): Pick<Tallies, "joins" | "deafJoins" | "deafExamples" | "joinStatesChecked" | "joinStatesLost"> {
  let joins = 0;
  let deafJoins = 0;
  let joinStatesChecked = 0;
  let joinStatesLost = 0;
  const deafExamples: string[] = [];
  for (const [exten, segs] of segments) {
    const onExten = events.filter((e) => e.exten === exten);
    for (const s of segs) {
      if (!s.join) continue;
      joins += 1;
      if (s.join.deaf) {
        deafJoins += 1;
        if (deafExamples.length < 5) {
          const how = s.join.node ? `added by msg to ${s.join.node}${s.join.refill ? ", which had been emptied" : ""}` : `watched again after a ${s.join.cause}`;
          deafExamples.push(`${exten} (${how}; no request for it within ${DEAF_LIMIT_MS / 1000} s)`);
        }
        continue;
      }
      const fence = s.join.fence;
      if (!fence || !s.join.read) continue;
      if (s.leave && s.leave.at - LEAVE_GRACE_MS < s.join.read.at) continue; // left before the read could be delivered
      // Killed just after the read, with the previous PBX lifetime's position on disk: its msgs may not have left the
      // process, and the next one counts from a read of its own (the lifetime's blind kill rule). Those calls still in
      // progress then reach the flow from that read; the others no client can list again.
      const read = s.join.read;
      if ((blindKillsIn.get(read.epoch) ?? []).some((k) => k >= read.at && k - read.at < READ_IN_FLIGHT_MS)) continue;
      // The state each call had when the read was answered (a poll lists the newest last, a current-state read shows it).
      const alive = aliveAt(onExten, restarts, { epoch: s.join.read.epoch, seq: s.join.read.seq });
      const cursor = unseen.get(s.join.read.epoch);
      for (const [id, step] of alive) {
        // A restart the client could not see: the states its lifetime set up to the cursor polled on from were never listed.
        const setAt = onExten.find((e) => e.entry.CallData.uniqueCallId === id && Number(e.entry.CallData.step) === step);
        if (cursor !== undefined && setAt?.epoch === s.join.read.epoch && setAt.seq <= cursor) continue;
        joinStatesChecked += 1;
        if (delivered.has(`${id}#${step}`)) continue;
        joinStatesLost += 1;
        const how = s.join.node ? `a msg to ${s.join.node}` : `a ${s.join.cause}`;
        if (deafExamples.length < 8) deafExamples.push(`${exten} ${id}#${step} in progress at the read (seq ${s.join.read.seq}) after ${how} at ${s.join.at}`);
      }
    }
  }
  return { joins, deafJoins, deafExamples, joinStatesChecked, joinStatesLost };
}

/**
 * msg.payload.eventId: the same for every sending of one change of one leg (a re-send after a kill, a replay with
 * initial: true after a deploy, a resync or a takeover), different for any two changes. A change here is a leg and its
 * step (each step of a soak leg is a state of its own). In "auto" mode the check applies once any msg carries an id.
 */
export function eventIdChecks(received: readonly Received[], mode: EventIdMode): Pick<Tallies, "eventIdsChecked" | "eventIdsMissing" | "eventIdsUnstable" | "eventIdsShared" | "eventIdExamples"> {
  const checked = mode === "require" || (mode === "auto" && received.some((m) => m.eventId !== undefined));
  const out = { eventIdsChecked: checked, eventIdsMissing: 0, eventIdsUnstable: 0, eventIdsShared: 0, eventIdExamples: [] as string[] };
  if (!checked) return out;
  const idsOf = new Map<string, Set<string>>();
  const changesOf = new Map<string, Set<string>>();
  for (const m of received) {
    const change = `${m.exten} ${m.id}#${m.step}`;
    if (m.eventId === undefined || m.eventId === "") {
      out.eventIdsMissing += 1;
      if (out.eventIdExamples.length < 6) out.eventIdExamples.push(`${change} ${m.status}: no eventId`);
      continue;
    }
    let ids = idsOf.get(change);
    if (!ids) idsOf.set(change, (ids = new Set()));
    ids.add(m.eventId);
    let changes = changesOf.get(m.eventId);
    if (!changes) changesOf.set(m.eventId, (changes = new Set()));
    changes.add(change);
  }
  for (const [change, ids] of idsOf) {
    if (ids.size < 2) continue;
    out.eventIdsUnstable += 1;
    if (out.eventIdExamples.length < 6) out.eventIdExamples.push(`${change} sent with ${ids.size} eventIds: ${[...ids].slice(0, 3).join(", ")}`);
  }
  for (const [id, changes] of changesOf) {
    if (changes.size < 2) continue;
    out.eventIdsShared += 1;
    if (out.eventIdExamples.length < 6) out.eventIdExamples.push(`eventId ${id} given to ${changes.size} changes: ${[...changes].slice(0, 3).join(", ")}`);
  }
  return out;
}
