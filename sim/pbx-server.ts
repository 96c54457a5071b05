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
 */
import * as http from "node:http";
import * as https from "node:https";
import { createHash, randomUUID } from "node:crypto";
import type { AddressInfo, Socket } from "node:net";
import type { CallData, SubscribeEntry } from "../nodes/lib/types";

export type { CallData, SubscribeEntry };

export interface PbxServerOptions {
  /** The API key clients must send. Default: a random UUID. */
  apiKey?: string;
  /** When given, serve HTTPS. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Minimum time before any subscribe answer (the real PBX has ~100 ms). Default 0. */
  minPollMs?: number;
  /** Shape of `Data` on an answer without entries. Default "object" (`{}`). */
  emptyData?: "object" | "null" | "missing";
  /**
   * A poll whose lastSequenceNumber is above the counter (client from before a restart): "answer" at once with the
   * smaller counter and no entries, or "hold" (ignoring timeOut) until the counter passes it. Default "answer".
   */
  restartMode?: "answer" | "hold";
  /** Event log bound: the log keeps at least the newest `maxEvents` events (trimmed in batches). Default 100000. */
  maxEvents?: number;
  /** Request log bound (also bounds the answered, dialed and recordings logs), same trimming rule as `maxEvents`. Default 100000. */
  maxRequests?: number;
  /** lastSequenceNumber=0, nothing in progress, timeOut>0: "hold" like a normal poll (default) or "answer" at once. */
  idleSnapshot?: "hold" | "answer";
  /** Length of one `timeOut` unit in ms (default 1000); tests may shrink it to make idle timeouts fast. */
  timeOutUnitMs?: number;
  /** Counter value at start and after restart(). Default 1 (never 0: 0 means "send me the current state"). */
  initialSeq?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  /** The query string exactly as received (without the "?"), "" when absent. */
  rawQuery: string;
  /** Decoded like a Java servlet (form rules: "+" is a space); the first value wins for a repeated name. */
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  at: number;
  /** Server lifetime (restarts so far) and counter when the request arrived. */
  epoch: number;
  seqAtArrival: number;
}

/** One subscribe answer the server wrote (an answer to a poll the client had already dropped is not one). */
export interface RecordedAnswer {
  epoch: number;
  /** The `exten` list as the request gave it, joined with ",". */
  exten: string;
  /** The request's lastSequenceNumber. */
  last: number;
  /** The answer's seq. */
  seq: number;
  /** A current-state read (lastSequenceNumber=0). */
  snapshot: boolean;
  entries: number;
  at: number;
}

/** A dial the server accepted: the leg it created on the calling extension, and the parameters as decoded. */
export interface DialRecord {
  sessionId: string;
  /** The calling extension without its tech, where the Dialing Out leg was created. */
  exten: string;
  uniqueCallId: string;
  query: Record<string, string>;
}

/** A start/stop (recording) the server accepted, with the leg the target resolved to. */
export interface RecordingRecord {
  action: "start" | "stop";
  extenOrUniqueId: string;
  uniqueCallId: string;
  tag: string | undefined;
  agentLoginName: string | undefined;
}

export interface PbxEvent {
  /** Server lifetime: 0 before the first restart. */
  epoch: number;
  seq: number;
  exten: string;
  entry: SubscribeEntry;
  /** Date.now() when the change happened. */
  at: number;
}

export interface AnsweredCall {
  uniqueId: string;
  exten: string;
  answerString: string | undefined;
}

/** A successful answer, hangup or dial request, reported after the server applied it. */
export type ApiAction =
  | { method: "answer"; uniqueCallId: string; exten: string; answerString: string | undefined }
  | { method: "hangup"; uniqueCallId: string; exten: string; target: string }
  | { method: "dial"; uniqueCallId: string; exten: string; number: string; sessionId: string };

/** The API methods under /servicemanager/rest/CallManagementAPI/, plus "Time" for /servicemanager/rest/Time. */
export type ApiMethod = "subscribe" | "answer" | "hangup" | "dial" | "start" | "stop" | "Time";

/** Decodes one application/x-www-form-urlencoded component; undefined when malformed (Tomcat drops such params). */
export function decodeFormComponent(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, " "));
  } catch {
    return undefined;
  }
}

