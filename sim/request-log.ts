/** The log of every request the server received (bounded), and waiting for a request that matches. */
import type { RecordedRequest } from "./pbx-types";
import { trimBatch } from "./trim-batch";
import { Waiters } from "./waiters";

export class RequestLog {
  /** Oldest first. */
  readonly requests: RecordedRequest[] = [];
  private readonly waiters = new Waiters<RecordedRequest>();

  constructor(
    private readonly maxRequests: number,
    /** Told each request once it is logged, before the waiters. */
    private readonly observe: (request: RecordedRequest) => void,
  ) {}

  add(r: RecordedRequest): void {
    this.requests.push(r);
    trimBatch(this.requests, this.maxRequests);
    this.observe(r);
    this.waiters.offer(r);
  }

  /** The first logged request that passes `pred`, or the next one to arrive within `timeoutMs`. */
  waitFor(pred: (r: RecordedRequest) => boolean, timeoutMs: number): Promise<RecordedRequest> {
    const found = this.requests.find(pred);
    if (found) return Promise.resolve(found);
    return this.waiters.wait(pred, timeoutMs, () => new Error(`waitForRequest: no matching request within ${timeoutMs} ms`));
  }

  rejectWaiters(err: Error): void {
    this.waiters.rejectAll(err);
  }
}
