/** The simulator server's options and the records it keeps of requests, answers, events and accepted actions. */
import type * as http from "node:http";
import type { CallData, SubscribeEntry } from "../nodes/lib/client/types";

export type { CallData, SubscribeEntry };

/** What a poll answer lists: every change since lastSequenceNumber, or each changed leg's latest state only. */
export type AnswerStyle = "every" | "latest";

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
  /**
   * "every" (default): an answer lists every change since lastSequenceNumber, one entry per change. "latest": one
   * entry per changed leg, its newest state with seq > lastSequenceNumber (the intermediate ones are not listed).
   */
  answerStyle?: AnswerStyle;
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
  /** Date.now() when the request arrived, and when the answer was written. */
  requestedAt: number;
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