/** Parses a query string the way a Java servlet's getParameter() sees it. */
export function parseServletQuery(raw: string): Record<string, string> {
  // A plain object (tests deep-compare it); "__proto__" is dropped rather than touching the prototype.
  const out: Record<string, string> = {};
  if (raw === "") return out;
  for (const pair of raw.split("&")) {
    if (pair === "") continue;
    const eq = pair.indexOf("=");
    const name = decodeFormComponent(eq < 0 ? pair : pair.slice(0, eq));
    const value = decodeFormComponent(eq < 0 ? "" : pair.slice(eq + 1));
    if (name === undefined || value === undefined || name === "" || name === "__proto__") continue;
    if (!Object.prototype.hasOwnProperty.call(out, name)) out[name] = value;
  }
  return out;
}

/** "yyyy/MM/dd HH:mm:ss" in local time, the PBX's callStartTime format. */
export function pbxTimestamp(d: Date = new Date()): string {
  const p = (n: number): string => String(n).padStart(2, "0");
  return (
    `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ` +
    `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`
  );
}

/** Removes a technology prefix: "SIP/410" -> "410", "PJSIP/410" -> "410", "410" -> "410". */
export function stripTech(exten: string): string {
  const slash = exten.indexOf("/");
  return slash < 0 ? exten : exten.slice(slash + 1);
}

export const API_BASE = "/servicemanager/rest/CallManagementAPI/";
export const TIME_PATH = "/servicemanager/rest/Time";

/** Statuses after which a leg is no longer part of the current state. */
export const TERMINAL_STATUSES: ReadonlySet<string> = new Set(["Hungup", "Busy", "No Answer"]);

const CODE_EXPIRED = -1;
const CODE_BAD_PARAM = -2;
const CODE_BAD_KEY = -3;
const CODE_NOT_FOUND = -4;
const CODE_REFUSED = -5;

/** The envelope a wrong key gets. */
export const BAD_KEY_ENVELOPE = { Message: "Invalid API Key", Code: CODE_BAD_KEY } as const;
/** The envelope a stale timeStamp/hash pair gets (the vendor's own example of an error envelope). */
export const EXPIRED_ENVELOPE = { Message: "Expired TimeStamp", Code: CODE_EXPIRED } as const;

// setTimeout fires at once beyond this; longer waits are re-armed.
const MAX_TIMER_MS = 2 ** 31 - 1;
const HASH_FIRST_USE_MS = 10_000;
const HASH_VALID_MS = 3_600_000;
/** Pairs remembered before expired ones are pruned. */
const HASH_PRUNE_AT = 1000;
/** Ended legs remembered for CallID continuity. */
const MAX_ENDED_LEGS = 1000;

interface Leg {
  exten: string;
  callId: number;
  data: CallData;
}

/** Per-extension slice of the event log, oldest first; `head` skips trimmed events without shifting. */
interface ExtenLog {
  items: PbxEvent[];
  head: number;
}

type PollMode = "events" | "snapshot" | "restartHold" | "hang";

interface Poll {
  res: http.ServerResponse;
  extens: string[];
  mode: PollMode;
  /** Answer events with seq > baseline. */
  baseline: number;
  readyAt: number;
  deadline: number;
  timer: NodeJS.Timeout | undefined;
  done: boolean;
}

interface Waiter<T> {
  test: (x: T) => boolean;
  resolve: (x: T) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

/** An HTML error page in the style of the servlet container (Apache Tomcat) the PBX runs in. */
export function htmlErrorPage(status: number, title: string, detail: string): string {
  return (
    `<!doctype html><html lang="en"><head><title>HTTP Status ${status} – ${title}</title></head>` +
    `<body><h1>HTTP Status ${status} – ${title}</h1><hr class="line" /><p><b>Type</b> Status Report</p>` +
    `<p><b>Description</b> ${detail}</p><hr class="line" /><h3>Apache Tomcat</h3></body></html>`
  );
}

export const NOT_FOUND_PAGE = htmlErrorPage(
  404,
  "Not Found",
  "The origin server did not find a current representation for the target resource.",
);

/** Drops the oldest entries once `arr` exceeds `max` by a batch, so trimming stays amortised O(1). */
function trimBatch<T>(arr: T[], max: number): T[] {
  const slack = Math.max(1, Math.floor(max / 8));
  if (arr.length <= max + slack) return [];
  return arr.splice(0, arr.length - max);
}

/** "127.0.0.1:8089", "[::1]:8089"; a wildcard bind address is shown as the loopback address. */
function formatHostPort(host: string, port: number): string {
  const shown = host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host;
  return shown.includes(":") ? `[${shown}]:${port}` : `${shown}:${port}`;
}

export class PbxServer {
  apiKey: string;

