/** The contract tests' HTTP client of a PBX server: raw POSTs, API calls with the server's key, subscribe, and small helpers. */
import assert from "node:assert/strict";
import type * as https from "node:https";
import axios from "axios";
import type { PbxServer } from "../../sim/pbx-server";
import type { Envelope, SubscribeResponse } from "../../nodes/lib/client/types";


export interface Reply {
  status: number;
  body: string;
  contentType: string;
  ms: number;
}

export interface PostOptions {
  method?: string;
  signal?: AbortSignal;
  httpsAgent?: https.Agent;
}

/** Raw POST: the URL is sent as given (no re-encoding) and every status resolves. */
export async function post(url: string, opts: PostOptions = {}): Promise<Reply> {
  const t0 = Date.now();
  const r = await axios.request({
    url,
    method: opts.method ?? "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    responseType: "text",
    transformResponse: (d: unknown) => d,
    validateStatus: () => true,
    signal: opts.signal,
    httpsAgent: opts.httpsAgent,
  });
  return {
    status: r.status,
    body: typeof r.data === "string" ? r.data : "",
    contentType: String(r.headers["content-type"] ?? ""),
    ms: Date.now() - t0,
  };
}

export function qs(params: Record<string, string | number | undefined>): string {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) sp.append(k, String(v));
  return sp.toString();
}

export async function call(pbx: PbxServer, method: string, params: Record<string, string | number | undefined>, opts: PostOptions = {}): Promise<Reply> {
  return post(`${pbx.apiUrl(method)}?${qs({ apiKey: pbx.apiKey, ...params })}`, opts);
}

export async function envelope(pbx: PbxServer, method: string, params: Record<string, string | number | undefined>): Promise<Envelope> {
  const r = await call(pbx, method, params);
  assert.equal(r.status, 200);
  return JSON.parse(r.body) as Envelope;
}

export interface SubResult {
  json: SubscribeResponse;
  ms: number;
}

export async function subscribe(
  pbx: PbxServer,
  exten: string,
  last: number,
  timeOut?: number,
  opts: PostOptions = {},
): Promise<SubResult> {
  const r = await call(pbx, "subscribe", { exten, lastSequenceNumber: last, timeOut }, opts);
  assert.equal(r.status, 200, r.body);
  assert.match(r.contentType, /application\/json/);
  return { json: JSON.parse(r.body) as SubscribeResponse, ms: r.ms };
}

export function statuses(json: SubscribeResponse, exten: string): string[] {
  return (json.Data?.[exten] ?? []).map((e) => e.CallData.status);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
