/** What the replica tests share: a Redis client as the product makes one, a frozen process, a wait for a condition. */
import { Redis } from "ioredis";

export function redisClient(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => 50, connectTimeout: 1000 });
  redis.on("error", () => undefined); // each failure is the lease's to report
  return redis;
}

/** Blocks this process's thread, timers and all, like a GC pause or SIGSTOP (Redis, another process, runs on). */
export function freeze(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

export async function until(check: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`never happened: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
