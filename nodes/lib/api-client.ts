/**
 * HTTP client of the Noojee Call Management API. Knows nothing of Node-RED.
 *
 * Every method is a POST with its parameters percent-encoded in the query string and an empty body.
 * Whatever goes wrong comes out as a NoojeeError whose message never holds the key or a full URL.
 */
import http from "node:http";
import https from "node:https";
import axios, { AxiosError, AxiosInstance } from "axios";
import { API_PATH } from "./host";
import { NoojeeError, redact } from "./errors";
import type { Envelope, SubscribeResponse } from "./types";

export interface ClientOptions {
  /** Origin of the PBX, e.g. `https://pbx.example.com:8443` (see parseHost). */
  origin: string;
  apiKey: string;
  /** false accepts self-signed certificates. */
  verifyTls: boolean;
}

export interface RequestOptions {
  /** Client-side limit for the whole exchange. */
  timeoutMs: number;
  signal?: AbortSignal;
}

export type Params = Record<string, string | number | boolean | undefined>;

/** Some PBX answers for a rejected key; anything else negative is an ordinary API error. */
const AUTH_MESSAGE = /api ?key|auth|unauthori[sz]ed|forbidden|permission|access denied|invalid key|not allowed/i;

const TLS_CODES = new Set([
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "CERT_NOT_YET_VALID",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

/** Builds `name=value&...` with every value percent-encoded (a bare `+` would reach the PBX as a space). */
export function encodeQuery(params: Params): string {
  return Object.entries(params)
    .filter((entry): entry is [string, string | number | boolean] => entry[1] !== undefined)
    .map(([name, value]) => `${encodeURIComponent(name)}=${encodeURIComponent(String(value))}`)
    .join("&");
}

export class NoojeeClient {
  private readonly http: AxiosInstance;
  private readonly httpAgent = new http.Agent({ keepAlive: true });
  private readonly httpsAgent: https.Agent;

  constructor(private readonly options: ClientOptions) {
    this.httpsAgent = new https.Agent({ keepAlive: true, rejectUnauthorized: options.verifyTls });
    this.http = axios.create({
      httpAgent: this.httpAgent,
      httpsAgent: this.httpsAgent,
      headers: { "Content-Type": "application/x-www-form-urlencoded", Accept: "application/json" },
      // We parse and judge every answer ourselves: an HTML 502 or an empty 200 must not look like success.
      responseType: "text",
      transformResponse: [(data: unknown) => data],
      validateStatus: () => true,
      maxRedirects: 0,
      proxy: false,
    });
  }

  /** Removes the key from a text before it is shown or logged. */
  redact(text: string): string {
    return redact(text, [this.options.apiKey]);
  }

  /** Calls `method` and returns its envelope when Code >= 0; throws NoojeeError otherwise. */
  async call(method: string, params: Params, request: RequestOptions): Promise<Envelope> {
    const query = encodeQuery({ ...params, apiKey: this.options.apiKey });
    const url = `${this.options.origin}${API_PATH}${encodeURIComponent(method)}?${query}`;
    let status: number;
    let body: unknown;
    try {
      const response = await this.http.post<string>(url, null, {
        timeout: request.timeoutMs,
        signal: request.signal,
      });
      status = response.status;
      body = response.data;
    } catch (err) {
      throw this.describeTransportError(err, request);
    }
    return this.judge(status, body);
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
      { timeoutMs: (timeOutSec + 10) * 1000, signal },
    );
    const seq = envelope.seq;
    if (typeof seq !== "number" || !Number.isInteger(seq) || seq < 0) {
      throw new NoojeeError("badBody", "answer without a valid seq");
    }
    const data = envelope.Data;
    if (data !== undefined && data !== null && (typeof data !== "object" || Array.isArray(data))) {
      throw new NoojeeError("badBody", "answer with a malformed Data field");
    }
    return envelope as SubscribeResponse;
  }

  /** Answers a ringing leg on `exten` (bare or with tech) with an optional auto-answer header. */
  answer(uniqueId: string, exten: string, answerString: string | undefined, signal?: AbortSignal): Promise<Envelope> {
    return this.call(
      "answer",
      { uniqueId, exten, answerString: answerString || undefined },
      { timeoutMs: 15_000, signal },
    );
  }

  /** Closes kept-alive sockets so nothing outlives the config node. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private judge(status: number, body: unknown): Envelope {
    const text = typeof body === "string" ? body.trim() : "";
    if (status === 401 || status === 403) {
      throw new NoojeeError("auth", `authentication failed (HTTP ${status})`, { httpStatus: status });
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
    const code = (envelope as Envelope).Code;
    if (typeof code !== "number") throw new NoojeeError("badBody", "answer without a Code", { httpStatus: status });
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
    const code = err instanceof AxiosError ? err.code : (err as NodeJS.ErrnoException)?.code;
    if (code === "ECONNABORTED" || code === "ETIMEDOUT" || code === "ERR_TIMEOUT") {
      return new NoojeeError("timeout", `no answer within ${Math.round(request.timeoutMs / 1000)} s`);
    }
    if (code === "ECONNREFUSED") return new NoojeeError("network", "connection refused");
    if (code === "ECONNRESET" || code === "EPIPE" || code === "ERR_BAD_RESPONSE") {
      return new NoojeeError("network", "connection reset");
    }
    if (code === "ENOTFOUND" || code === "EAI_AGAIN") return new NoojeeError("network", "host not found");
    if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return new NoojeeError("network", "host unreachable");
    const cause = err instanceof AxiosError ? (err.cause as NodeJS.ErrnoException | undefined) : undefined;
    const tlsCode = [code, cause?.code].find((c) => c !== undefined && TLS_CODES.has(c));
    if (tlsCode) {
      return new NoojeeError("network", `TLS certificate not trusted (${tlsCode})`);
    }
    const message = err instanceof Error ? err.message : String(err);
    return new NoojeeError("network", this.redact(code ? `${message} (${code})` : message).slice(0, 200));
  }
}
