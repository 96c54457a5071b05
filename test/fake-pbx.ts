/**
 * A fake Noojee PBX (Call Management API) for behaviour, end-to-end, benchmark and soak tests.
 *
 * It is a real HTTP(S) server on 127.0.0.1 that follows /work/shared/noojee-api.md as closely as the public material
 * allows, and lets a test drive call legs, jump the global counter, restart the "PBX" and inject transport faults.
 *
 * Choices where the real PBX is unknown (documented here so tests can rely on them):
 * - `lastSequenceNumber=0` with no call in progress on the requested extensions and `timeOut>0` is held like a normal
 *   poll (answered by the first event after the request, or empty at `timeOut`); option `idleSnapshot: "answer"`
 *   answers it at once instead.
 * - `lastSequenceNumber` above the counter: see `restartMode`.
 * - A wrong key answers `{"Message":"Invalid API Key","Code":-3}` with HTTP 200 (faults `badKey401` etc. for the rest).
 * - Parameter errors answer a negative-Code envelope (no `Data`, no `seq`), like the vendor's error envelopes.
 * - `exten` values are taken literally (not trimmed, no tech prefix stripped): a client sending `SIP/410` or `400, 410`
 *   to subscribe simply never hears about 410, as it presumably would on the real PBX.
 * - Events emitted in one tick reach a held poll in one answer (wakes are batched on setImmediate).
 * - Faults replace the next subscribe answers before any key or parameter check, and ignore minPollMs.
 *   refuseNext(method) makes the next request of another method answer a negative Code, after the key check.
 * - The counter starts at `initialSeq` (1) and restart() puts it back there; CallIDs restart at 1 too.
 *   `restart({ keepCalls: true })` models a restart of the API service alone: the calls go on (renumbered CallIDs),
 *   but the counter, the event log and the held polls are gone, as they live in the service's memory.
 * - Every subscribe answer is recorded in `answers` (bounded like `requests`), and `onEvent` sees every event of every
 *   server lifetime (`epoch`, 0 before the first restart): the soak test's accounting reads both.
 * - hangup/start/stop take a uniqueCallId, or an extension (bare or with tech) meaning its newest leg in progress.
 *   start/stop only check that such a leg exists (a stop without a start is accepted) and log it in `recordings`.
 * - dial ignores `monitored`, `record` and the other optional parameters (they are in `dialed[].query`) and always
 *   creates a Dialing Out leg on the calling extension.
 */
import * as http from "node:http";
import * as https from "node:https";
import * as fs from "node:fs";
import * as path from "node:path";
import { createHash, randomUUID } from "node:crypto";
import type { AddressInfo, Socket } from "node:net";
import type { CallData, SubscribeEntry } from "../nodes/lib/types";

export type FaultKind =
  | "hang"
  | "reset"
  | "http500"
  | "html502"
  | "empty200"
  | "malformed"
  | "negativeCode"
  | "badKey200"
  | "badKey401"
  | "html404";

export const FAULT_KINDS: readonly FaultKind[] = [
  "hang",
  "reset",
  "http500",
  "html502",
  "empty200",
  "malformed",
  "negativeCode",
  "badKey200",
  "badKey401",
  "html404",
];

export interface FakePbxOptions {
  /** Default "test-key-123e4567-e89b". */
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
  /** Request log bound, same trimming rule as `maxEvents`. Default 100000. */
  maxRequests?: number;
  /** lastSequenceNumber=0, nothing in progress, timeOut>0: "hold" like a normal poll (default) or "answer" at once. */
  idleSnapshot?: "hold" | "answer";
  /** Length of one `timeOut` unit in ms (default 1000); tests may shrink it to make idle timeouts fast. */
  timeOutUnitMs?: number;
  /** Counter value at start and after restart(). Default 1 (never 0: 0 means "send me the current state"). */
  initialSeq?: number;
}

/** One subscribe answer that the fake PBX wrote (an answer to a poll the client had already dropped is not one). */
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

export interface RecordedRequest {
  method: string;
  path: string;
  /** The query string exactly as received (without the "?"), "" when absent. */
  rawQuery: string;
  /** Decoded like a Java servlet (form rules: "+" is a space); the first value wins for a repeated name. */
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  at: number;
  /** Server lifetime and counter when the request arrived. */
  epoch: number;
  seqAtArrival: number;
}

