/**
 * A Noojee PBX Call Management API server: the core of the `noojee-pbx-sim` simulator and of the tests' fake PBX.
 *
 * It is a real HTTP(S) server that follows the vendor's public API documentation as closely as it allows:
 * subscribe (long poll, one global `seq`, current state with `lastSequenceNumber=0`), answer, hangup, dial, start and
 * stop (recording), the `apiKey` and the older `timeStamp`/`hash` sign-in, and the PBX clock at
 * `/servicemanager/rest/Time`. Call legs are driven through the public methods (`startCall`, `update`, `emit`); the
 * simulator's traffic generator (sim/traffic.ts) and the tests both use them.
 *
 * Choices where the real PBX is unknown (documented here so clients and tests can rely on them):
 * - `lastSequenceNumber=0` with no call in progress on the requested extensions and `timeOut>0` is held like a normal
 *   poll (answered by the first event after the request, or empty at `timeOut`); option `idleSnapshot: "answer"`
 *   answers it at once instead.
 * - `lastSequenceNumber` above the counter: see `restartMode`.
 * - A wrong key answers `{"Message":"Invalid API Key","Code":-3}` with HTTP 200.
 * - Parameter errors answer a negative-Code envelope (no `Data`, no `seq`), like the vendor's error envelopes.
 * - `exten` values are taken literally (not trimmed, no tech prefix stripped): a client sending `SIP/410` or `400, 410`
 *   to subscribe simply never hears about 410, as it presumably would on the real PBX.
 * - Events emitted in one tick reach a held poll in one answer (wakes are batched on setImmediate).
 * - A poll answer lists every change since its lastSequenceNumber, oldest first per extension (one entry per change,
 *   several for one leg); option `answerStyle: "latest"` lists only each changed leg's newest state instead. The
 *   vendor does not say which the real PBX does; clients must be right for both.
 * - `Hungup`, `Busy` and `No Answer` end a leg (it leaves the current state). A later change reported for a leg that
 *   ended recently (e.g. `Hungup` after `No Answer`) keeps that leg's CallID.
 * - The counter starts at `initialSeq` (1) and restart() puts it back there; CallIDs restart at 1 too.
 * - hangup/start/stop take a uniqueCallId, or an extension (bare or with tech) meaning its newest leg in progress.
 *   start/stop only check that such a leg exists (a stop without a start is accepted) and log it in `recordings`.
 * - dial ignores `monitored`, `record` and the other optional parameters (they are in `dialed[].query`) and always
 *   creates a Dialing Out leg on the calling extension.
 *
 * Subclasses may take over requests before authentication (`intercept`) or refuse them after it (`refusal`), which
 * is how the tests inject faults and refusals.
 *
 * Its parts, one concern a file: api-http-server.ts (listening, routing, 404/405), sign-in.ts (apiKey and
 * timeStamp/hash), call-legs.ts (the call model: legs in progress and their CallIDs), event-log.ts (the `seq` counter
 * and the event log), long-polls.ts (subscribe and its held polls), call-control.ts (answer, hangup, dial, start,
 * stop), request-log.ts, and the shared pieces pbx-types.ts, api-codes.ts, pbx-formats.ts, servlet-query.ts,
 * http-replies.ts, trim-batch.ts and waiters.ts. This file ties them together and is what other code imports.
 */
import type * as http from "node:http";
import { randomUUID } from "node:crypto";
import { API_BASE, ApiHttpServer, type ArrivedRequest } from "./api-http-server";
import { CallControl, type ControlResult } from "./call-control";
import { CallLegs } from "./call-legs";
import { EventLog } from "./event-log";
import { sendJson, sendText } from "./http-replies";
import { LongPolls } from "./long-polls";
import { TERMINAL_STATUSES } from "./pbx-formats";
import type {
  AnsweredCall,
  ApiAction,
  ApiMethod,
  CallData,
  DialRecord,
  PbxEvent,
  PbxServerOptions,
  RecordedAnswer,
  RecordedRequest,
  RecordingRecord,
} from "./pbx-types";
import { RequestLog } from "./request-log";
import { SignIn } from "./sign-in";

export * from "./pbx-types";
export { API_BASE, TIME_PATH } from "./api-http-server";
export { BAD_KEY_ENVELOPE, EXPIRED_ENVELOPE } from "./api-codes";
export { NOT_FOUND_PAGE, htmlErrorPage, sendHtml, sendJson, sendRaw, sendText } from "./http-replies";
export { TERMINAL_STATUSES, pbxTimestamp, stripTech } from "./pbx-formats";
export { decodeFormComponent, parseServletQuery } from "./servlet-query";

export class PbxServer {
  apiKey: string;
  /** Observers for load and soak accounting: every event of every lifetime, every request, every open/close. */
  onEvent: ((event: PbxEvent) => void) | undefined;
  onRequest: ((request: RecordedRequest) => void) | undefined;
  /** After each poll opened or closed: how many are open, and how many of those are held without an answer (hung). */
  onPollsChanged: ((open: number, hung: number) => void) | undefined;

