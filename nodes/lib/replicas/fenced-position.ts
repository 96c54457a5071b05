/**
 * The position shared by a config node's replicas, in Redis (key `<prefix>:<configId>:position`): the same content,
 * checks and throttle as the resume file (position-format.ts, position-writer.ts), written by the lease holder only.
 * Each write is one script (scripts.ts) that checks the lease still holds this term's token: a former holder, waking
 * from a pause past its TTL, can never overwrite its successor's position. A write refused (or one this replica no
 * longer holds the lease for) means the lease is lost: `onRefused`, nothing written. After each write the standbys
 * are told on `<prefix>:<configId>:changed`. Knows nothing of Node-RED.
 */
import type { Redis } from "ioredis";
import { LOST, type LostReason } from "./lost-reason";
import { checkSavedText, type LoadResult } from "../poll/position-format";
import { PositionWriter, type PositionWriterOptions } from "../poll/position-writer";
import type { ReplicaKeys } from "./keys";
import { FENCED_WRITE } from "./scripts";

export interface FencedPositionOptions extends PositionWriterOptions {
  redis: Pick<Redis, "eval" | "get">;
  keys: ReplicaKeys;
  /** The lease's token of the term this writer writes for. */
  token: string;
  /** True while the lease is surely this term's (Lease.holds, and the term still current). */
  holds(): boolean;
  /** The lease turned out lost: stop everything of this term. */
  onRefused(reason: LostReason): void;
}

export class FencedPosition extends PositionWriter {
  private refused = false;

  constructor(protected override readonly options: FencedPositionOptions) {
    super(options);
  }

  get where(): string {
    return `Redis (key ${this.options.keys.position})`;
  }

  /** Reads the shared position; only one of the same host saved less than `maxAgeMs` ago is returned. Rejects when Redis fails. */
  async load(maxAgeMs: number): Promise<LoadResult> {
    const text = await this.options.redis.get(this.options.keys.position);
    return checkSavedText(text ?? undefined, this.options, maxAgeMs, this.now());
  }

  protected async persist(text: string): Promise<void> {
    if (this.refused) return;
    // Checked here as well as in Redis: a lease whose deadline has passed may not have expired there yet.
    if (!this.options.holds()) return this.refuse(LOST.ranOutBeforeWrite);
    const { lease, position, changed } = this.options.keys;
    const written = await this.options.redis.eval(FENCED_WRITE, 3, lease, position, changed, this.options.token, text);
    if (written !== 1) this.refuse(LOST.writeRefused);
  }

  /** The shared position is never erased by one replica: the others may carry on from it. */
  protected erase(): Promise<void> {
    return Promise.resolve();
  }

  private refuse(reason: LostReason): void {
    this.refused = true;
    this.close();
    this.options.onRefused(reason);
  }
}
