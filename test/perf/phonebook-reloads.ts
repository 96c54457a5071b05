/**
 * Part of `npm run bench:phonebook`: how long a reload of a 100,000-entry phonebook holds up the event loop, for
 * each source (CSV file, JSON file, context object, context array), measured with perf_hooks.monitorEventLoopDelay
 * (1 ms resolution) while the reload runs; and the same over an idle stretch as long, for comparison (a busy machine
 * delays timers by itself). Also the check of an unchanged context phonebook (its fingerprint) that a store without
 * a cache costs at every check.
 *
 * Each source is measured in a Node.js process of its own that holds that phonebook only, as a Node-RED would: in one
 * process holding all four (half a gigabyte), the garbage collector's pauses were the bench's, not a reload's.
 */
import { fork } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { CallerInfoService } from "../../nodes/lib/numbers/caller-info";

const SOURCES = ["CSV file", "JSON file", "context object", "context array"] as const;
type Source = (typeof SOURCES)[number];
const ROUNDS = 3;

const ms = (ns: number): string => (ns / 1e6).toFixed(1);

/** An Australian mobile number, `04` and eight digits, from an index. */
const number = (i: number): string => `04${String(10_000_000 + i).slice(-8)}`;

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

/** In the child process: ROUNDS reloads of one source (each after a change), one line per round. */
async function measureSource(source: Source, dir: string, entries: number): Promise<string[]> {
  const records = Array.from({ length: entries }, (_, i) => ({ number: number(i * 2), name: `Person ${i}`, company: `Company ${i % 100}` }));
  const csv = path.join(dir, `reload-${process.pid}.csv`);
  const json = path.join(dir, `reload-${process.pid}.json`);
  let object: Record<string, unknown> | undefined;
  let array: unknown[] | undefined;
  if (source === "CSV file") fs.writeFileSync(csv, `number,name,company\n${records.map((r) => `${r.number},${r.name},${r.company}`).join("\n")}\n`);
  if (source === "JSON file") fs.writeFileSync(json, JSON.stringify(records));
  if (source === "context object") object = Object.fromEntries(records.map((r) => [r.number, { name: r.name, company: r.company }]));
  if (source === "context array") array = records.map((r) => ({ ...r }));
  // settleMs 0: a changed file is read at the check that follows (the reload is measured, not the wait for a writer).
  const options = { country: "AU", pollMs: 3_600_000, settleMs: 0, warn: (line: string) => console.error(`warning: ${line}`), describe: (s: string, p: { kind: string }) => `${s} ${p.kind}` };
  const service = new CallerInfoService({
    ...options,
    ...(source === "CSV file" ? { file: csv } : source === "JSON file" ? { file: json } : { readContext: () => Promise.resolve(object ?? array) }),
  });
  await service.start();
  const lines: string[] = [];
  const added: Array<{ number: string; name: string }> = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // A change, made before the measurement (building a new 100,000-key object is the flow's work, not the reload's).
    const more = { number: `0355501${200 + round}`, name: `One more ${round}` };
    if (source === "CSV file") fs.appendFileSync(csv, `${more.number},${more.name},x\n`);
    added.push(more);
    if (source === "JSON file") fs.writeFileSync(json, JSON.stringify([...records, ...added]));
    if (object) object = { ...object, [more.number]: more.name };
    if (array) array = [...array, more];
    const reload = await delayDuring(() => service.check());
    const quiet = await delayDuring(() => idle(reload.tookMs));
    lines.push(`${ms(reload.maxNs)} ms (p99 ${ms(reload.p99Ns)}, own work ${reload.ownMs.toFixed(0)}; idle ${ms(quiet.maxNs)}) in ${(reload.tookMs / 1000).toFixed(1)} s`);
  }
  const size = source.startsWith("context") ? service.size.context : service.size.file;
  service.close();
  if (size !== entries + ROUNDS) throw new Error(`${source}: ${size} entries after the reloads, expected ${entries + ROUNDS}`);
  if (source === "context object" && object) lines.push(await unchangedChecks(object, options));
  return lines;
}

/** A store without a cache gives a new, equal object at every check: only the fingerprint runs. */
async function unchangedChecks(object: Record<string, unknown>, options: ConstructorParameters<typeof CallerInfoService>[0]): Promise<string> {
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
  unchanged.close();
  return checks.join("; ");
}

/** The steps a reload cannot cut, each timed alone, the least of ten runs. */
function stepFigures(entries: number): string {
  const records = Array.from({ length: entries }, (_, i) => ({ number: number(i * 2), name: `Person ${i}`, company: `Company ${i % 100}` }));
  const object = Object.fromEntries(records.map((r) => [r.number, { name: r.name, company: r.company }]));
  const bytes = Buffer.from(JSON.stringify(records));
  const least = (step: () => unknown): string => {
    let best = Infinity;
    for (let i = 0; i < 10; i++) {
      const started = performance.now();
      step();
      best = Math.min(best, performance.now() - started);
    }
    return `${best.toFixed(1)} ms`;
  };
  const piece = bytes.toString("utf8", 0, 64 * 1024).replace(/,\{[^}]*$/, "]");
  return (
    `steps done in one piece, least of 10: Object.keys of the ${entries.toLocaleString("en")}-key object ${least(() => Object.keys(object))} ` +
    `(no API lists keys piecemeal); decoding the ${(bytes.length / 1e6).toFixed(1)} MB JSON file ${least(() => bytes.toString("utf8"))}; ` +
    `JSON.parse of one 64 kB piece ${least(() => JSON.parse(piece))}; for comparison, JSON.parse of the whole file ${least(() => JSON.parse(bytes.toString("utf8")))}`
  );
}

/** One child process per source; the lines it prints on stdout (JSON) come back. */
function inChild(source: Source, dir: string, entries: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = fork(__filename, ["--source", source, dir, String(entries)], { stdio: ["ignore", "pipe", "inherit", "ipc"] });
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out) as string[]) : reject(new Error(`${source}: exit ${code}`))));
  });
}

export async function reloadFigures(dir: string, entries: number): Promise<string[]> {
  const lines = [
    `reload of ${entries.toLocaleString("en")} entries, each source in a process of its own: longest event-loop delay (monitorEventLoopDelay, ` +
      `1 ms resolution; own work: most CPU in one piece; idle: an idle stretch as long); load ${os.loadavg()[0].toFixed(1)} on ${os.cpus().length} cores`,
  ];
  const bySource: Array<[Source, string[]]> = [];
  for (const source of SOURCES) bySource.push([source, await inChild(source, dir, entries)]);
  for (let round = 0; round < ROUNDS; round++) lines.push(`  round ${round + 1}: ${bySource.map(([source, got]) => `${source} ${got[round]}`).join(", ")}`);
  const unchanged = bySource.find(([source]) => source === "context object")?.[1][ROUNDS];
  lines.push(`check of an unchanged context object, new object each read (fingerprint only, no re-index): ${unchanged}`);
  lines.push(stepFigures(entries));
  return lines;
}

if (process.argv[2] === "--source") {
  const [source, dir, entries] = process.argv.slice(3);
  measureSource(source as Source, dir, Number(entries)).then(
    (lines) => process.stdout.write(JSON.stringify(lines)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