  private lifetime = 0;
  private readonly transport: ApiHttpServer;
  private readonly signIn = new SignIn();
  private readonly legs = new CallLegs();
  private readonly log: EventLog;
  private readonly polls: LongPolls;
  private readonly control: CallControl;
  private readonly requestLog: RequestLog;
  private readonly changeListeners = new Set<(ev: PbxEvent) => void>();
  private readonly actionListeners = new Set<(action: ApiAction) => void>();

  constructor(options: PbxServerOptions = {}) {
    this.apiKey = options.apiKey ?? randomUUID();
    const maxRequests = Math.max(1, options.maxRequests ?? 100_000);
    this.transport = new ApiHttpServer(options.tls, {
      arrived: (r) => this.arrived(r),
      routed: (method, req, res, query) => this.serve(method, req, res, query),
    });
    this.log = new EventLog(options.initialSeq ?? 1, Math.max(1, options.maxEvents ?? 100_000));
    const answerStyle = options.answerStyle ?? "every";
    this.polls = new LongPolls(
      {
        seq: () => this.log.seq,
        epoch: () => this.lifetime,
        collect: (extens, baseline) => this.log.collect(extens, baseline, answerStyle),
        snapshot: (extens) => this.legs.snapshot(extens),
        hasLegs: (extens) => this.legs.any(extens),
        pollsChanged: (open, hung) => this.onPollsChanged?.(open, hung),
      },
      {
        minPollMs: options.minPollMs ?? 0,
        emptyData: options.emptyData ?? "object",
        restartMode: options.restartMode ?? "answer",
        idleSnapshot: options.idleSnapshot ?? "hold",
        timeOutUnitMs: options.timeOutUnitMs ?? 1000,
        maxRequests,
      },
    );
    this.control = new CallControl(this.legs, this, maxRequests);
    this.requestLog = new RequestLog(maxRequests, (r) => this.onRequest?.(r));
  }

  // ---------------------------------------------------------------- server lifecycle

  /** Listens on `host` (default 127.0.0.1) and `port` (default 0: any free port). */
  start(port = 0, host = "127.0.0.1"): Promise<void> {
    return this.transport.start(port, host);
  }

  async stop(): Promise<void> {
    const finish = this.transport.beginStop();
    if (!finish) return;
    this.polls.stop();
    const closed = finish();
    const stopped = new Error("PBX server stopped");
    this.polls.rejectWaiters(stopped);
    this.requestLog.rejectWaiters(stopped);
    await closed;
  }

  get port(): number {
    return this.transport.port;
  }

  get hostPort(): string {
    return this.transport.hostPort;
  }

  get url(): string {
    return this.transport.url;
  }

  /** Full URL of an API method, e.g. apiUrl("subscribe"). */
  apiUrl(method: string): string {
    return `${this.url}${API_BASE}${method}`;
  }

  get seq(): number {
    return this.log.seq;
  }

  get requests(): RecordedRequest[] {
    return this.requestLog.requests;
  }

  get events(): PbxEvent[] {
    return this.log.events;
  }

  get answered(): AnsweredCall[] {
    return this.control.answered;
  }

  /** Successful dial requests, oldest first. */
  get dialed(): DialRecord[] {
    return this.control.dialed;
  }

  /** Successful start/stop (recording) requests, oldest first. */
  get recordings(): RecordingRecord[] {
    return this.control.recordings;
  }

  // ---------------------------------------------------------------- listeners

