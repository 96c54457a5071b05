/**
 * The fake Noojee PBX of the behaviour, end-to-end, benchmark and soak tests: the simulator's server core
 * (sim/pbx-server.ts, a real HTTP(S) server on 127.0.0.1 that follows the API notes) plus what only tests need:
 * injected transport faults, the self-signed test certificate, and test defaults (a fixed API key).
 *
 * Fault choices (documented here so tests can rely on them):
 * - Faults replace the next subscribe answers before any key or parameter check, and ignore minPollMs.
 * - Other methods (answer, hangup, ...) never consume a fault.
 * - refuseNext(method) makes the next request of another method answer a negative Code, after the key check.
 * - answerNextRaw(body) queues a subscribe answer with exactly this body (an odd shape the server itself never sends);
 *   with a method (answer, dial, ...) it answers the next request of that method so, before the key check;
 *   streamNext(bytes) queues one that streams a JSON-looking body of that many bytes (chunked, or with a
 *   Content-Length), honouring backpressure and stopping when the client drops the connection; `streamed` then says
 *   how many bytes were written. Both sit in the fault queue, in order with the faults.
 * - holdClock() parks every PBX clock (Time) request until releaseClock(), so a test can act while a timestamp
 *   sign-in waits for the clock. stop() ends parked ones.
 * See sim/pbx-server.ts for the choices the server itself makes where the real PBX is unknown.
 */
import type * as http from "node:http";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  BAD_KEY_ENVELOPE,
  EXPIRED_ENVELOPE,
  NOT_FOUND_PAGE,
  PbxServer,
  htmlErrorPage,
  sendHtml,
  sendJson,
  sendRaw,
  sendText,
  type ApiMethod,
  type PbxServerOptions,
} from "../sim/pbx-server";

export {
  API_BASE,
  TERMINAL_STATUSES,
  TIME_PATH,
  decodeFormComponent,
  parseServletQuery,
  pbxTimestamp,
  stripTech,
  type ApiAction,
  type DialRecord,
  type PbxEvent,
  type RecordingRecord,
  type RecordedAnswer,
  type RecordedRequest,
} from "../sim/pbx-server";

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

export interface FakePbxOptions extends PbxServerOptions {
  /** Default "test-key-123e4567-e89b". */
  apiKey?: string;
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

const REFUSED = { Message: "Request refused", Code: -5 } as const;

type RefusableMethod = "answer" | "dial" | "hangup" | "start" | "stop";

const UNAUTHORIZED_PAGE = htmlErrorPage(401, "Unauthorized", "The request lacks valid authentication credentials.");
const NGINX_502_PAGE =
  "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n" +
  "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
const STACK_TRACE_500 =
  "java.lang.NullPointerException\n\tat au.com.noojee.CallManagementAPI.subscribe(CallManagementAPI.java:212)\n";

/** What the fault queue holds: an injected fault, a raw body, or a streamed body of a given size. */
type Queued =
  | { kind: FaultKind; remaining: number }
  | { kind: "raw"; remaining: number; status: number; body: string }
  | { kind: "stream"; remaining: number; bytes: number; chunked: boolean };

/** What a streamed answer has written so far, and whether it is over (sent in full, or cut by the client). */
export interface StreamedAnswer {
  written: number;
  done: Promise<void>;
}

export class FakePbx extends PbxServer {
  private readonly faults: Queued[] = [];
  private readonly rawAnswers = new Map<string, Array<{ status: number; body: string }>>();
  private clockHeld = false;
  private readonly parkedClock: http.ServerResponse[] = [];
  /** The latest streamNext() answer served. */
  streamed: StreamedAnswer | undefined;
  private readonly refusals = new Map<string, Array<{ Message: string; Code: number }>>();

  constructor(options: FakePbxOptions = {}) {
    super({ ...options, apiKey: options.apiKey ?? "test-key-123e4567-e89b" });
  }

  fault(kind: FaultKind, count = 1): void {
    if (count > 0) this.faults.push({ kind, remaining: count });
  }

  /**
   * The next request of `method` (answer, dial, hangup, start, stop) that passes the key check is refused with this
   * negative-Code envelope instead of being carried out; several calls queue in order. For refusals the fake has no
   * natural reason for (e.g. a dial the real PBX refuses for its own reasons).
   */
  refuseNext(method: RefusableMethod, envelope: { Message: string; Code: number } = REFUSED): void {
    if (envelope.Code >= 0) throw new Error("FakePbx.refuseNext: a refusal has a negative Code");
    let queue = this.refusals.get(method);
    if (!queue) this.refusals.set(method, (queue = []));
    queue.push(envelope);
  }