  private readonly opts: {
    minPollMs: number;
    emptyData: "object" | "null" | "missing";
    restartMode: "answer" | "hold";
    maxEvents: number;
    maxRequests: number;
    idleSnapshot: "hold" | "answer";
    timeOutUnitMs: number;
    initialSeq: number;
  };
  private readonly tls: { key: string | Buffer; cert: string | Buffer } | undefined;

  private server: http.Server | https.Server | undefined;
  private listenPort = 0;
  private listenHost = "127.0.0.1";
  private readonly sockets = new Set<Socket>();

  private counter: number;
  private nextCallId = 1;
  private nextUniqueN = 1;

  private readonly legs = new Map<string, Leg>(); // by uniqueCallId
  private readonly legsByExten = new Map<string, Map<string, Leg>>(); // insertion order = age
  private readonly endedLegs = new Map<string, Leg>(); // recently ended, by uniqueCallId, oldest first
  private readonly eventLog: PbxEvent[] = [];
  private readonly logByExten = new Map<string, ExtenLog>();

  private readonly polls = new Set<Poll>();
  private readonly pollsByExten = new Map<string, Set<Poll>>(); // "events" polls only
  private readonly restartHeld = new Set<Poll>();
  private readonly wakeQueue = new Set<Poll>();
  private wakeHandle: NodeJS.Immediate | undefined;

  private readonly requestLog: RecordedRequest[] = [];
  private readonly answeredLog: AnsweredCall[] = [];
  private readonly dialedLog: DialRecord[] = [];
  private readonly recordingLog: RecordingRecord[] = [];
  private readonly hashFirstUse = new Map<string, number>();
  private lifetime = 0;
  private readonly answerLog: RecordedAnswer[] = [];
  /** Observers for load and soak accounting: every event of every lifetime, every request, every open/close. */
  onEvent: ((event: PbxEvent) => void) | undefined;
  onRequest: ((request: RecordedRequest) => void) | undefined;
  onPollsChanged: ((open: number) => void) | undefined;

  private readonly changeListeners = new Set<(ev: PbxEvent) => void>();
  private readonly actionListeners = new Set<(action: ApiAction) => void>();

  private pollWaiters: Array<Waiter<number>> = [];
  private requestWaiters: Array<Waiter<RecordedRequest>> = [];

  constructor(options: PbxServerOptions = {}) {
    this.apiKey = options.apiKey ?? randomUUID();
    this.tls = options.tls;
    this.opts = {
      minPollMs: options.minPollMs ?? 0,
      emptyData: options.emptyData ?? "object",
      restartMode: options.restartMode ?? "answer",
      maxEvents: Math.max(1, options.maxEvents ?? 100_000),
      maxRequests: Math.max(1, options.maxRequests ?? 100_000),
      idleSnapshot: options.idleSnapshot ?? "hold",
      timeOutUnitMs: options.timeOutUnitMs ?? 1000,
      initialSeq: options.initialSeq ?? 1,
    };
    this.counter = this.opts.initialSeq;
  }

  // ---------------------------------------------------------------- server lifecycle

  /** Listens on `host` (default 127.0.0.1) and `port` (default 0: any free port). */
  start(port = 0, host = "127.0.0.1"): Promise<void> {
    if (this.server) return Promise.reject(new Error("PbxServer already started"));
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => this.handle(req, res);
    const server = this.tls ? https.createServer({ key: this.tls.key, cert: this.tls.cert }, handler) : http.createServer(handler);
    // The raw TCP socket, also for https: destroying it tears down TLS too.
    server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => {
        this.server = undefined;
        reject(err);
      };
      server.once("error", onError);
      server.listen(port, host, () => {
        server.off("error", onError);
        const address = server.address() as AddressInfo;
        this.listenPort = address.port;
        this.listenHost = host;
        resolve();
      });
    });
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    for (const p of [...this.polls]) this.closePoll(p);
    if (this.wakeHandle) clearImmediate(this.wakeHandle);
    this.wakeHandle = undefined;
    this.wakeQueue.clear();
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const stopped = new Error("PBX server stopped");
    for (const w of [...this.pollWaiters, ...this.requestWaiters]) {
      clearTimeout(w.timer);
      w.reject(stopped);
    }
    this.pollWaiters = [];
    this.requestWaiters = [];
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  get port(): number {
    return this.listenPort;
  }

  get hostPort(): string {
    return formatHostPort(this.listenHost, this.listenPort);
  }

  get url(): string {
    return `${this.tls ? "https" : "http"}://${this.hostPort}`;
  }

