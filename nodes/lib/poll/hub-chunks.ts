/** The chunks a hub splits its extensions into (one poll loop each, see subscription-hub.ts), and what they cost. */
import type { LoopStatus, PollLoop } from "./poll-loop";

export interface Chunk {
  loop: PollLoop;
  /** In the order they joined: the order of the `exten` parameter. */
  extensions: Set<string>;
  bytes: number;
  status: LoopStatus;
}

/** Bytes an extension list takes in a query string: the commas are percent-encoded (`%2C`). */
export function extenBytes(extensions: Iterable<string>): number {
  let bytes = 0;
  let n = 0;
  for (const extension of extensions) {
    bytes += encodeURIComponent(extension).length;
    n += 1;
  }
  return n === 0 ? 0 : bytes + 3 * (n - 1);
}

/**
 * The status the chunks add up to (failing as soon as any fails, connecting while any connects, else listening) when it
 * is not the one `shown`; undefined when it is, or when nothing is polled (the nodes say so themselves).
 */
export function changedStatus(chunks: readonly Chunk[], shown: { state: string }): LoopStatus | undefined {
  const failing = chunks.find((c) => c.status.state === "failing");
  if (failing) return shown.state === "failing" ? undefined : failing.status;
  if (chunks.length === 0) return undefined;
  const aggregate: LoopStatus = chunks.some((c) => c.status.state === "connecting") ? { state: "connecting" } : { state: "listening" };
  return aggregate.state === shown.state ? undefined : aggregate;
}
