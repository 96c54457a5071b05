/**
 * Benchmark of presence with a context variable: `npm run bench:presence [extensions] [entries]`.
 *
 * 200 extensions each on a call (arguments change it) and a phonebook of 100,000 numbers; then 3,000 events, each a
 * call ringing then ending on one extension, handled as noojee-presence handles them, one event at a time with
 * performance.now():
 * - before (1.2.0 up to issue 24): each event's msg, then every extension's payload rebuilt, every call through the
 *   phonebook, and the whole object written;
 * - after: the msg and the changed extension's payload only, each call's caller info looked up once (CallCallers).
 * Prints p50/p99 in ms per event. Figures are in docs/performance.md.
 */
import { CallerInfoService } from "../../nodes/lib/numbers/caller-info";
import type { CallEvent } from "../../nodes/lib/poll/poll-loop";
import { PresenceChange, PresenceTable } from "../../nodes/lib/presence/presence-table";
import type { CallerInfoLookup } from "../../nodes/messages";
import { CallCallers, toPresenceMessage, toPresencePayload } from "../../nodes/presence-messages";

const EXTENSIONS = Number(process.argv[2] ?? 200);
const ENTRIES = Number(process.argv[3] ?? 100_000);
const EVENTS = 3000;

const number = (i: number): string => `04${String(10_000_000 + i).slice(-8)}`;
const pct = (samples: number[], p: number): number => {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};

function event(extension: string, id: string, status: string, callerId: string, seq: number): CallEvent {
  const data = { uniqueCallId: id, status, callerId, callStartTime: status === "Connected" ? "2026/12/05 09:00:00" : "", inbound: true, canAnswer: false, isQueueCall: false, isClickToDialCall: false };
  return { extension, data, callId: 1, seq, initial: false, eventId: id };
}

function run(label: string, handle: (table: PresenceTable, change: PresenceChange | undefined) => void): number[] {
  const extensions = Array.from({ length: EXTENSIONS }, (_, i) => String(1000 + i));
  const table = new PresenceTable(extensions);
  let seq = 1;
  for (const e of extensions) handle(table, table.setCurrent(e, [event(e, `c${e}`, "Connected", number(Number(e) * 2), seq++)]));
  const samples: number[] = [];
  for (let i = 0; i < EVENTS; i++) {
    const e = extensions[i % EXTENSIONS];
    const t0 = performance.now();
    handle(table, table.observe(event(e, `x${i}`, "Ringing", number(i % 500), seq++)));
    handle(table, table.observe(event(e, `x${i}`, "Hungup", number(i % 500), seq++)));
    samples.push((performance.now() - t0) / 2);
  }
  console.log(`${label.padEnd(44)} p50 ${pct(samples, 50).toFixed(3)} ms  p99 ${pct(samples, 99).toFixed(3)} ms per event`);
  return samples;
}

async function main(): Promise<void> {
  const book = Array.from({ length: ENTRIES }, (_, i) => ({ number: number(i * 2), name: `Person ${i}` }));
  const service = new CallerInfoService({ country: "AU", readContext: async () => book, pollMs: 3_600_000, warn: () => undefined, describe: () => "" });
  await service.start();
  service.close();
  const lookup: CallerInfoLookup = (callerId, extension) => service.callerInfo(callerId, extension);
  console.log(`presence: ${EXTENSIONS} extensions on a call, phonebook of ${ENTRIES.toLocaleString("en")} entries, ${EVENTS} events`);
  let sink: unknown;
  for (const round of [1, 2]) {
    run(`before (whole variable rebuilt), round ${round}`, (table, change) => {
      if (!change) return;
      if (change.stateChanged) sink = toPresenceMessage(change.presence, change.initial, lookup);
      const value: Record<string, unknown> = {};
      for (const presence of table.all()) value[presence.extension] = toPresencePayload(presence, false, lookup);
      sink = value;
    });
    const callers = new CallCallers(lookup);
    run(`after (changed extension, cached callers), round ${round}`, (_table, change) => {
      if (!change) return;
      callers.retain(change.presence.extension, change.presence.calls);
      if (change.stateChanged) sink = toPresenceMessage(change.presence, change.initial, callers);
      sink = toPresencePayload(change.presence, false, callers);
    });
  }
  void sink;
}

void main();
