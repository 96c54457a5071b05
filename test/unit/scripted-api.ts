/** A subscribe API for the loop tests: each call waits until the test answers it. */
import { NoojeeError } from "../../nodes/lib/client/errors";
import type { SubscribeApi } from "../../nodes/lib/poll/poll-loop";
import type { CallData, SubscribeResponse } from "../../nodes/lib/client/types";

interface Call {
  extensions: string[];
  last: number;
  timeOut: number;
  signal: AbortSignal | undefined;
  resolve(response: SubscribeResponse): void;
  reject(error: unknown): void;
}

export class ScriptedApi implements SubscribeApi {
  readonly calls: Call[] = [];
  private waiters: Array<() => void> = [];

  subscribe(extensions: readonly string[], last: number, timeOut: number, signal?: AbortSignal): Promise<SubscribeResponse> {
    return new Promise((resolve, reject) => {
      signal?.addEventListener("abort", () => reject(new NoojeeError("aborted", "request cancelled")));
      this.calls.push({ extensions: [...extensions], last, timeOut, signal, resolve, reject });
      this.waiters.splice(0).forEach((w) => w());
    });
  }

  /** The n-th call (0-based), waiting for it to be made. */
  async call(n: number): Promise<Call> {
    while (this.calls.length <= n) await new Promise<void>((r) => this.waiters.push(r));
    return this.calls[n];
  }
}

export const entry = (uniqueCallId: string, status: string, callId = 1) => ({
  CallData: { uniqueCallId, status, callerId: "400", inbound: true } as CallData,
  CallID: callId,
  Code: 0,
});
export const answer = (seq: number, data: SubscribeResponse["Data"] = {}): SubscribeResponse => ({ Code: 0, seq, Data: data });