  /** Full URL of an API method, e.g. apiUrl("subscribe"). */
  apiUrl(method: string): string {
    return `${this.url}${API_BASE}${method}`;
  }

  get seq(): number {
    return this.counter;
  }

  get requests(): RecordedRequest[] {
    return this.requestLog;
  }

  get events(): PbxEvent[] {
    return this.eventLog;
  }

  get answered(): AnsweredCall[] {
    return this.answeredLog;
  }

  /** Successful dial requests, oldest first. */
  get dialed(): DialRecord[] {
    return this.dialedLog;
  }

  /** Successful start/stop (recording) requests, oldest first. */
  get recordings(): RecordingRecord[] {
    return this.recordingLog;
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
    return `${Math.floor(Date.now() / 1000)}.${this.nextUniqueN++}`;
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
    return [...(this.legsByExten.get(exten)?.values() ?? [])].map((l) => ({ ...l.data }));
  }

  emit(exten: string, data: CallData): void {
    const callData: CallData = { ...data };
    let leg = this.legs.get(callData.uniqueCallId);
    if (leg && leg.exten !== exten) {
      // Same id reported on another extension: the leg moves there.
      this.removeLeg(leg);
      leg = undefined;
    }
    if (!leg) {
      const ended = this.endedLegs.get(callData.uniqueCallId);
      const callId = ended && ended.exten === exten ? ended.callId : this.nextCallId++;
      if (ended) this.endedLegs.delete(callData.uniqueCallId);
      leg = { exten, callId, data: callData };
      this.legs.set(callData.uniqueCallId, leg);
      let m = this.legsByExten.get(exten);
      if (!m) this.legsByExten.set(exten, (m = new Map()));
      m.set(callData.uniqueCallId, leg);
    }
    leg.data = callData;

    this.counter++;
    const ev: PbxEvent = { epoch: this.lifetime, seq: this.counter, exten, entry: { CallData: callData, CallID: leg.callId, Code: 0 }, at: Date.now() };
    this.appendEvent(ev);
    this.onEvent?.(ev);
    if (TERMINAL_STATUSES.has(callData.status)) this.endLeg(leg);

    const waiting = this.pollsByExten.get(exten);
    if (waiting) for (const p of waiting) this.queueWake(p);
    this.counterMoved();
    for (const listener of this.changeListeners) listener(ev);
  }

  bumpSeq(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new Error("PbxServer.bumpSeq: n must be a non-negative integer");
    this.counter += n;
    this.counterMoved();
  }

  /**
   * PBX restart: counter back to initialSeq, event log and held polls gone. `keepCalls` models a restart of the API
   * service alone: the calls go on, renumbered.
   */
  restart(options: { keepCalls?: boolean } = {}): void {
    this.lifetime += 1;
    this.counter = this.opts.initialSeq;
    this.nextCallId = 1;
    if (options.keepCalls) {
      for (const leg of this.legs.values()) leg.callId = this.nextCallId++;
    } else {
      this.legs.clear();
      this.legsByExten.clear();
    }
    this.endedLegs.clear();
    this.eventLog.length = 0;
    this.logByExten.clear();
    this.hashFirstUse.clear();
    // A restarting server drops its connections: held polls see their socket close without an answer.
    for (const p of [...this.polls]) {
      this.closePoll(p);
      p.res.socket?.destroy();
    }
  }

  // ---------------------------------------------------------------- observation helpers

  get epoch(): number {
    return this.lifetime;
  }

  get answers(): RecordedAnswer[] {
    return this.answerLog;
  }

  openPolls(): number {
    return this.polls.size;
  }

