/**
 * HTTP client of the Noojee Call Management API. Knows nothing of Node-RED.
 *
 * Every method is a POST with its parameters percent-encoded in the query string and an empty body.
 * Whatever goes wrong comes out as a NoojeeError whose message never holds the key or a full URL.
 */
import { createHash } from "node:crypto";
import axios, { AxiosError, AxiosInstance } from "axios";
import { API_PATH } from "./host";
import { normaliseCode, normaliseSubscribe } from "./answer-shape";
import { NoojeeError, redact } from "./errors";
import { monotonicNow } from "../monotonic";
import { describeRedirect, plainToHttpsPort, resetHint } from "./answer-hints";
import { describeTlsFailure } from "./tls-failures";
import { createAgents, failedAtProxy, PbxAgents, ProxyChoice, proxyFor, ProxyRefusedError } from "./proxy";
import type { Envelope, SubscribeResponse } from "./types";

export type AuthMode = "apiKey" | "timestamp";

export interface ClientOptions {
  /** Origin of the PBX, e.g. `https://pbx.example.com:8443` (see parseHost). */
  origin: string;
  apiKey: string;
  /** false accepts self-signed certificates. */
  verifyTls: boolean;
  /**
   * `apiKey` sends the key with every call; `timestamp` (PBX releases before 4.9.0.10) sends a
   * `timeStamp`/`hash` pair signed with the key and the PBX clock instead.
   */
  authMode?: AuthMode;
  /** Monotonic milliseconds, for tests of the pair's lifetime (a wall clock stepped back must not stretch it). */
  now?: () => number;
  /** Largest answer the client reads, in bytes (after any decompression); default DEFAULT_MAX_ANSWER_BYTES. */
  maxAnswerBytes?: number;
  /**
   * One second of the subscribe timeOut in ms: 1000. Test set-ups shrink it (settings.js noojeeTimeOutUnitMs, with the
   * fake PBX's), and a poll's deadline with it: 10 units past the hold, but never less than 2 s.
   */
  timeOutUnitMs?: number;
}

export interface DialParams {
  number: string;
  /** The calling extension with its tech, e.g. `SIP/100`. */
  extenOrUniqueId: string;
  autoAnswer?: string;
  callerId?: string;
  phoneCaption?: string;
  monitored?: boolean;
  record?: boolean;
  tag?: string;
}

export interface RecordingParams {
  extenOrUniqueId: string;
  agentLoginName?: string;
  tag?: string;
}

export interface RequestOptions {
  /** Client-side limit for the whole exchange. */
  timeoutMs: number;
  signal?: AbortSignal;
}

export type Params = Record<string, string | number | boolean | undefined>;

export const TIME_PATH = "/servicemanager/rest/Time";
/**
 * Longest request URL the client sends. Servlet containers and proxies commonly refuse request lines past 8 KB
 * (Tomcat's default header buffer, nginx's large_client_header_buffers); a subscribe for thousands of extensions is
 * split into several polls below this.
 */
export const MAX_URL_LENGTH = 6000;
/** A signed pair must be used within 10 s and then lasts an hour: renew well inside both. */
const PAIR_FIRST_USE_MS = 8_000;
const PAIR_LIFETIME_MS = 50 * 60_000;
const EXPIRED_TIMESTAMP = /expired\s*time\s*stamp/i;
/**
 * The PBX clock read is shared by every call waiting for a pair, so it has its own limit rather than a caller's; each
 * caller stops waiting for it at its own deadline, which bounds the whole call.
 */
const CLOCK_TIMEOUT_MS = 15_000;
/**
 * The default cap on an answer. The largest honest answer is a current-state read for one poll's worth of extensions
 * (the URL budget allows about 1,500) with a few legs each, at about 400 bytes an entry: some 2 MB. 8 MiB leaves room
 * for a busy PBX's batch of changes while bounding what one poll can hold in memory (about three times the cap while
 * the text is decoded and parsed), whatever a misbehaving PBX or network device streams.
 */
export const DEFAULT_MAX_ANSWER_BYTES = 8 * 1024 * 1024;

interface SignedPair {
  timeStamp: string;
  hash: string;
  createdAt: number;
  firstUsedAt: number | undefined;
}

/** Some PBX answers for a rejected key; anything else negative is an ordinary API error. */
const AUTH_MESSAGE = /api ?key|auth|unauthori[sz]ed|forbidden|permission|access denied|invalid key|not allowed/i;