  /** The next request of `method` is answered with exactly `body` (with HTTP `status`, as application/json). */
  answerNextRaw(body: string, status = 200, method: "subscribe" | RefusableMethod = "subscribe"): void {
    if (method === "subscribe") {
      this.faults.push({ kind: "raw", remaining: 1, status, body });
      return;
    }
    let queue = this.rawAnswers.get(method);
    if (!queue) this.rawAnswers.set(method, (queue = []));
    queue.push({ status, body });
  }

  /** The next subscribe is answered with a body of `bytes` bytes, sent in 64 KiB writes as the client takes them. */
  streamNext(bytes: number, options: { chunked?: boolean } = {}): void {
    this.faults.push({ kind: "stream", remaining: 1, bytes, chunked: options.chunked ?? true });
  }

  /** Parks PBX clock requests until releaseClock(). */
  holdClock(): void {
    this.clockHeld = true;
  }

  /** Answers the parked clock requests and stops parking new ones. */
  releaseClock(): void {
    this.clockHeld = false;
    for (const res of this.parkedClock.splice(0)) sendText(res, 200, String(Date.now()));
  }

  override async stop(): Promise<void> {
    for (const res of this.parkedClock.splice(0)) res.destroy();
    await super.stop();
  }

  /** Drops every fault not yet served. */
  clearFaults(): void {
    this.faults.length = 0;
  }

  /** Faults (and raw or streamed answers) queued and not yet served. */
  pendingFaults(): number {
    return this.faults.reduce((n, f) => n + f.remaining, 0);
  }

  protected override intercept(method: ApiMethod, req: http.IncomingMessage, res: http.ServerResponse): boolean {
    if (method === "Time" && this.clockHeld) {
      this.parkedClock.push(res);
      return true;
    }
    const raw = this.rawAnswers.get(method)?.shift();
    if (raw) {
      sendRaw(res, raw.status, "application/json", raw.body);
      return true;
    }
    if (method !== "subscribe" || this.faults.length === 0) return false;
    const f = this.faults[0];
    if (--f.remaining <= 0) this.faults.shift();
    if (f.kind === "raw") sendRaw(res, f.status, "application/json", f.body);
    else if (f.kind === "stream") this.streamed = streamBody(res, f.bytes, f.chunked);
    else this.serveFault(f.kind, req, res);
    return true;
  }

  protected override refusal(method: ApiMethod): object | undefined {
    return this.refusals.get(method)?.shift();
  }

  private serveFault(kind: FaultKind, req: http.IncomingMessage, res: http.ServerResponse): void {
    switch (kind) {
      case "hang":
        this.holdWithoutAnswer(res);
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
        sendJson(res, 200, EXPIRED_ENVELOPE);
        return;
      case "badKey200":
        sendJson(res, 200, BAD_KEY_ENVELOPE);
        return;
      case "badKey401":
        sendHtml(res, 401, UNAUTHORIZED_PAGE);
        return;
      case "html404":
        sendHtml(res, 404, NOT_FOUND_PAGE);
        return;
    }
  }
}

/** Writes `{"Data":{"410":[` and then entries up to `bytes` bytes, waiting for drain, until done or the client leaves. */
function streamBody(res: http.ServerResponse, bytes: number, chunked: boolean): StreamedAnswer {
  const entry = JSON.stringify({ CallData: { status: "Ringing", uniqueCallId: "1.1", callerId: "0".repeat(200) }, CallID: 1, Code: 0 }) + ",";
  const chunk = Buffer.from(entry.repeat(Math.ceil(65_536 / entry.length)));
  const state: StreamedAnswer = { written: 0, done: Promise.resolve() };
  res.writeHead(200, { "Content-Type": "application/json", ...(chunked ? {} : { "Content-Length": String(bytes) }) });
  state.done = new Promise<void>((resolve) => {
    res.on("close", () => resolve());
    const pump = (): void => {
      while (state.written < bytes && !res.destroyed) {
        const part = chunk.subarray(0, Math.min(chunk.length, bytes - state.written));
        state.written += part.length;
        if (!res.write(part)) {
          res.once("drain", pump);
          return;
        }
      }
      if (!res.destroyed) res.end();
    };
    res.write('{"Data":{"410":[');
    state.written += 16;
    pump();
  });
  return state;
}