  /** Calls `listener` after every change of a leg (synchronously, inside emit). Returns an unsubscribe function. */
  onChange(listener: (ev: PbxEvent) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Calls `listener` after each successful answer, hangup or dial request. Returns an unsubscribe function. */
  onApiAction(listener: (action: ApiAction) => void): () => void {
    this.actionListeners.add(listener);
    return () => this.actionListeners.delete(listener);
  }

  // ---------------------------------------------------------------- call legs

  startCall(exten: string, init: Partial<CallData> = {}): string {
    const uniqueCallId = init.uniqueCallId ?? this.newUniqueCallId();
    const data: CallData = {
      canAnswer: true,
      callerId: "0400000000",
      uniqueCallId,
      callStartTime: "",
      isQueueCall: false,
      isClickToDialCall: false,
      inbound: true,
      status: "Ringing",
      ...init,
    };
    data.uniqueCallId = uniqueCallId;
    this.emit(exten, data);
    return uniqueCallId;
  }

  /** A fresh id in the vendor's shape, e.g. "1712650652.512". */
  newUniqueCallId(): string {
    return this.legs.newUniqueCallId();
  }

  update(exten: string, uniqueCallId: string, patch: Partial<CallData>): void {
    const leg = this.legs.get(uniqueCallId);
    if (!leg || leg.exten !== exten) throw new Error(`PbxServer: no call ${uniqueCallId} in progress on ${exten}`);
    this.emit(exten, { ...leg.data, ...patch, uniqueCallId } as CallData);
  }

  /** The current state of a leg (a copy), or undefined once it ended. */
  leg(uniqueCallId: string): CallData | undefined {
    const leg = this.legs.get(uniqueCallId);
    return leg ? { ...leg.data } : undefined;
  }

  /** Legs in progress on an extension, oldest first (copies). */
  legsOf(exten: string): CallData[] {
    return this.legs.of(exten).map((l) => ({ ...l.data }));
  }

  emit(exten: string, data: CallData): void {
    const callData: CallData = { ...data };
    const leg = this.legs.set(exten, callData);
    const ev = this.log.add(this.lifetime, exten, { CallData: callData, CallID: leg.callId, Code: 0 });
    this.onEvent?.(ev);
    if (TERMINAL_STATUSES.has(callData.status)) this.legs.end(leg);
    this.polls.changedOn(exten);
    for (const listener of this.changeListeners) listener(ev);
  }

  bumpSeq(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new Error("PbxServer.bumpSeq: n must be a non-negative integer");
    this.log.seq += n;
    this.polls.counterMoved();
  }

  /**
   * PBX restart: counter back to initialSeq, event log and held polls gone. `keepCalls` models a restart of the API
   * service alone: the calls go on, renumbered.
   */
  restart(options: { keepCalls?: boolean } = {}): void {
    this.lifetime += 1;
    this.log.reset();
    this.legs.restart(Boolean(options.keepCalls));
    this.signIn.forget();
    // A restarting server drops its connections: held polls see their socket close without an answer.
    this.polls.closeAll(true);
  }

  // ---------------------------------------------------------------- observation helpers

  get epoch(): number {
    return this.lifetime;
  }

  get answers(): RecordedAnswer[] {
    return this.polls.answers;
  }

  openPolls(): number {
    return this.polls.open;
  }

  waitForPolls(n: number, timeoutMs = 5000): Promise<void> {
    return this.polls.waitFor(n, timeoutMs);
  }

  waitForRequest(pred: (r: RecordedRequest) => boolean, timeoutMs = 5000): Promise<RecordedRequest> {
    return this.requestLog.waitFor(pred, timeoutMs);
  }

  /** Subscribe requests recorded so far (convenience for tests). */
  subscribeRequests(): RecordedRequest[] {
    return this.requestLog.requests.filter((r) => r.path === API_BASE + "subscribe");
  }

  // ---------------------------------------------------------------- extension points

  /**
   * Called for every routed POST request, before authentication and parameter checks. A subclass that answers the
   * request itself (e.g. with an injected fault) returns true. The default handles nothing.
   */
  protected intercept(_method: ApiMethod, _req: http.IncomingMessage, _res: http.ServerResponse): boolean {
    return false;
  }

  /**
   * Called for every authenticated request of a method other than subscribe and Time, before it is carried out.
   * A subclass returns a negative-Code envelope to refuse it instead. The default refuses nothing.
   */
  protected refusal(_method: ApiMethod, _query: Record<string, string>): object | undefined {
    return undefined;
  }

  /** Keeps a request open without ever answering it; it counts as an open poll until the client, restart() or stop() ends it. */
  protected holdWithoutAnswer(res: http.ServerResponse): void {
    this.polls.hold(res);
  }

  // ---------------------------------------------------------------- requests

  private arrived(r: ArrivedRequest): void {
    this.requestLog.add({ ...r, epoch: this.lifetime, seqAtArrival: this.log.seq });
  }

  /** A POST to an API method or the clock: extension points, sign-in, then the method. */
  private serve(method: ApiMethod, req: http.IncomingMessage, res: http.ServerResponse, query: Record<string, string>): void {
    if (this.intercept(method, req, res)) return;
    if (method === "Time") {
      sendText(res, 200, String(Date.now()));
      return;
    }
    const authError = this.signIn.check(query, this.apiKey);
    if (authError) {
      sendJson(res, 200, authError);
      return;
    }
    const refused = method === "subscribe" ? undefined : this.refusal(method, query);
    if (refused) {
      sendJson(res, 200, refused);
      return;
    }
    switch (method) {
      case "subscribe":
        this.polls.subscribe(res, query);
        return;
      case "answer":
        this.reply(res, this.control.answer(query));
        return;
      case "hangup":
        this.reply(res, this.control.hangup(query));
        return;
      case "dial":
        this.reply(res, this.control.dial(query));
        return;
      case "start":
      case "stop":
        sendJson(res, 200, this.control.recording(method, query));
        return;
    }
  }

  /** Sends the envelope, then tells the action listeners (which may change legs further) what happened. */
  private reply(res: http.ServerResponse, result: ControlResult): void {
    sendJson(res, 200, result.body);
    if (result.action) for (const listener of this.actionListeners) listener(result.action);
  }
}
