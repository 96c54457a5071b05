/**
 * Part of `npm run bench:phonebook`: how long a reload of a 100,000-entry phonebook holds up the event loop, for
 * each source (CSV file, JSON file, context object, context array), measured with perf_hooks.monitorEventLoopDelay
 * (1 ms resolution) while the reload runs; and the same over an idle stretch as long, for comparison (a busy machine
 * delays timers by itself). Also the check of an unchanged context phonebook (its fingerprint) that a store without
 * a cache costs at every check.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { CallerInfoService } from "../../nodes/lib/numbers/caller-info";

const ms = (ns: number): string => (ns / 1e6).toFixed(1);

/**
 * The longest and the p99 event-loop delay while `work` runs, and its duration; and `ownMs`: the most CPU time the
 * process used between two turns of a 1 ms timer. On a machine with more runnable processes than cores, a delay is
 * mostly time the process waited for a core; ownMs is what the process itself did in one piece (an upper bound:
 * the garbage collector's and libuv's threads count too).
 */
async function delayDuring(work: () => Promise<unknown>): Promise<{ maxNs: number; p99Ns: number; tookMs: number; ownMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  let cpu = process.cpuUsage();
  let ownMs = 0;
  const ticker = setInterval(() => {
    const used = process.cpuUsage(cpu);
    ownMs = Math.max(ownMs, (used.user + used.system) / 1000);
    cpu = process.cpuUsage();
  }, 1);
  histogram.enable();
  // Its timer must be running before the work starts: a reload's first piece runs at once (microtasks, no turn of
  // the event loop), and a delay before the histogram's first tick is not recorded. The same after reset() (it forgets
  // the last tick), so a tick must follow it too.
  await new Promise((resolve) => setTimeout(resolve, 5));
  histogram.reset();
  await new Promise((resolve) => setTimeout(resolve, 3));
  ownMs = 0;
  const started = performance.now();
  await work();
  const tookMs = performance.now() - started;
  histogram.disable();
  clearInterval(ticker);
  return { maxNs: histogram.max, p99Ns: histogram.percentile(99), tookMs, ownMs };
}

const idle = (forMs: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, forMs));

export async function reloadFigures(dir: string, entries: number, number: (i: number) => string): Promise<string[]> {
  const records = Array.from({ length: entries }, (_, i) => ({ number: number(i * 2), name: `Person ${i}`, company: `Company ${i % 100}` }));
  const csv = path.join(dir, "reload.csv");
  fs.writeFileSync(csv, `number,name,company\n${records.map((r) => `${r.number},${r.name},${r.company}`).join("\n")}\n`);
  const json = path.join(dir, "reload.json");
  fs.writeFileSync(json, JSON.stringify(records));
  let object: Record<string, unknown> = Object.fromEntries(records.map((r) => [r.number, { name: r.name, company: r.company }]));
  let array: unknown[] = records.map((r) => ({ ...r }));
  // settleMs 0: a changed file is read at the check that follows (the reload is measured, not the wait for a writer).
  const options = { country: "AU", pollMs: 3_600_000, settleMs: 0, warn: (line: string) => console.error(`warning: ${line}`), describe: (s: string, p: { kind: string }) => `${s} ${p.kind}` };
  const services = {
    "CSV file": new CallerInfoService({ ...options, file: csv }),
    "JSON file": new CallerInfoService({ ...options, file: json }),
    "context object": new CallerInfoService({ ...options, readContext: () => Promise.resolve(object) }),
    "context array": new CallerInfoService({ ...options, readContext: () => Promise.resolve(array) }),
  };
  for (const service of Object.values(services)) await service.start();
  const lines = [`reload of ${entries.toLocaleString("en")} entries (CSV ${(fs.statSync(csv).size / 1e6).toFixed(1)} MB, JSON ${(fs.statSync(json).size / 1e6).toFixed(1)} MB): longest event-loop delay (monitorEventLoopDelay, 1 ms resolution; own work: most CPU in one piece; idle: an idle stretch as long); load ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`];
  for (let round = 1; round <= 3; round++) {
    // A change in each source, made before the measurement (building a new 100,000-key object is the flow's work).
    fs.appendFileSync(csv, `0355501${200 + round},One more ${round},x\n`);
    fs.writeFileSync(json, JSON.stringify([...records, { number: `0355501${200 + round}`, name: `One more ${round}` }]));
    object = { ...object, [`0355501${200 + round}`]: `One more ${round}` };
    array = [...array, { number: `0355501${200 + round}`, name: `One more ${round}` }];
    const parts: string[] = [];
    for (const [label, service] of Object.entries(services)) {
      const reload = await delayDuring(() => service.check());
      const quiet = await delayDuring(() => idle(reload.tookMs));
      parts.push(`${label} ${ms(reload.maxNs)} ms (p99 ${ms(reload.p99Ns)}, own work ${reload.ownMs.toFixed(0)}; idle ${ms(quiet.maxNs)}) in ${(reload.tookMs / 1000).toFixed(1)} s`);
    }
    lines.push(`  round ${round}: ${parts.join(", ")}`);
  }
  // A store without a cache gives a new, equal object at every check: only the fingerprint runs.
  const copies = Array.from({ length: 5 }, () => ({ ...object }));
  const unchanged = new CallerInfoService({ ...options, readContext: () => Promise.resolve(copies.pop() ?? object) });
  await unchanged.start();
  const checks: string[] = [];
  for (let i = 0; i < 4; i++) {
    const cpu = process.cpuUsage();
    const check = await delayDuring(() => unchanged.check());
    const used = process.cpuUsage(cpu);
    checks.push(`${((used.user + used.system) / 1000).toFixed(0)} ms CPU, longest delay ${ms(check.maxNs)} ms (own work ${check.ownMs.toFixed(0)})`);
  }
  lines.push(`check of an unchanged context object, new object each read (fingerprint only, no re-index): ${checks.join("; ")}`);
  // The steps a reload cannot cut, each timed alone, the least of ten runs (what they cost when the process has a
  // core: the delays above also hold the time it waited for one).
  const least = (step: () => unknown): string => {
    let best = Infinity;
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      step();
      best = Math.min(best, performance.now() - started);
    }
    return `${best.toFixed(1)} ms`;
  };
  const bytes = fs.readFileSync(json);
  const piece = bytes.toString("utf8", 0, 64 * 1024).replace(/,\{[^}]*$/, "]");
  lines.push(
    `steps done in one piece, least of 10: Object.keys of the ${entries.toLocaleString("en")}-key object ${least(() => Object.keys(object))} ` +
      `(no API lists keys piecemeal); decoding the ${(bytes.length / 1e6).toFixed(1)} MB JSON file ${least(() => bytes.toString("utf8"))}; ` +
      `JSON.parse of one 64 kB piece ${least(() => JSON.parse(piece))}; for comparison, JSON.parse of the whole file ${least(() => JSON.parse(bytes.toString("utf8")))}`,
  );
  for (const service of [...Object.values(services), unchanged]) service.close();
  if (services["CSV file"].size.file !== entries + 3 || services["context object"].size.context !== entries + 3) throw new Error("a reload did not load");
  return lines;
}