  waitForPolls(n: number, timeoutMs = 5000): Promise<void> {
    if (this.polls.size === n) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w: Waiter<number> = {
        test: (count) => count === n,
        resolve: () => resolve(),
        reject,
        timer: setTimeout(() => {
          this.pollWaiters = this.pollWaiters.filter((x) => x !== w);
          reject(new Error(`waitForPolls(${n}): still ${this.polls.size} open after ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.pollWaiters.push(w);
    });
  }

  waitForRequest(pred: (r: RecordedRequest) => boolean, timeoutMs = 5000): Promise<RecordedRequest> {
    const found = this.requestLog.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise<RecordedRequest>((resolve, reject) => {
      const w: Waiter<RecordedRequest> = {
        test: pred,
        resolve,
        reject,
        timer: setTimeout(() => {
          this.requestWaiters = this.requestWaiters.filter((x) => x !== w);
          reject(new Error(`waitForRequest: no matching request within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.requestWaiters.push(w);
    });
  }

  /** Subscribe requests recorded so far (convenience for tests). */
  subscribeRequests(): RecordedRequest[] {
    return this.requestLog.filter((r) => r.path === API_BASE + "subscribe");
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
    this.openPoll({ res, extens: [], mode: "hang", baseline: 0, readyAt: 0, deadline: Infinity, timer: undefined, done: false });
  }

  // ---------------------------------------------------------------- event log

  private appendEvent(ev: PbxEvent): void {
    this.eventLog.push(ev);
    let log = this.logByExten.get(ev.exten);
    if (!log) this.logByExten.set(ev.exten, (log = { items: [], head: 0 }));
    log.items.push(ev);

    for (const old of trimBatch(this.eventLog, this.opts.maxEvents)) {
      // The globally oldest event is also the oldest of its extension.
      const l = this.logByExten.get(old.exten);
      if (!l) continue;
      l.head++;
      if (l.head >= l.items.length) this.logByExten.delete(old.exten);
      else if (l.head > 1024 && l.head * 2 > l.items.length) {
        l.items = l.items.slice(l.head);
        l.head = 0;
      }
    }
  }

  /** Entries with seq > baseline on the given extensions, grouped by extension, oldest first. */
  private collect(extens: string[], baseline: number): Record<string, SubscribeEntry[]> | undefined {
    let data: Record<string, SubscribeEntry[]> | undefined;
    for (const exten of extens) {
      const log = this.logByExten.get(exten);
      if (!log) continue;
      const items = log.items;
      if (items.length === 0 || items[items.length - 1].seq <= baseline) continue;
      let lo = log.head;
      let hi = items.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (items[mid].seq <= baseline) lo = mid + 1;
        else hi = mid;
      }
      const entries: SubscribeEntry[] = [];
      for (let i = lo; i < items.length; i++) entries.push(items[i].entry);
      (data ??= {})[exten] = entries;
    }
    return data;
  }

  /** The calls in progress on the given extensions, each as its latest entry. */
  private snapshot(extens: string[]): Record<string, SubscribeEntry[]> | undefined {
    let data: Record<string, SubscribeEntry[]> | undefined;
    for (const exten of extens) {
      const m = this.legsByExten.get(exten);
      if (!m || m.size === 0) continue;
      (data ??= {})[exten] = [...m.values()].map((l) => ({ CallData: l.data, CallID: l.callId, Code: 0 }));
    }
    return data;
  }

  private hasLegs(extens: string[]): boolean {
    return extens.some((e) => (this.legsByExten.get(e)?.size ?? 0) > 0);
  }

  private removeLeg(leg: Leg): void {
    this.legs.delete(leg.data.uniqueCallId);
    const m = this.legsByExten.get(leg.exten);
    if (m) {
      m.delete(leg.data.uniqueCallId);
      if (m.size === 0) this.legsByExten.delete(leg.exten);
    }
  }

  /** Removes an ended leg from the current state and remembers its CallID for a while. */
  private endLeg(leg: Leg): void {
    this.removeLeg(leg);
    this.endedLegs.set(leg.data.uniqueCallId, leg);
    if (this.endedLegs.size > MAX_ENDED_LEGS) {
      const oldest = this.endedLegs.keys().next().value;
      if (oldest !== undefined) this.endedLegs.delete(oldest);
    }
  }

  /** The extension's most recent leg in progress. */
  private latestLeg(exten: string): Leg | undefined {
    let last: Leg | undefined;
    for (const l of this.legsByExten.get(exten)?.values() ?? []) last = l;
    return last;
  }

  // ---------------------------------------------------------------- polls

  /** Wakes are batched on setImmediate so events emitted in one tick reach a poll in one answer. */
  private queueWake(p: Poll): void {
    this.wakeQueue.add(p);
    this.wakeHandle ??= setImmediate(() => {
      this.wakeHandle = undefined;
      const batch = [...this.wakeQueue];
      this.wakeQueue.clear();
      for (const q of batch) this.evaluate(q);
    });
  }

  private counterMoved(): void {
    for (const p of this.restartHeld) if (this.counter > p.baseline) this.queueWake(p);
  }

  private openPoll(p: Poll): void {
    this.polls.add(p);
    if (p.mode === "events") {
      for (const e of p.extens) {
        let s = this.pollsByExten.get(e);
        if (!s) this.pollsByExten.set(e, (s = new Set()));
        s.add(p);
      }
    } else if (p.mode === "restartHold") {
      this.restartHeld.add(p);
    }
    // A client abort (or reset) closes the response before we answer.
    p.res.on("close", () => {
      if (!p.done) this.closePoll(p);
    });
    this.pollsChanged();
  }

  private closePoll(p: Poll): void {
    if (p.done) return;
    p.done = true;
    if (p.timer) clearTimeout(p.timer);
    p.timer = undefined;
    this.polls.delete(p);
    for (const e of p.extens) {
      const s = this.pollsByExten.get(e);
      if (s && s.delete(p) && s.size === 0) this.pollsByExten.delete(e);
    }
    this.restartHeld.delete(p);
    this.wakeQueue.delete(p);
    this.pollsChanged();
  }

  private arm(p: Poll, at: number): void {
    if (p.timer) clearTimeout(p.timer);
    const delay = Math.min(Math.max(0, at - Date.now()), MAX_TIMER_MS);
    p.timer = setTimeout(() => {
      p.timer = undefined;
      this.evaluate(p);
    }, delay);
  }

  /** Answers the poll if it may and should be answered now, else (re)arms its timer. */
  private evaluate(p: Poll): void {
    if (p.done) return;
    const now = Date.now();
    if (now < p.readyAt) {
      if (p.mode !== "hang") this.arm(p, p.readyAt);
      return;
    }
    switch (p.mode) {
      case "hang":
        return;
      case "snapshot":
        this.answerPoll(p, this.snapshot(p.extens));
        return;
      case "restartHold":
        if (this.counter > p.baseline) this.answerPoll(p, this.collect(p.extens, p.baseline));
        return;
      case "events": {
        const data = this.collect(p.extens, p.baseline);
        if (data || now >= p.deadline) this.answerPoll(p, data);
        else this.arm(p, p.deadline);
        return;
      }
    }
  }

  private answerPoll(p: Poll, data: Record<string, SubscribeEntry[]> | undefined): void {
    const body: Record<string, unknown> = {};
    if (data) body.Data = data;
    else if (this.opts.emptyData === "object") body.Data = {};
    else if (this.opts.emptyData === "null") body.Data = null;
    body.seq = this.counter;
    body.Code = 0;
    this.closePoll(p);
    if (p.res.writableEnded || p.res.destroyed) return;
    let entries = 0;
    for (const list of Object.values(data ?? {})) entries += list.length;
    this.answerLog.push({
      epoch: this.lifetime,
      exten: p.extens.join(","),
      last: p.baseline,
      seq: this.counter,
      snapshot: p.mode === "snapshot",
      entries,
      at: Date.now(),
    });
    trimBatch(this.answerLog, this.opts.maxRequests);
    sendJson(p.res, 200, body);
  }

  private pollsChanged(): void {
    this.onPollsChanged?.(this.polls.size);
    if (this.pollWaiters.length === 0) return;
    const n = this.polls.size;
    const ready = this.pollWaiters.filter((w) => w.test(n));
    if (ready.length === 0) return;
    this.pollWaiters = this.pollWaiters.filter((w) => !ready.includes(w));
    for (const w of ready) {
      clearTimeout(w.timer);
      w.resolve(n);
    }
  }

  // ---------------------------------------------------------------- HTTP

  private record(r: RecordedRequest): void {
    this.requestLog.push(r);
    trimBatch(this.requestLog, this.opts.maxRequests);
    this.onRequest?.(r);
    if (this.requestWaiters.length === 0) return;
    const ready = this.requestWaiters.filter((w) => w.test(r));
    if (ready.length === 0) return;
    this.requestWaiters = this.requestWaiters.filter((w) => !ready.includes(w));
    for (const w of ready) {
      clearTimeout(w.timer);
      w.resolve(r);
    }
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    req.resume(); // the API uses empty bodies; drain whatever comes so keep-alive works
    const target = req.url ?? "/";
    const qi = target.indexOf("?");
    const pathname = qi < 0 ? target : target.slice(0, qi);
    const rawQuery = qi < 0 ? "" : target.slice(qi + 1);
    const query = parseServletQuery(rawQuery);
    this.record({
      method: req.method ?? "",
      path: pathname,
      rawQuery,
      query,
      headers: req.headers,
      at: Date.now(),
      epoch: this.lifetime,
      seqAtArrival: this.counter,
    });

    let method: ApiMethod | undefined;
    if (pathname === TIME_PATH) method = "Time";
    else if (pathname.startsWith(API_BASE)) method = API_METHODS.get(pathname.slice(API_BASE.length));
    if (method === undefined) {
      sendHtml(res, 404, NOT_FOUND_PAGE);
      return;
    }
    if (req.method !== "POST") {
      const page = htmlErrorPage(405, "Method Not Allowed", "The method received is not supported by the target resource.");
      sendHtml(res, 405, page, { Allow: "POST" });
      return;
    }
    if (this.intercept(method, req, res)) return;
    if (method === "Time") {
      sendText(res, 200, String(Date.now()));
      return;
    }
    const authError = this.checkAuth(query);
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
        this.subscribe(res, query);
        return;
      case "answer":
        this.reply(res, this.answer(query));
        return;
      case "hangup":
        this.reply(res, this.hangup(query));
        return;
      case "dial":
        this.reply(res, this.dial(query));
        return;
      case "start":
      case "stop":
        sendJson(res, 200, this.recording(method, query));
        return;
    }
  }

  /** Sends the envelope, then tells the action listeners (which may change legs further) what happened. */
  private reply(res: http.ServerResponse, result: { body: object; action?: ApiAction }): void {
    sendJson(res, 200, result.body);
    if (result.action) for (const listener of this.actionListeners) listener(result.action);
  }

  /** apiKey, or the older timeStamp/hash pair (valid 10 s until first used, then 1 hour). */
  private checkAuth(q: Record<string, string>): object | undefined {
    if (q.apiKey !== undefined) return q.apiKey === this.apiKey ? undefined : BAD_KEY_ENVELOPE;
    const ts = q.timeStamp;
    const hash = q.hash;
    if (ts === undefined || hash === undefined) return BAD_KEY_ENVELOPE;
    const expected = createHash("sha256").update(`${this.apiKey}:${ts}`).digest("hex");
    if (hash !== expected) return BAD_KEY_ENVELOPE;
    const now = Date.now();
    const first = this.hashFirstUse.get(hash);
    if (first === undefined) {
      const t = Number(ts);
      if (!Number.isFinite(t) || Math.abs(now - t) > HASH_FIRST_USE_MS) return EXPIRED_ENVELOPE;
      this.pruneHashes(now);
      this.hashFirstUse.set(hash, now);
      return undefined;
    }
    return now - first > HASH_VALID_MS ? EXPIRED_ENVELOPE : undefined;
  }

  /** Forgets expired pairs once many are remembered, so a long-running server stays bounded. */
  private pruneHashes(now: number): void {
    if (this.hashFirstUse.size < HASH_PRUNE_AT) return;
    for (const [hash, first] of this.hashFirstUse) if (now - first > HASH_VALID_MS) this.hashFirstUse.delete(hash);
  }

  private subscribe(res: http.ServerResponse, q: Record<string, string>): void {
    const extens = [...new Set((q.exten ?? "").split(",").filter((e) => e !== ""))];
    if (extens.length === 0) {
      sendJson(res, 200, { Message: "Missing parameter: exten", Code: CODE_BAD_PARAM });
      return;
    }
    const lastRaw = q.lastSequenceNumber;
    if (lastRaw === undefined || !/^\d+$/.test(lastRaw)) {
      sendJson(res, 200, { Message: "Missing or invalid parameter: lastSequenceNumber", Code: CODE_BAD_PARAM });
      return;
    }
    const timeOutRaw = q.timeOut ?? "10";
    if (!/^\d+$/.test(timeOutRaw)) {
      sendJson(res, 200, { Message: "Invalid parameter: timeOut", Code: CODE_BAD_PARAM });
      return;
    }
    const last = Number(lastRaw);
    const timeOut = Number(timeOutRaw);
    const now = Date.now();
    const p: Poll = {
      res,
      extens,
      mode: "events",
      baseline: last,
      readyAt: now + this.opts.minPollMs,
      deadline: now + timeOut * this.opts.timeOutUnitMs,
      timer: undefined,
      done: false,
    };
    if (last === 0) {
      if (timeOut === 0 || this.opts.idleSnapshot === "answer" || this.hasLegs(extens)) p.mode = "snapshot";
      else p.baseline = this.counter; // nothing in progress: wait for the first change like a normal poll
    } else if (last > this.counter) {
      if (this.opts.restartMode === "hold") p.mode = "restartHold";
      else p.deadline = now;
    }
    this.openPoll(p);
    this.evaluate(p);
  }

  private answer(q: Record<string, string>): { body: object; action?: ApiAction } {
    const uniqueId = q.uniqueId;
    const exten = q.exten;
    if (!uniqueId || !exten) return { body: { Message: "Missing parameter: uniqueId and exten are required", Code: CODE_BAD_PARAM } };
    const leg = this.legs.get(uniqueId);
    if (!leg) return { body: { Message: `No call found with uniqueId ${uniqueId}`, Code: CODE_NOT_FOUND } };
    if (stripTech(exten) !== leg.exten) return { body: { Message: `Call ${uniqueId} is not ringing on ${exten}`, Code: CODE_REFUSED } };
    if (leg.data.status !== "Ringing" || leg.data.canAnswer === false) {
      return { body: { Message: `Call ${uniqueId} cannot be answered (${leg.data.status})`, Code: CODE_REFUSED } };
    }
    this.emit(leg.exten, { ...leg.data, status: "Connected", canAnswer: false, callStartTime: pbxTimestamp() });
    this.answeredLog.push({ uniqueId, exten, answerString: q.answerString });
    trimBatch(this.answeredLog, this.opts.maxRequests);
    return {
      body: { Message: "Call answered", Code: 0 },
      action: { method: "answer", uniqueCallId: uniqueId, exten: leg.exten, answerString: q.answerString },
    };
  }

  private hangup(q: Record<string, string>): { body: object; action?: ApiAction } {
    const target = q.extenOrUniqueId;
    if (!target) return { body: { Message: "Missing parameter: extenOrUniqueId", Code: CODE_BAD_PARAM } };
    const leg = this.legs.get(target) ?? this.latestLeg(stripTech(target));
    if (!leg) return { body: { Message: `No channel found for ${target}`, Code: CODE_NOT_FOUND } };
    this.emit(leg.exten, { ...leg.data, status: "Hungup", canAnswer: false });
    return {
      body: { Message: "Channel Hungup", Code: 0 },
      action: { method: "hangup", uniqueCallId: leg.data.uniqueCallId, exten: leg.exten, target },
    };
  }

  private dial(q: Record<string, string>): { body: object; action?: ApiAction } {
    const number = q.number;
    const from = q.extenOrUniqueId;
    if (!number || !from) return { body: { Message: "Missing parameter: number and extenOrUniqueId are required", Code: CODE_BAD_PARAM } };
    if (!/^[A-Za-z0-9]+\/./.test(from)) {
      return { body: { Message: `extenOrUniqueId must carry a technology, e.g. SIP/100 (got ${from})`, Code: CODE_BAD_PARAM } };
    }
    const exten = stripTech(from);
    const uniqueCallId = this.startCall(exten, {
      canAnswer: false,
      callerId: number,
      inbound: false,
      isClickToDialCall: true,
      status: "Dialing Out",
    });
    const sessionId = randomUUID();
    this.dialedLog.push({ sessionId, exten, uniqueCallId, query: { ...q } });
    trimBatch(this.dialedLog, this.opts.maxRequests);
    return {
      body: { SessionID: sessionId, Message: "Dialing", Code: 0 },
      action: { method: "dial", uniqueCallId, exten, number, sessionId },
    };
  }

  private recording(method: "start" | "stop", q: Record<string, string>): object {
    const target = q.extenOrUniqueId;
    if (!target) return { Message: "Missing parameter: extenOrUniqueId", Code: CODE_BAD_PARAM };
    const leg = this.legs.get(target) ?? this.latestLeg(stripTech(target));
    if (!leg) return { Message: `No channel found for ${target}`, Code: CODE_NOT_FOUND };
    this.recordingLog.push({
      action: method,
      extenOrUniqueId: target,
      uniqueCallId: leg.data.uniqueCallId,
      tag: q.tag,
      agentLoginName: q.agentLoginName,
    });
    trimBatch(this.recordingLog, this.opts.maxRequests);
    return { Message: method === "start" ? "Recording started" : "Recording stopped", Code: 0 };
  }
}

const API_METHODS: ReadonlyMap<string, ApiMethod> = new Map(
  (["subscribe", "answer", "hangup", "dial", "start", "stop"] as const).map((m) => [m, m]),
);

export function sendRaw(res: http.ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(status, { ...extra, "Content-Type": type, "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

export function sendJson(res: http.ServerResponse, status: number, body: object): void {
  sendRaw(res, status, "application/json", JSON.stringify(body));
}

export function sendHtml(res: http.ServerResponse, status: number, body: string, extra: Record<string, string> = {}): void {
  sendRaw(res, status, "text/html;charset=utf-8", body, extra);
}

export function sendText(res: http.ServerResponse, status: number, body: string): void {
  sendRaw(res, status, "text/plain;charset=utf-8", body);
}
