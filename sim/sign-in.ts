/**
 * Sign-in: the `apiKey` parameter, or the older `timeStamp`/`hash` pair (sha256 of "key:timeStamp"), valid for 10 s
 * until first used and then for 1 hour.
 */
import { createHash } from "node:crypto";
import { BAD_KEY_ENVELOPE, EXPIRED_ENVELOPE } from "./api-codes";

const HASH_FIRST_USE_MS = 10_000;
const HASH_VALID_MS = 3_600_000;
/** Pairs remembered before expired ones are pruned. */
const HASH_PRUNE_AT = 1000;

export class SignIn {
  /** When each timeStamp/hash pair was first used. */
  private readonly hashFirstUse = new Map<string, number>();

  /** undefined when the request may go on, else the error envelope to answer. */
  check(q: Record<string, string>, apiKey: string): object | undefined {
    if (q.apiKey !== undefined) return q.apiKey === apiKey ? undefined : BAD_KEY_ENVELOPE;
    const ts = q.timeStamp;
    const hash = q.hash;
    if (ts === undefined || hash === undefined) return BAD_KEY_ENVELOPE;
    const expected = createHash("sha256").update(`${apiKey}:${ts}`).digest("hex");
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

  /** PBX restart: every pair is forgotten. */
  forget(): void {
    this.hashFirstUse.clear();
  }

  /** Forgets expired pairs once many are remembered, so a long-running server stays bounded. */
  private pruneHashes(now: number): void {
    if (this.hashFirstUse.size < HASH_PRUNE_AT) return;
    for (const [hash, first] of this.hashFirstUse) if (now - first > HASH_VALID_MS) this.hashFirstUse.delete(hash);
  }
}