/** A dial the fake accepted: the leg it created on the calling extension, and the parameters as decoded. */
export interface DialRecord {
  sessionId: string;
  /** The calling extension without its tech, where the Dialing Out leg was created. */
  exten: string;
  uniqueCallId: string;
  query: Record<string, string>;
}

/** A start/stop (recording) the fake accepted, with the leg the target resolved to. */
export interface RecordingRecord {
  action: "start" | "stop";
  extenOrUniqueId: string;
  uniqueCallId: string;
  tag: string | undefined;
  agentLoginName: string | undefined;
}

export interface PbxEvent {
  /** Server lifetime: 0 before the first restart, +1 per restart. */
  epoch: number;
  seq: number;
  exten: string;
  entry: SubscribeEntry;
}

/** Reads the self-signed certificate (CN / IP SAN 127.0.0.1, valid 100 years) stored in test/fixtures. */
export function loadTestTls(): { key: Buffer; cert: Buffer } {
  // Compiled to dist/test/, the fixtures stay in test/fixtures.
  const dir = path.join(__dirname, "..", "..", "test", "fixtures");
  return {
    key: fs.readFileSync(path.join(dir, "selfsigned-key.pem")),
    cert: fs.readFileSync(path.join(dir, "selfsigned-cert.pem")),
  };
}

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

const BAD_KEY = { Message: "Invalid API Key", Code: CODE_BAD_KEY } as const;
const EXPIRED = { Message: "Expired TimeStamp", Code: CODE_EXPIRED } as const;
const REFUSED = { Message: "Request refused", Code: CODE_REFUSED } as const;

// setTimeout fires at once beyond this; longer waits are re-armed.
const MAX_TIMER_MS = 2 ** 31 - 1;
const HASH_FIRST_USE_MS = 10_000;
const HASH_VALID_MS = 3_600_000;

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
  /** The request's lastSequenceNumber. */
  requestedLast: number;
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

function htmlPage(status: number, title: string, detail: string): string {
  return (
    `<!doctype html><html lang="en"><head><title>HTTP Status ${status} – ${title}</title></head>` +
    `<body><h1>HTTP Status ${status} – ${title}</h1><hr class="line" /><p><b>Type</b> Status Report</p>` +
    `<p><b>Description</b> ${detail}</p><hr class="line" /><h3>Apache Tomcat</h3></body></html>`
  );
}

const NOT_FOUND_PAGE = htmlPage(404, "Not Found", "The origin server did not find a current representation for the target resource.");
const UNAUTHORIZED_PAGE = htmlPage(401, "Unauthorized", "The request lacks valid authentication credentials.");
const NGINX_502_PAGE =
  "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n" +
  "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
const STACK_TRACE_500 =
  "java.lang.NullPointerException\n\tat au.com.noojee.CallManagementAPI.subscribe(CallManagementAPI.java:212)\n";

/** Drops the oldest entries once `arr` exceeds `max` by a batch, so trimming stays amortised O(1). */
function trimBatch<T>(arr: T[], max: number): T[] {
  const slack = Math.max(1, Math.floor(max / 8));
  if (arr.length <= max + slack) return [];
  return arr.splice(0, arr.length - max);
}

export class FakePbx {
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
  private readonly sockets = new Set<Socket>();

  private counter: number;
  private lifetime = 0;
  private readonly answerLog: RecordedAnswer[] = [];
  /** Called for every event, in every server lifetime (the event log itself is cleared by restart()). */
  onEvent: ((event: PbxEvent) => void) | undefined;
  /** Called for every request as it arrives (the benchmark counts requests without keeping them). */
  onRequest: ((request: RecordedRequest) => void) | undefined;
  /** Called with the number of open polls whenever a poll opens or closes (the soak test watches for two at once). */
  onPollsChanged: ((open: number) => void) | undefined;
  private nextCallId = 1;
  private nextUniqueN = 1;

  private readonly legs = new Map<string, Leg>(); // by uniqueCallId
  private readonly legsByExten = new Map<string, Map<string, Leg>>(); // insertion order = age
  private readonly eventLog: PbxEvent[] = [];
  private readonly logByExten = new Map<string, ExtenLog>();

