/**
 * The global `seq` counter and the log of events it numbers, with a per-extension index so a poll finds the events
 * after its lastSequenceNumber on its extensions without scanning the whole log.
 */
import type { AnswerStyle, PbxEvent, SubscribeEntry } from "./pbx-types";
import { trimBatch } from "./trim-batch";

/** Per-extension slice of the event log, oldest first; `head` skips trimmed events without shifting. */
interface ExtenLog {
  items: PbxEvent[];
  head: number;
}

export class EventLog {
  /** The counter: the seq of the latest change (or bumpSeq). */
  seq: number;
  /** Every event still held, oldest first. */
  readonly events: PbxEvent[] = [];
  private readonly byExten = new Map<string, ExtenLog>();

  constructor(
    private readonly initialSeq: number,
    private readonly maxEvents: number,
  ) {
    this.seq = initialSeq;
  }

  /** Counts one change of a leg on `exten` and logs it. */
  add(epoch: number, exten: string, entry: SubscribeEntry): PbxEvent {
    this.seq++;
    const ev: PbxEvent = { epoch, seq: this.seq, exten, entry, at: Date.now() };
    this.append(ev);
    return ev;
  }

  /** PBX restart: counter back to initialSeq, log emptied. */
  reset(): void {
    this.seq = this.initialSeq;
    this.events.length = 0;
    this.byExten.clear();
  }

  /**
   * Entries with seq > baseline on the given extensions, grouped by extension, oldest first. Style "every" lists
   * every change; "latest" only each changed leg's newest state (ordered by the seq of that state).
   */
  collect(extens: string[], baseline: number, style: AnswerStyle = "every"): Record<string, SubscribeEntry[]> | undefined {
    let data: Record<string, SubscribeEntry[]> | undefined;
    for (const exten of extens) {
      const log = this.byExten.get(exten);
      if (!log) continue;
      const items = log.items;
      if (items.length === 0 || items[items.length - 1].seq <= baseline) continue;
      let lo = log.head;
      let hi = items.length;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (items[mid].seq <= baseline) lo = mid + 1;
        else hi = mid;
      }
      const entries: SubscribeEntry[] = [];
      if (style === "every") {
        for (let i = lo; i < items.length; i++) entries.push(items[i].entry);
      } else {
        // Newest first, keeping each leg's first (newest) entry, then back to oldest first.
        const seen = new Set<string>();
        for (let i = items.length - 1; i >= lo; i--) {
          const id = items[i].entry.CallData.uniqueCallId;
          if (seen.has(id)) continue;
          seen.add(id);
          entries.push(items[i].entry);
        }
        entries.reverse();
      }
      (data ??= {})[exten] = entries;
    }
    return data;
  }

  private append(ev: PbxEvent): void {
    this.events.push(ev);
    let log = this.byExten.get(ev.exten);
    if (!log) this.byExten.set(ev.exten, (log = { items: [], head: 0 }));
    log.items.push(ev);

    for (const old of trimBatch(this.events, this.maxEvents)) {
      // The globally oldest event is also the oldest of its extension.
      const l = this.byExten.get(old.exten);
      if (!l) continue;
      l.head++;
      if (l.head >= l.items.length) this.byExten.delete(old.exten);
      else if (l.head > 1024 && l.head * 2 > l.items.length) {
        l.items = l.items.slice(l.head);
        l.head = 0;
      }
    }
  }
}
