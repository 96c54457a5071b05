/**
 * Benchmark of "who is calling": `npm run bench:phonebook`.
 *
 * A phonebook of 100,000 Australian numbers (a CSV file, the largest source), then the cost per event of what the
 * subscribe node adds to each msg: the caller ID's reading (libphonenumber-js max metadata, cached) and the
 * phonebook lookup, measured one event at a time with performance.now():
 * - repeat callers: 20,000 events from 2,000 numbers (a PBX's callers repeat: the cache holds them);
 * - every caller new: 20,000 events, each from a number not seen before (a cache miss: a full parse each time);
 * half of each set is in the phonebook, half is not. Also the first load and a reload of the 100,000-line CSV
 * (from the change to the swapped index) and the longest the event loop was held up during the reload, sampled by a
 * 1 ms timer. Then phonebook-reloads.ts: the longest event-loop delay during a reload of each source (CSV, JSON,
 * context object and array), by monitorEventLoopDelay, and the cost of checking an unchanged context phonebook.
 * Prints p50/p99/max in ms. Figures are in docs/performance.md.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { CallerInfoService } from "../../nodes/lib/numbers/caller-info";
import { toMessage } from "../../nodes/messages";
import { reloadFigures } from "./phonebook-reloads";

const ENTRIES = 100_000;
const EVENTS = 20_000;

/** An Australian mobile number in a written form that varies, from an index. */
function number(i: number, form: number): string {
  const digits = String(10_000_000 + i).slice(-8);
  if (form % 3 === 0) return `04${digits}`;
  if (form % 3 === 1) return `+61 4${digits.slice(0, 2)} ${digits.slice(2, 5)} ${digits.slice(5)}`;
  return `614${digits}`;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function describe(label: string, samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  const f = (v: number): string => v.toFixed(4);
  return `${label.padEnd(34)} p50 ${f(percentile(sorted, 50))} ms   p99 ${f(percentile(sorted, 99))} ms   max ${f(sorted.at(-1) ?? 0)} ms`;
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-phonebook-bench-"));
  const file = path.join(dir, "phonebook.csv");
  const lines = ["number,name,company"];
  for (let i = 0; i < ENTRIES; i++) lines.push(`${number(i * 2, i)},Person ${i},Company ${i % 100}`);
  fs.writeFileSync(file, `${lines.join("\n")}\n`);

  let loadedMs = 0;
  const service = new CallerInfoService({
    country: "AU",
    file,
    pollMs: 3_600_000,
    // The reload is measured, not the wait for the file to stop changing.
    settleMs: 0,
    warn: (line) => console.error(`warning: ${line}`),
    describe: (source, problem) => `${source} ${problem.kind} ${problem.where}`,
    onLoaded: (_source, _entries, ms) => (loadedMs = ms),
  });
  const firstStarted = performance.now();
  await service.start();
  const firstMs = performance.now() - firstStarted;
  // A reload: the file changes (one name more). The longest the event loop waited while it was read and indexed.
  fs.appendFileSync(file, "0355501234,One more,Company 0\n");
  let last = performance.now();
  let longestGap = 0;
  const ticker = setInterval(() => {
    const now = performance.now();
    longestGap = Math.max(longestGap, now - last);
    last = now;
  }, 1);
  const started = performance.now();
  await service.check();
  const reloadMs = performance.now() - started;
  clearInterval(ticker);
  service.close();
  if (service.size.file !== ENTRIES + 1) throw new Error(`loaded ${service.size.file} entries, expected ${ENTRIES + 1}`);

  const callers = (callerId: unknown, extension?: string) => service.callerInfo(callerId, extension);
  const event = (callerId: string) => ({ extension: "410", seq: 1, callId: 1, initial: false, data: { status: "Ringing", callerId, uniqueCallId: "1.1" } });
  const measure = (ids: string[]): number[] => {
    const samples: number[] = [];
    for (const id of ids) {
      const e = event(id);
      const t0 = performance.now();
      const msg = toMessage(e as never, undefined, callers);
      samples.push(performance.now() - t0);
      if (msg.payload === undefined) throw new Error("no payload");
    }
    return samples;
  };
  const baseline = (ids: string[]): number[] => {
    const samples: number[] = [];
    for (const id of ids) {
      const e = event(id);
      const t0 = performance.now();
      toMessage(e as never);
      samples.push(performance.now() - t0);
    }
    return samples;
  };
  // Even indexes are in the phonebook, odd ones are not; the form varies so that the cache sees each text.
  const repeat = Array.from({ length: EVENTS }, (_, i) => number(i % 2000, i % 7));
  const fresh = Array.from({ length: EVENTS }, (_, i) => number(300_000 + i, i));
  measure(repeat.slice(0, 2000)); // warm-up (JIT, metadata)
  const found = repeat.filter((id) => service.callerInfo(id).callerName !== undefined).length;

  console.log(`phonebook: ${ENTRIES.toLocaleString("en")} entries (CSV ${(fs.statSync(file).size / 1e6).toFixed(1)} MB), country AU`);
  console.log(`first load of the CSV: ${firstMs.toFixed(0)} ms (with loading the number metadata)`);
  console.log(`reload of the CSV after a change: ${reloadMs.toFixed(0)} ms (indexing reported ${loadedMs.toFixed(0)} ms); longest event-loop hold-up meanwhile ${longestGap.toFixed(1)} ms`);
  console.log(describe("toMessage without caller info", baseline(repeat)));
  console.log(describe(`repeat callers (${((found / EVENTS) * 100).toFixed(0)}% named)`, measure(repeat)));
  console.log(describe("every caller new (cache misses)", measure(fresh)));
  for (const line of await reloadFigures(dir, ENTRIES)) console.log(line);
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