  private readonly polls = new Set<Poll>();
  private readonly pollsByExten = new Map<string, Set<Poll>>(); // "events" polls only
  private readonly restartHeld = new Set<Poll>();
  private readonly wakeQueue = new Set<Poll>();
  private wakeHandle: NodeJS.Immediate | undefined;

  private readonly faults: Array<{ kind: FaultKind; remaining: number }> = [];
  private readonly refusals = new Map<string, Array<{ Message: string; Code: number }>>();
  private readonly requestLog: RecordedRequest[] = [];
  private readonly answeredLog: Array<{ uniqueId: string; exten: string; answerString: string | undefined }> = [];
  private readonly dialedLog: DialRecord[] = [];
  private readonly recordingLog: RecordingRecord[] = [];
  private readonly hashFirstUse = new Map<string, number>();

  private pollWaiters: Array<Waiter<number>> = [];
  private requestWaiters: Array<Waiter<RecordedRequest>> = [];

  constructor(options: FakePbxOptions = {}) {
    this.apiKey = options.apiKey ?? "test-key-123e4567-e89b";
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

  start(port = 0): Promise<void> {
    if (this.server) return Promise.reject(new Error("FakePbx already started"));
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => this.handle(req, res);
    const server = this.tls ? https.createServer({ key: this.tls.key, cert: this.tls.cert }, handler) : http.createServer(handler);
    // The raw TCP socket, also for https: destroying it tears down TLS too.
    server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        this.listenPort = (server.address() as AddressInfo).port;
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
    const stopped = new Error("FakePbx stopped");
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
    return `127.0.0.1:${this.listenPort}`;
  }

  get url(): string {
    return `${this.tls ? "https" : "http"}://${this.hostPort}`;
  }

  /** Full URL of an API method, e.g. apiUrl("subscribe"). */
  apiUrl(method: string): string {
    return `${this.url}${API_BASE}${method}`;
  }

  /** Server lifetime: 0 until the first restart(). */
  get epoch(): number {
    return this.lifetime;
  }

  /** Subscribe answers written, oldest first (bounded like `requests`). */
  get answers(): RecordedAnswer[] {
    return this.answerLog;
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

  get answered(): Array<{ uniqueId: string; exten: string; answerString: string | undefined }> {
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

  // ---------------------------------------------------------------- call legs

  startCall(exten: string, init: Partial<CallData> = {}): string {
    const uniqueCallId = init.uniqueCallId ?? `${Math.floor(Date.now() / 1000)}.${this.nextUniqueN++}`;
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

  update(exten: string, uniqueCallId: string, patch: Partial<CallData>): void {
    const leg = this.legs.get(uniqueCallId);
    if (!leg || leg.exten !== exten) throw new Error(`FakePbx: no call ${uniqueCallId} in progress on ${exten}`);
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
      leg = { exten, callId: this.nextCallId++, data: callData };
      this.legs.set(callData.uniqueCallId, leg);
      let m = this.legsByExten.get(exten);
      if (!m) this.legsByExten.set(exten, (m = new Map()));
      m.set(callData.uniqueCallId, leg);
    }
    leg.data = callData;

    this.counter++;
    const ev: PbxEvent = { epoch: this.lifetime, seq: this.counter, exten, entry: { CallData: callData, CallID: leg.callId, Code: 0 } };
    this.appendEvent(ev);
    this.onEvent?.(ev);
    if (TERMINAL_STATUSES.has(callData.status)) this.removeLeg(leg);

    const waiting = this.pollsByExten.get(exten);
    if (waiting) for (const p of waiting) this.queueWake(p);
    this.counterMoved();
  }

  bumpSeq(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new Error("FakePbx.bumpSeq: n must be a non-negative integer");
    this.counter += n;
    this.counterMoved();
  }

  /** The server forgets its counter, event log and polls; with `keepCalls` the calls in progress go on. */
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
    this.eventLog.length = 0;
    this.logByExten.clear();
    this.hashFirstUse.clear();
    // A restarting server drops its connections: held polls see their socket close without an answer.
    for (const p of [...this.polls]) {
      this.closePoll(p);
      p.res.socket?.destroy();
    }
  }

  fault(kind: FaultKind, count = 1): void {
    if (count > 0) this.faults.push({ kind, remaining: count });
  }

  /** Drops the faults queued and not yet served. */
  clearFaults(): void {
    this.faults.length = 0;
  }

  /**
   * The next request of `method` (answer, dial, hangup, start, stop) that passes the key check is refused with this
   * negative-Code envelope instead of being carried out; several calls queue in order. For refusals the fake has no
   * natural reason for (e.g. a dial the real PBX refuses for its own reasons).
   */
  refuseNext(method: "answer" | "dial" | "hangup" | "start" | "stop", envelope: { Message: string; Code: number } = REFUSED): void {
    if (envelope.Code >= 0) throw new Error("FakePbx.refuseNext: a refusal has a negative Code");
    let queue = this.refusals.get(method);
    if (!queue) this.refusals.set(method, (queue = []));
    queue.push(envelope);
  }

  /** Faults queued and not yet served. */
  pendingFaults(): number {
    return this.faults.reduce((n, f) => n + f.remaining, 0);
  }

  // ---------------------------------------------------------------- observation helpers

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
          reject(new Error(`FakePbx.waitForPolls(${n}): still ${this.polls.size} open after ${timeoutMs} ms`));
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
          reject(new Error(`FakePbx.waitForRequest: no matching request within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.requestWaiters.push(w);
    });
  }

  /** Subscribe requests recorded so far (convenience for tests). */
  subscribeRequests(): RecordedRequest[] {
    return this.requestLog.filter((r) => r.path === API_BASE + "subscribe");
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
      last: p.mode === "snapshot" ? 0 : p.requestedLast,
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
    this.onRequest?.(r);
    this.requestLog.push(r);
    trimBatch(this.requestLog, this.opts.maxRequests);
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

    let method: string | undefined;
    if (pathname === TIME_PATH) method = "Time";
    else if (pathname.startsWith(API_BASE) && API_METHODS.has(pathname.slice(API_BASE.length))) {
      method = pathname.slice(API_BASE.length);
    }
    if (method === undefined) {
      sendHtml(res, 404, NOT_FOUND_PAGE);
      return;
    }
    if (req.method !== "POST") {
      sendHtml(res, 405, htmlPage(405, "Method Not Allowed", "The method received is not supported by the target resource."), {
        Allow: "POST",
      });
      return;
    }
    if (method === "Time") {
      sendText(res, 200, String(Date.now()));
      return;
    }
    if (method === "subscribe" && this.faults.length > 0) {
      const f = this.faults[0];
      if (--f.remaining <= 0) this.faults.shift();
      this.serveFault(f.kind, req, res);
      return;
    }
    const authError = this.checkAuth(query);
    if (authError) {
      sendJson(res, 200, authError);
      return;
    }
    const refusal = this.refusals.get(method)?.shift();
    if (refusal) {
      sendJson(res, 200, refusal);
      return;
    }
    switch (method) {
      case "subscribe":
        this.subscribe(res, query);
        return;
      case "answer":
        sendJson(res, 200, this.answer(query));
        return;
      case "hangup":
        sendJson(res, 200, this.hangup(query));
        return;
      case "dial":
        sendJson(res, 200, this.dial(query));
        return;
      case "start":
      case "stop":
        sendJson(res, 200, this.recording(method, query));
        return;
    }
  }

  private serveFault(kind: FaultKind, req: http.IncomingMessage, res: http.ServerResponse): void {
    switch (kind) {
      case "hang":
        this.openPoll({
          res,
          extens: [],
          mode: "hang",
          baseline: 0,
          requestedLast: 0,
          readyAt: 0,
          deadline: Infinity,
          timer: undefined,
          done: false,
        });
        return;
      case "reset":
        req.socket.destroy();
        return;
      case "http500":
        sendText(res, 500, STACK_TRACE_500);
        return;
      case "html502":
        sendHtml(res, 502, NGINX_502_PAGE);
        return;
      case "empty200":
        res.writeHead(200, { "Content-Type": "application/json", "Content-Length": 0 });
        res.end();
        return;
      case "malformed":
        sendRaw(res, 200, "application/json", '{"Data":{"410":[{"CallData":{"canAnswer":true,"callerId":"400","uniq');
        return;
      case "negativeCode":
        sendJson(res, 200, EXPIRED);
        return;
      case "badKey200":
        sendJson(res, 200, BAD_KEY);
        return;
      case "badKey401":
        sendHtml(res, 401, UNAUTHORIZED_PAGE);
        return;
      case "html404":
        sendHtml(res, 404, NOT_FOUND_PAGE);
        return;
    }
  }

  /** apiKey, or the older timeStamp/hash pair (valid 10 s until first used, then 1 hour). */
  private checkAuth(q: Record<string, string>): object | undefined {
    if (q.apiKey !== undefined) return q.apiKey === this.apiKey ? undefined : BAD_KEY;
    const ts = q.timeStamp;
    const hash = q.hash;
    if (ts === undefined || hash === undefined) return BAD_KEY;
    const expected = createHash("sha256").update(`${this.apiKey}:${ts}`).digest("hex");
    if (hash !== expected) return BAD_KEY;
    const now = Date.now();
    const first = this.hashFirstUse.get(hash);
    if (first === undefined) {
      const t = Number(ts);
      if (!Number.isFinite(t) || Math.abs(now - t) > HASH_FIRST_USE_MS) return EXPIRED;
      this.hashFirstUse.set(hash, now);
      return undefined;
    }
    return now - first > HASH_VALID_MS ? EXPIRED : undefined;
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
      requestedLast: last,
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

  private answer(q: Record<string, string>): object {
    const uniqueId = q.uniqueId;
    const exten = q.exten;
    if (!uniqueId || !exten) return { Message: "Missing parameter: uniqueId and exten are required", Code: CODE_BAD_PARAM };
    const leg = this.legs.get(uniqueId);
    if (!leg) return { Message: `No call found with uniqueId ${uniqueId}`, Code: CODE_NOT_FOUND };
    if (stripTech(exten) !== leg.exten) return { Message: `Call ${uniqueId} is not ringing on ${exten}`, Code: CODE_REFUSED };
    if (leg.data.status !== "Ringing" || leg.data.canAnswer === false) {
      return { Message: `Call ${uniqueId} cannot be answered (${leg.data.status})`, Code: CODE_REFUSED };
    }
    this.emit(leg.exten, { ...leg.data, status: "Connected", canAnswer: false, callStartTime: pbxTimestamp() });
    this.answeredLog.push({ uniqueId, exten, answerString: q.answerString });
    return { Message: "Call answered", Code: 0 };
  }

  private hangup(q: Record<string, string>): object {
    const target = q.extenOrUniqueId;
    if (!target) return { Message: "Missing parameter: extenOrUniqueId", Code: CODE_BAD_PARAM };
    const leg = this.legs.get(target) ?? this.latestLeg(stripTech(target));
    if (!leg) return { Message: `No channel found for ${target}`, Code: CODE_NOT_FOUND };
    this.emit(leg.exten, { ...leg.data, status: "Hungup", canAnswer: false });
    return { Message: "Channel Hungup", Code: 0 };
  }

  private dial(q: Record<string, string>): object {
    const number = q.number;
    const from = q.extenOrUniqueId;
    if (!number || !from) return { Message: "Missing parameter: number and extenOrUniqueId are required", Code: CODE_BAD_PARAM };
    if (!/^[A-Za-z0-9]+\/./.test(from)) {
      return { Message: `extenOrUniqueId must carry a technology, e.g. SIP/100 (got ${from})`, Code: CODE_BAD_PARAM };
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
    return { SessionID: sessionId, Message: "Dialing", Code: 0 };
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
    return { Message: method === "start" ? "Recording started" : "Recording stopped", Code: 0 };
  }
}

const API_METHODS: ReadonlySet<string> = new Set(["subscribe", "answer", "hangup", "dial", "start", "stop"]);

function sendRaw(res: http.ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(status, { ...extra, "Content-Type": type, "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res: http.ServerResponse, status: number, body: object): void {
  sendRaw(res, status, "application/json", JSON.stringify(body));
}

function sendHtml(res: http.ServerResponse, status: number, body: string, extra: Record<string, string> = {}): void {
  sendRaw(res, status, "text/html;charset=utf-8", body, extra);
}

function sendText(res: http.ServerResponse, status: number, body: string): void {
  sendRaw(res, status, "text/plain;charset=utf-8", body);
}