/** Builds `name=value&...` with every value percent-encoded (a bare `+` would reach the PBX as a space). */
export function encodeQuery(params: Params): string {
  return Object.entries(params)
    .filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined)
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`)
    .join("&");
}

/** Failures to reach the proxy itself: with a tunnel, the PBX's own reachability comes back as a CONNECT status. */
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const PROXY_CONNECT_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "EHOSTUNREACH", "ENETUNREACH"]);

export class NoojeeClient {
  private readonly http: AxiosInstance;
  /** Read from the environment once, like every other setting of this client. */
  private readonly proxy: ProxyChoice;
  private readonly agents: PbxAgents;
  /** The timestamp/hash pair in use (timestamp auth only), and the clock read in progress. */
  private pair: SignedPair | undefined;
  private pairPending: { promise: Promise<SignedPair>; controller: AbortController; waiters: number } | undefined;
  private readonly maxAnswerBytes: number;
  /** Whether any request has been answered: a reset before that, on http://, may be an HTTPS port. */
  private answered = false;

  constructor(private readonly options: ClientOptions) {
    this.proxy = proxyFor(options.origin);
    this.agents = createAgents(this.proxy, options.verifyTls);
    this.maxAnswerBytes = options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;
    // axios reads -1 as no limit at all: only a real cap is accepted.
    if (!Number.isSafeInteger(this.maxAnswerBytes) || this.maxAnswerBytes < 1) throw new RangeError("maxAnswerBytes must be a positive integer");
    this.http = axios.create({
      httpAgent: this.agents.http,
      httpsAgent: this.agents.https,
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      // We parse and judge every answer ourselves: an HTML 502 or an empty 200 must not look like success.
      responseType: "text",
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      maxRedirects: 0,
      // The Node adapter counts the bytes as they arrive and destroys the response past the cap, with or without a
      // Content-Length (test/lib/answer-shapes.test.ts streams a chunked one); describeFailure names it.
      maxContentLength: this.maxAnswerBytes,
      // Our agents tunnel through the proxy (see proxy.ts); axios must not apply the environment a second time.
      proxy: false,
    });
  }

  /** Removes the key from a text before it is shown or logged. */
  redact(text: string): string {
    return redact(text, [this.options.apiKey, ...(this.proxy.kind === "proxy" ? this.proxy.secrets : [])]);
  }

  /** Calls `method` and returns its envelope when Code >= 0; throws NoojeeError otherwise. */
  async call(method: string, params: Params, request: RequestOptions): Promise<Envelope> {
    if (this.options.authMode !== "timestamp") {
      return this.post(`${API_PATH}${encodeURIComponent(method)}`, { ...params, apiKey: this.options.apiKey }, request);
    }
    // One deadline for the whole call: the clock read, the request and the one retry after an expired pair.
    const deadline = new Deadline(request);
    const within: RequestOptions = { timeoutMs: request.timeoutMs, signal: deadline.signal };
    const path = `${API_PATH}${encodeURIComponent(method)}`;
    try {
      try {
        return await this.post(path, { ...params, ...(await this.signedPair(within)) }, within);
      } catch (err) {
        // The PBX decides when a pair has expired: sign a fresh one and try once more.
        if (!(err instanceof NoojeeError) || !EXPIRED_TIMESTAMP.test(err.detail ?? "")) throw err;
        this.pair = undefined;
        return await this.post(path, { ...params, ...(await this.signedPair(within)) }, within);
      }
    } catch (err) {
      // Its abort reaches the parts as a cancellation: say what it was.
      if (deadline.expired) throw this.timedOut(request);
      throw err;
    } finally {
      deadline.clear();
    }
  }

  /** The current timeStamp/hash pair, fetching the PBX clock and signing a new one when needed. */
  private async signedPair(request: RequestOptions): Promise<Params> {
    const now = (this.options.now ?? monotonicNow)();
    const pair = this.pair;
    const fresh = pair && (pair.firstUsedAt === undefined ? now - pair.createdAt < PAIR_FIRST_USE_MS : now - pair.firstUsedAt < PAIR_LIFETIME_MS);
    let current = fresh ? pair : undefined;
    if (!current) {
      current = await this.sharedClockRead(request.signal);
      this.pair = current;
    }
    current.firstUsedAt ??= (this.options.now ?? monotonicNow)();
    return { timeStamp: current.timeStamp, hash: current.hash };
  }

  /**
   * Concurrent calls share one clock read. It carries no caller's signal (a poll cut short must not fail a concurrent
   * hangup), only its own limit; each caller stops waiting when its own signal aborts, and the read itself is
   * abandoned when no caller waits for it any more (or on close()).
   */
  private sharedClockRead(signal: AbortSignal | undefined): Promise<SignedPair> {
    if (signal?.aborted) return Promise.reject(new NoojeeError("aborted", "request cancelled"));
    let pending = this.pairPending;
    if (!pending) {
      const controller = new AbortController();
      const promise = this.signNewPair({ timeoutMs: CLOCK_TIMEOUT_MS, signal: controller.signal }).finally(() => {
        if (this.pairPending?.promise === promise) this.pairPending = undefined;
      });
      pending = this.pairPending = { promise, controller, waiters: 0 };
    }
    const read = pending;
    read.waiters++;
    return new Promise<SignedPair>((resolve, reject) => {
      const onAbort = (): void => {
        reject(new NoojeeError("aborted", "request cancelled"));
        if (--read.waiters > 0) return;
        // Nobody waits any more: abandon it now, so that the next caller starts a fresh read.
        if (this.pairPending === read) this.pairPending = undefined;
        read.controller.abort();
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      read.promise.then(
        (pair) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(pair);
        },
        (err: unknown) => {
          signal?.removeEventListener("abort", onAbort);
          reject(err);
        },
      );
    });
  }

  private async signNewPair(clockRequest: RequestOptions): Promise<SignedPair> {
    const { status, body } = await this.exchange(`${this.options.origin}${TIME_PATH}`, clockRequest);
    const text = typeof body === "string" ? body.trim() : "";
    if (status < 200 || status > 299) throw new NoojeeError("http", `HTTP ${status} from the PBX clock`, { httpStatus: status });
    if (!/^\d{9,16}$/.test(text)) throw new NoojeeError("badBody", "the PBX clock answered something other than milliseconds");
    const hash = createHash("sha256").update(`${this.options.apiKey}:${text}`).digest("hex");
    return { timeStamp: text, hash, createdAt: (this.options.now ?? monotonicNow)(), firstUsedAt: undefined };
  }

  private async post(path: string, params: Params, request: RequestOptions): Promise<Envelope> {
    const { status, body, location } = await this.exchange(`${this.options.origin}${path}?${encodeQuery(params)}`, request);
    return this.judge(status, body, location);
  }

  /** One POST with an empty body; transport failures come out as a key-free NoojeeError. */
  private async exchange(url: string, request: RequestOptions): Promise<{ status: number; body: unknown; location?: string }> {
    // Never bypass a proxy that was asked for but cannot be used.
    if (this.proxy.kind === "invalid") throw new NoojeeError("network", this.proxy.reason);
    const deadline = new Deadline(request);
    try {
      // axios' own `timeout` only limits how long the socket may stay silent: an answer trickled a byte at a time
      // would hold it open for ever. The deadline bounds the whole exchange, from connect to the last byte.
      const response = await this.http.post<string>(url, null, { signal: deadline.signal });
      this.answered = true;
      const location: unknown = response.headers.location;
      return { status: response.status, body: response.data, location: typeof location === "string" ? location : undefined };
    } catch (err) {
      throw deadline.expired ? this.timedOut(request) : this.describeTransportError(err, request);
    } finally {
      deadline.clear();
    }
  }

  /** One long poll. `timeOutSec` is how long the PBX may hold it; the client waits 10 s more. */
  async subscribe(
    extensions: readonly string[],
    lastSequenceNumber: number,
    timeOutSec: number,
    signal?: AbortSignal,
  ): Promise<SubscribeResponse> {
    const envelope = await this.call(
      "subscribe",
      { exten: extensions.join(","), lastSequenceNumber, timeOut: timeOutSec },
      { timeoutMs: pollDeadlineMs(timeOutSec, this.options.timeOutUnitMs ?? 1000), signal },
    );
    return normaliseSubscribe(envelope);
  }

  /**
   * Bytes left for the percent-encoded `exten` value of a subscribe URL under MAX_URL_LENGTH, counting the origin,
   * the path, the credentials and the largest `lastSequenceNumber` and `timeOut`.
   */
  subscribeExtenBudget(): number {
    const credentials: Params =
      this.options.authMode === "timestamp"
        ? { timeStamp: "9".repeat(16), hash: "f".repeat(64) }
        : { apiKey: this.options.apiKey };
    const params = { exten: "", lastSequenceNumber: Number.MAX_SAFE_INTEGER, timeOut: 999, ...credentials };
    const longest = `${this.options.origin}${API_PATH}subscribe?${encodeQuery(params)}`;
    // Never less than one long extension, even with an absurdly long host or key.
    return Math.max(64, MAX_URL_LENGTH - longest.length);
  }

  /** Answers a ringing leg on `exten` (bare or with tech) with an optional auto-answer header. */
  answer(uniqueId: string, exten: string, answerString: string | undefined, signal?: AbortSignal): Promise<Envelope> {
    return this.call(
      "answer",
      { uniqueId, exten, answerString: answerString || undefined },
      { timeoutMs: 15_000, signal },
    );
  }

  /** Click-to-dial: `extenOrUniqueId` (with tech) rings first, then `number` is called. Answers with a SessionID. */
  dial(params: DialParams, signal?: AbortSignal): Promise<Envelope> {
    return this.call(
      "dial",
      {
        number: params.number,
        extenOrUniqueId: params.extenOrUniqueId,
        autoAnswer: params.autoAnswer || undefined,
        callerId: params.callerId || undefined,
        phoneCaption: params.phoneCaption || undefined,
        // Only `monitored=yes` is documented; a PBX that tests the parameter's presence would read "no" as yes.
        monitored: params.monitored ? "yes" : undefined,
        record: params.record ? "true" : undefined,
        tag: params.tag || undefined,
      },
      { timeoutMs: 15_000, signal },
    );
  }

  /** Hangs up a leg by uniqueCallId (preferred) or whatever call an extension has. */
  hangup(extenOrUniqueId: string, signal?: AbortSignal): Promise<Envelope> {
    return this.call("hangup", { extenOrUniqueId }, { timeoutMs: 15_000, signal });
  }

  startRecording(params: RecordingParams, signal?: AbortSignal): Promise<Envelope> {
    return this.call(
      "start",
      { extenOrUniqueId: params.extenOrUniqueId, agentLoginName: params.agentLoginName || undefined, tag: params.tag || undefined },
      { timeoutMs: 15_000, signal },
    );
  }

  stopRecording(params: RecordingParams, signal?: AbortSignal): Promise<Envelope> {
    return this.call(
      "stop",
      { extenOrUniqueId: params.extenOrUniqueId, agentLoginName: params.agentLoginName || undefined },
      { timeoutMs: 15_000, signal },
    );
  }

  /** Closes kept-alive sockets so nothing outlives the config node. */
  close(): void {
    this.pairPending?.controller.abort();
    this.agents.destroy();
  }

  private judge(status: number, body: unknown, location?: string): Envelope {
    const text = typeof body === "string" ? body.trim() : "";
    if (status === 401 || status === 403) {
      throw new NoojeeError("auth", `authentication failed (HTTP ${status})`, { httpStatus: status });
    }
    // A Host written wrong: say which address to write.
    const wrongHost = REDIRECTS.has(status) ? describeRedirect(status, location, this.options.origin) : plainToHttpsPort(this.options.origin, status, text);
    if (wrongHost) {
      const short = REDIRECTS.has(status) ? `HTTP ${status}: redirected` : "HTTPS port: use https://";
      throw new NoojeeError("http", this.redact(wrongHost), { httpStatus: status, short });
    }
    if (status < 200 || status > 299) {
      throw new NoojeeError("http", `HTTP ${status}`, { httpStatus: status });
    }
    if (text === "") throw new NoojeeError("badBody", "empty answer", { httpStatus: status });
    if (text.startsWith("<")) throw new NoojeeError("badBody", "HTML answer instead of JSON", { httpStatus: status });
    let envelope: unknown;
    try {
      envelope = JSON.parse(text);
    } catch {
      throw new NoojeeError("badBody", "malformed JSON answer", { httpStatus: status });
    }
    if (typeof envelope !== "object" || envelope === null || Array.isArray(envelope)) {
      throw new NoojeeError("badBody", "answer is not a JSON object", { httpStatus: status });
    }
    const code = normaliseCode(envelope as Record<string, unknown>, status).Code;
    if (code < 0) {
      const message = this.redact(String((envelope as Envelope).Message ?? "error")).slice(0, 200);
      const kind = AUTH_MESSAGE.test(message) ? "auth" : "api";
      const prefix = kind === "auth" ? "authentication failed: " : "";
      throw new NoojeeError(kind, `${prefix}${message} (Code ${code})`, { code, httpStatus: status, detail: message });
    }
    return envelope as Envelope;
  }

  private describeTransportError(err: unknown, request: RequestOptions): NoojeeError {
    if (axios.isCancel(err) || request.signal?.aborted) return new NoojeeError("aborted", "request cancelled");
    const refusal = err instanceof ProxyRefusedError ? err : err instanceof AxiosError ? err.cause : undefined;
    if (refusal instanceof ProxyRefusedError) return new NoojeeError("network", refusal.message);
    const code = err instanceof AxiosError ? err.code : (err as NodeJS.ErrnoException)?.code;
    return this.located(this.describeFailure(err, request), PROXY_CONNECT_CODES.has(code ?? "") || this.tlsAtProxy(err));
  }

  /** Whether `err` is from an https:// proxy's own connection (its TLS session), before the tunnel to the PBX stood. */
  private tlsAtProxy(err: unknown): boolean {
    return this.proxy.kind === "proxy" && this.proxy.url.protocol === "https:" && failedAtProxy(err) && describeTlsFailure(this.proxy.label, err, "proxy") !== undefined;
  }

  /** The deadline of `request` passed. */
  private timedOut(request: RequestOptions): NoojeeError {
    return this.located(new NoojeeError("timeout", `no answer within ${Math.round(request.timeoutMs / 1000)} s`), false);
  }

  /** Behind a proxy, says where the failure was (`atProxy`: reaching the proxy itself); its address holds no credentials. */
  private located(described: NoojeeError, atProxy: boolean): NoojeeError {
    if (this.proxy.kind !== "proxy") return described;
    // A TLS failure of the proxy's own already says "the proxy's …".
    const prefix = atProxy && !described.message.startsWith("the proxy") ? "proxy: " : "";
    const message = atProxy ? `${prefix}${described.message} (${this.proxy.label})` : `${described.message} (via proxy ${this.proxy.label})`;
    return new NoojeeError(described.kind, message, { tooLarge: described.tooLarge, short: described.short });
  }

  private describeFailure(err: unknown, request: RequestOptions): NoojeeError {
    const code = err instanceof AxiosError ? err.code : (err as NodeJS.ErrnoException)?.code;
    // axios's own text names its option; say what happened instead.
    if (code === "ERR_BAD_RESPONSE" && err instanceof Error && err.message.includes("maxContentLength")) {
      return new NoojeeError("badBody", `answer larger than ${formatBytes(this.maxAnswerBytes)}`, { tooLarge: true });
    }
    if (code === "ECONNABORTED" || code === "ETIMEDOUT" || code === "ERR_TIMEOUT") {
      return new NoojeeError("timeout", `no answer within ${Math.round(request.timeoutMs / 1000)} s`);
    }
    if (code === "ECONNREFUSED") return new NoojeeError("network", "connection refused");
    if (code === "ECONNRESET" || code === "EPIPE" || code === "ERR_BAD_RESPONSE") {
      const first = !this.answered && this.options.origin.startsWith("http:");
      return first ? new NoojeeError("network", resetHint(this.options.origin), { short: "reset: try https://" }) : new NoojeeError("network", "connection reset");
    }
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") return new NoojeeError("network", "host not found");
    if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return new NoojeeError("network", "host unreachable");
    // Said as what it means and what fixes it; the origin holds no key. Through an https:// proxy, a failure before
    // the tunnel stood is the proxy's own TLS session (its certificate), after it the PBX's.
    const tls = this.tlsAtProxy(err) && this.proxy.kind === "proxy" ? describeTlsFailure(this.proxy.label, err, "proxy") : describeTlsFailure(this.options.origin, err);
    if (tls) return new NoojeeError("network", tls.message, { short: tls.short });
    const message = err instanceof Error ? err.message : String(err);
    return new NoojeeError("network", this.redact(code ? `${message} (${code})` : message).slice(0, 200));
  }
}

/**
 * One request's overall limit, joined with the caller's signal. Its own timer and listener, rather than
 * AbortSignal.timeout/any, so that both are gone the moment the exchange ends (a poll loop makes thousands of them)
 * and `expired` tells the limit from the caller's abort, whichever came first.
 */
class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout>;
  private readonly onAbort = (): void => this.controller.abort();
  expired = false;

  constructor(private readonly request: RequestOptions) {
    this.timer = setTimeout(() => {
      if (this.controller.signal.aborted) return;
      this.expired = true;
      this.controller.abort();
    }, request.timeoutMs);
    if (request.signal?.aborted) this.controller.abort();
    else request.signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  clear(): void {
    clearTimeout(this.timer);
    this.request.signal?.removeEventListener("abort", this.onAbort);
  }
}

/** `8 MiB`, `512 KiB`, `1000 bytes`: the cap as a person would write it. */
function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** How long the client waits for a poll asked to hold `timeOutSec` units: 10 units more (2 s at least). */
function pollDeadlineMs(timeOutSec: number, unitMs: number): number {
  return timeOutSec * unitMs + Math.max(10 * unitMs, 2000);
}
