/**
 * The fault soak with replicas (issue 26): `npm run soak -- --minutes N --replicas R [--seed S] [--answer-style
 * every|latest] [--event-ids auto|require|off]`.
 *
 * R real Node-RED processes (the packed package, each its own user dir; test/harness/replica-set.ts) run the same flows
 * (20 extensions split between 1 to 4 subscribe nodes; the config node with replicas on) and coordinate through one
 * redis-server this run starts, append-only, so that a Redis restart keeps the lease, fence and position. Msgs leave
 * each replica over UDP tagged with the replica's name and pid. The PBX meets the same faults and restarts as in the
 * single-process soak while, one episode at a time, every 6 to 12 s:
 * - the lease holder is killed (SIGKILL) and started again on its user dir 2 to 6 s later;
 * - the holder is paused (SIGSTOP) until another replica holds the lease, then resumed (SIGCONT);
 * - Redis is killed and started again 1 to 12 s later (past the lease's deadline or not).
 * Deploys (random split, full / flows / nodes) go to every replica, one after the other, only while all are up.
 * There are no msg-driven extension changes (a msg reaches one replica only).
 *
 * Accounting: soak-accounting.ts, with each chaos episode as a Kill of the holder's pid and the shared position in
 * Redis as what it had made durable (read once it was dead or stopped; for a Redis outage, just before it): a takeover
 * may re-send, with the same eventId, what the flows got after that position, nothing older. A poll answered from 0.5 s
 * before an episode to the takeover is not counted as taken: its changes are required where a later answer of that
 * PBX lifetime reaches past them (see there).
 * On top:
 * - NOT HOLDER: a msg from a replica sent while Redis named another holder (or none) on both sides of it (the lease
 *   is sampled every 100 ms);
 * - WOKE AND SENT: a msg from a paused holder sent after its SIGCONT before Redis named it holder again, except one
 *   in flight at the pause (its subscribe node had sent it; Node-RED hands it on only after the wake), which comes
 *   within IN_FLIGHT_MS of SIGCONT with the eventId another replica sent too: set aside as a re-send, and counted;
 * - two polls open at once (the fake PBX's count, all replicas together) for more than 20 ms. A request the PBX hangs
 *   on without ever answering is not counted as a poll: when it meets a holder frozen by SIGSTOP it stays open until
 *   the holder wakes (a frozen process closes nothing), beside the new holder's polls, yet can bring nothing (its
 *   answer would be dropped at the lease check after it); such spans are listed apart.
 */
import { FakePbx, type FaultKind, type PbxEvent } from "../fake-pbx";
import { RedisServer } from "../harness/redis-server";
import { LeaseReader, ReplicaSet } from "../harness/replica-set";
import { replicaConfigNode, replicaCredentials } from "../harness/replica-flows";
import type { FlowNode } from "../harness/node-red-process";
import { replicaSinkNode } from "../harness/replica-set";
import { account, type EventIdMode, type Kill, type Received } from "./soak-accounting";
import { segments, takenAnswers } from "./soak-coverage";
import { drain } from "./soak-drain";
import { WatchModel } from "./soak-extensions";
import { deployAndWait, deployMarkerNodes, seededRandom, sleep, subscribeNode, UdpSink } from "./common";

const API_KEY = "soak-replicas-key-3c9d";
const EXTENSIONS = Array.from({ length: 20 }, (_, i) => String(400 + i));
const TAB = "soak-tab";
const TIMEOUT_SEC = 2;
const OVERLAP_LIMIT_MS = 20;
/** How soon after SIGCONT a msg may still be one the frozen holder had already sent (see "In flight at a pause"). */
const IN_FLIGHT_MS = 250;
/** How long before a kill, pause or Redis outage a poll's answer may still not have been handed on (see accounting). */
const EPISODE_GRACE_MS = 500;
const FAULTS: FaultKind[] = ["reset", "reset", "http500", "html502", "empty200", "malformed", "negativeCode", "badKey200", "html404", "hang"];
const SCRIPTS = [["Ringing", "Connected", "Hungup"], ["Ringing", "No Answer"], ["Dialing Out", "Busy"], ["Dialing Out", "Connected", "Hungup"]];

interface Sample { wall: number; holder: string | null; fence: number }
interface Pause { name: string; pid?: number; from: number; cont?: number }

function log(line: string): void {
  process.stdout.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

/** Whether Redis named `name` holder around `t`: false only when the samples on both sides name someone else (or nobody). */
export function heldAround(samples: readonly Sample[], name: string, t: number): boolean {
  let i = samples.findIndex((s) => s.wall > t);
  if (i < 0) i = samples.length;
  const before = samples[i - 1];
  const after = samples[i];
  if (!before || !after) return true; // no sample there (Redis down, or the run's edges): no judgement
  return before.holder === name || after.holder === name;
}

export async function replicaSoak(args: Map<string, string | true>): Promise<number> {
  const minutes = Number(args.get("minutes") ?? 1);
  const count = Number(args.get("replicas"));
  if (!(count >= 2 && count <= 5)) throw new Error("--replicas: 2 to 5");
  const seed = Number(args.get("seed") ?? Date.now() % 1_000_000);
  const random = seededRandom(seed);
  const between = (lo: number, hi: number): number => lo + random() * (hi - lo);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const answerStyle = args.get("answer-style") === "latest" ? "latest" : "every";
  const eventIds = String(args.get("event-ids") ?? "auto") as EventIdMode;
  log(`${minutes} minute(s), seed ${seed}, ${count} replicas on one Redis, answers list ${answerStyle === "every" ? "every change" : "each leg's latest state"}`);

  const pbx = new FakePbx({ apiKey: API_KEY, minPollMs: 5, maxEvents: 2_000_000, maxRequests: 2_000_000, answerStyle });
  await pbx.start();
  const redis = new RedisServer(true);
  await redis.start();
  const lease = new LeaseReader(redis.url, "noojee:cfg:lease");
  await lease.connect();
  const events: PbxEvent[] = [];
  pbx.onEvent = (e) => events.push(e);
  // Two polls open at once: counted over the polls the PBX answers. A request it hangs on (a "hang" fault) never brings
  // anything; if its sender is frozen (SIGSTOP) when the PBX hangs, nobody can close it until the sender wakes, while
  // another replica rightly polls: such spans are counted apart, for the record.
  let overlapStart: number | undefined;
  const overlaps: number[] = [];
  let hungStart: number | undefined;
  const hungOverlaps: number[] = [];
  let maxOpen = 0;
  pbx.onPollsChanged = (open, hung) => {
    const answering = open - hung;
    maxOpen = Math.max(maxOpen, answering);
    const now = performance.now();
    if (answering >= 2 && overlapStart === undefined) overlapStart = now;
    if (answering < 2 && overlapStart !== undefined) {
      overlaps.push(now - overlapStart);
      overlapStart = undefined;
    }
    if (answering >= 1 && hung >= 1 && hungStart === undefined) hungStart = now;
    if ((answering < 1 || hung < 1) && hungStart !== undefined) {
      hungOverlaps.push(now - hungStart);
      hungStart = undefined;
    }
  };
  const received: Received[] = [];
  const senders: string[] = [];
  const sink = new UdpSink((m, at) => {
    received.push({
      node: String(m.node), exten: String(m.topic), id: String(m.uniqueCallId), step: Number(m.step), status: String(m.status),
      initial: m.initial === true, at, wall: Date.now(), pid: typeof m.pid === "number" ? m.pid : undefined,
      sent: typeof m.sent === "number" ? m.sent : undefined, eventId: m.eventId === undefined ? undefined : String(m.eventId), vanished: m.vanished === true,
    });
    senders.push(String(m.replica));
  });
  await sink.start();
  const set = await ReplicaSet.start({ count, settings: { noojeeConfigAuthRetryMs: 2000, logging: { console: { level: "warn", metrics: false, audit: false } } } });
  log(`replicas ${set.replicas.map((r) => `${r.name} (pid ${r.nr.pid})`).join(", ")}`);

  // ---------------------------------------------------------------- the lease, sampled
  const samples: Sample[] = [];
  let sampling = false;
  const sampler = setInterval(() => {
    if (sampling) return;
    sampling = true;
    const wall = Date.now();
    lease.holder()
      .then((h) => samples.push({ wall, holder: h?.name ?? null, fence: h?.fence ?? -1 }))
      .catch(() => undefined) // Redis down: no sample
      .finally(() => (sampling = false));
  }, 100);
  const holderNow = (): string | null => samples.at(-1)?.holder ?? null;
  const fenceNow = (): number => samples.at(-1)?.fence ?? -1;
  /** The holder of a term after `fence` (a restarted replica may take its own name's lease back), once one holds it. */
  async function holderAfter(fence: number, timeoutMs: number): Promise<string | undefined> {
    const end = Date.now() + timeoutMs;
    const from = Date.now();
    for (;;) {
      const s = samples.at(-1);
      if (s && s.wall >= from && s.holder !== null && s.fence > fence) return s.holder;
      if (Date.now() > end) return undefined;
      await sleep(50);
    }
  }
  /** What a takeover may resume from: the shared position's savedAt and seqs (position-format.ts), read from Redis now. */
  async function sharedPosition(kill: Kill): Promise<Kill> {
    try {
      const raw = JSON.parse((await lease.read("noojee:cfg:position")) ?? "null") as { savedAt?: unknown; polls?: unknown } | null;
      if (typeof raw?.savedAt === "number") kill.savedWall = raw.savedAt;
      if (Array.isArray(raw?.polls)) kill.savedSeqs = raw.polls.map((p) => Number((p as { seq?: unknown }).seq));
    } catch {
      // none yet
    }
    return kill;
  }

  // ---------------------------------------------------------------- flows and deploys
  const watch = new WatchModel(EXTENSIONS);
  let deployCount = 0;
  const flow = (parts: string[][], names: string[]): FlowNode[] => [
    { id: TAB, type: "tab", label: "soak", disabled: false, info: "" },
    replicaConfigNode("cfg", pbx.url),
    ...parts.map((exts, i) => ({ ...subscribeNode(`sub-${i}`, TAB, "cfg", exts, TIMEOUT_SEC, [`udp-${i}`]), name: names[i] })),
    ...parts.map((_, i) => replicaSinkNode(`udp-${i}`, TAB, sink.port, `sub-${i}`)),
    ...deployMarkerNodes(TAB, deployCount),
  ];
  const deploys = new Map<string, number>();
  const deployWindows: Array<{ from: number; to: number }> = [];
  async function deploy(parts: string[][], type: "full" | "flows" | "nodes", initial = false): Promise<void> {
    const names = watch.namesFor(parts);
    const started = Date.now();
    watch.deployStarted(parts, names, started);
    deployCount += 1;
    // One replica after the other, as an operator's pipeline would: meanwhile they run different flows.
    for (const r of set.replicas) await deployAndWait(r.nr, flow(parts, names), deployCount, initial ? replicaCredentials(API_KEY, redis.url) : {}, type);
    watch.deployDone(Date.now());
    deployWindows.push({ from: started, to: Date.now() });
    deploys.set(type, (deploys.get(type) ?? 0) + 1);
  }
  const started = Date.now();
  await deploy([[...EXTENSIONS]], "full", true);
  if (!(await holderAfter(-1, 30_000))) throw new Error("no replica took the lease within 30 s");
  // On an empty Redis the first holder stands by a lease time first (docs/replicas.md): nobody polls until then.
  const firstHolderAt = Date.now();
  await pbx.waitForRequest((r) => r.path.endsWith("/subscribe") && r.query.lastSequenceNumber !== "0", 30_000);

  // ---------------------------------------------------------------- calls
  const legs = new Map<string, { exten: string; step: number; script: string[] }>();
  let legCounter = 0;
  const callTimer = setInterval(() => {
    if (legs.size < 60 && random() < 0.6) {
      const exten = pick(EXTENSIONS);
      const script = pick(SCRIPTS);
      const id = `soak.${++legCounter}`;
      pbx.startCall(exten, { uniqueCallId: id, status: script[0], step: 0, t: Date.now(), inbound: script[0] === "Ringing" });
      legs.set(id, { exten, step: 0, script });
    }
    for (const [id, leg] of [...legs]) {
      if (random() >= 0.08) continue;
      if (!pbx.leg(id)) {
        legs.delete(id);
        continue;
      }
      leg.step += 1;
      pbx.update(leg.exten, id, { status: leg.script[leg.step], step: leg.step, t: Date.now(), canAnswer: false });
      if (leg.step === leg.script.length - 1) legs.delete(id);
    }
  }, 20);

  // ---------------------------------------------------------------- chaos
  const kills: Kill[] = [];
  const pauses: Pause[] = [];
  const downs: Array<{ from: number; to: number }> = [{ from: started, to: firstHolderAt }];
  const redisDowns: Array<{ from: number; to: number }> = [];
  const episodes = new Map<string, number>();
  const restarts: Array<{ epoch: number; keepCalls: boolean; at: number }> = [];
  const faults = new Map<string, number>();
  const nrLogs: string[] = [];
  const takeovers: number[] = [];

  async function killHolder(): Promise<void> {
    const name = holderNow();
    if (!name) return;
    const r = set.get(name);
    const pid = r.nr.pid;
    const fence = fenceNow();
    await set.kill(name);
    const kill = await sharedPosition({ at: performance.now(), wall: Date.now(), pid });
    kills.push(kill);
    nrLogs.push(r.nr.log());
    const next = holderAfter(fence, 30_000).then((h) => {
      if (!h) return;
      downs.push({ from: kill.wall, to: Date.now() });
      takeovers.push(Date.now() - kill.wall);
    });
    await sleep(between(2_000, 6_000));
    await set.restart(name);
    kill.upWall = Date.now();
    await next;
    log(`killed holder ${name} (pid ${pid}); restarted as pid ${set.get(name).nr.pid}; holder now ${holderNow()}`);
  }
  async function pauseHolder(): Promise<void> {
    const name = holderNow();
    if (!name) return;
    const pid = set.get(name).nr.pid;
    const pause: Pause = { name, pid, from: Date.now() };
    const fence = fenceNow();
    set.pause(name);
    await sleep(150); // what it had on the wire lands first
    kills.push(await sharedPosition({ at: performance.now(), wall: pause.from, pid }));
    pauses.push(pause);
    const next = await holderAfter(fence, 30_000);
    if (next) {
      downs.push({ from: pause.from, to: Date.now() });
      takeovers.push(Date.now() - pause.from);
    }
    await sleep(between(500, 2_000));
    pause.cont = Date.now();
    set.resume(name);
    log(`paused holder ${name} for ${pause.cont - pause.from} ms; ${next ?? "nobody"} took over`);
  }
  async function restartRedis(): Promise<void> {
    const name = holderNow();
    const kill = await sharedPosition({ at: performance.now(), wall: Date.now(), pid: name ? set.get(name).nr.pid : undefined });
    const from = Date.now();
    await redis.kill("SIGKILL");
    await sleep(between(1_000, 12_000));
    await redis.start();
    redisDowns.push({ from, to: Date.now() });
    kills.push(kill);
    const next = await holderAfter(-1, 30_000);
    downs.push({ from, to: Date.now() });
    log(`Redis down ${redisDowns.at(-1)!.to - from} ms; holder before ${name ?? "none"}, after ${next ?? "none"}`);
  }

  const endAt = Date.now() + minutes * 60_000;
  let nextEpisode = Date.now() + between(6_000, 12_000);
  let nextDeploy = Date.now() + between(3_000, 8_000);
  let nextRestart = Date.now() + between(8_000, 15_000);
  let nextFault = Date.now() + between(200, 1_200);
  let answersAtFault = 0;
  try {
    while (Date.now() < endAt) {
      await sleep(50);
      const now = Date.now();
      for (const r of set.replicas) if (!r.nr.running) throw new Error(`replica ${r.name} exited during the soak`);
      if (now >= nextFault && pbx.pendingFaults() === 0 && pbx.answers.length >= answersAtFault + 3) {
        answersAtFault = pbx.answers.length;
        nextFault = now + between(500, 2_500);
        const kind = pick(FAULTS);
        pbx.fault(kind, 1);
        faults.set(kind, (faults.get(kind) ?? 0) + 1);
      }
      if (now >= nextRestart) {
        nextRestart = now + between(10_000, 20_000);
        const keepCalls = random() < 0.7;
        pbx.restart({ keepCalls });
        restarts.push({ epoch: pbx.epoch, keepCalls, at: now });
        if (!keepCalls) legs.clear();
        log(`PBX restart -> epoch ${pbx.epoch}${keepCalls ? " (calls kept)" : " (calls dropped)"}`);
      }
      if (now >= nextDeploy) {
        nextDeploy = now + between(6_000, 12_000);
        const n = 1 + Math.floor(random() * 4);
        const parts: string[][] = Array.from({ length: n }, () => []);
        for (const exten of EXTENSIONS) parts[Math.floor(random() * n)].push(exten);
        await deploy(parts.filter((p) => p.length > 0), pick(["full", "flows", "nodes"] as const));
      }
      if (now >= nextEpisode) {
        const kind = pick(["kill", "kill", "pause", "redis"] as const);
        episodes.set(kind, (episodes.get(kind) ?? 0) + 1);
        if (kind === "kill") await killHolder();
        else if (kind === "pause") await pauseHolder();
        else await restartRedis();
        nextEpisode = Date.now() + between(6_000, 12_000);
      }
    }
  } finally {
    clearInterval(callTimer);
  }

  // ---------------------------------------------------------------- drain
  const queuedAtEnd = pbx.pendingFaults();
  pbx.clearFaults();
  log("chaos over: ending the calls in progress and draining");
  for (const [id, leg] of legs) if (pbx.leg(id)) pbx.update(leg.exten, id, { status: "Hungup", step: leg.step + 1, t: Date.now(), canAnswer: false });
  legs.clear();
  const finalEpoch = pbx.epoch;
  const lastSeq = events.filter((e) => e.epoch === finalEpoch).reduce((m, e) => Math.max(m, e.seq), 0);
  await drain(() => pbx.answers, finalEpoch, lastSeq, [...watch.lists().values()].flat(), log);
  await sleep(500);
  clearInterval(sampler);
  const stops = await Promise.all(set.replicas.map((r) => r.nr.stop()));
  const logs = [...nrLogs, ...set.replicas.map((r) => r.nr.log())].join("\n");
  const byReplica = new Map<string, number>();
  for (const q of set.requests) if (q.path.endsWith("/subscribe")) byReplica.set(q.replica, (byReplica.get(q.replica) ?? 0) + 1);
  await set.stop();
  await sink.stop();
  lease.close();
  await redis.stop();
  await pbx.stop();

  // ---------------------------------------------------------------- accounting
  // In flight at a pause: a msg the holder's subscribe node had sent when it was frozen reaches the next node only once
  // it wakes (Node-RED passes msgs on asynchronously), past any check of the lease. It is a re-send: set aside, not
  // counted against the holder, when it comes within IN_FLIGHT_MS of SIGCONT and another replica sent the same eventId.
  const inFlight = new Set<number>();
  received.forEach((m, i) => {
    const t = m.sent ?? m.wall;
    const pause = pauses.find((p) => p.pid === m.pid && p.cont !== undefined && t >= p.cont && t <= p.cont + IN_FLIGHT_MS);
    if (pause && m.eventId !== undefined && received.some((o) => o.pid !== m.pid && o.eventId === m.eventId)) inFlight.add(i);
  });
  const setAside = received.filter((_, i) => inFlight.has(i)).map((m, k) => `${senders[[...inFlight][k]]} ${m.id}#${m.step} ${m.status}`);
  for (const i of [...inFlight].sort((a, b) => b - a)) {
    received.splice(i, 1);
    senders.splice(i, 1);
  }
  const subscribeRequests = pbx.subscribeRequests();
  // A poll answered as its holder was killed, frozen or cut off from Redis (from 0.5 s before the episode began to the
  // takeover) may never have been handed on: the holder dropped it (its lease could not be confirmed after it) or died
  // first. The next holder reads those changes again from the shared position, unless the PBX restarts before anyone
  // polls: then they are forgotten, as changes made while nobody could poll are. Such answers are not counted as
  // taken, so what they listed is required only if a later answer of that PBX lifetime covers it.
  const inEpisode = (a: { at: number; snapshot: boolean }): boolean =>
    !a.snapshot && downs.some((d) => a.at >= d.from - EPISODE_GRACE_MS && a.at <= d.to);
  const answersInEpisodes = takenAnswers(pbx.answers, subscribeRequests, downs).filter(inEpisode).length;
  const answers = takenAnswers(pbx.answers, subscribeRequests, downs).filter((a) => !inEpisode(a));
  kills.sort((a, b) => a.wall - b.wall);
  const tallies = account({
    events, answers, subscribeRequests, restarts, deployLog: [], received, finalEpoch, kills, answerStyle,
    segments: segments(EXTENSIONS, watch.transitions, subscribeRequests, answers, events, restarts, downs), history: watch.history, eventIds,
    interruptions: [...downs.map((d) => ({ from: d.from - EPISODE_GRACE_MS, to: d.to })), ...deployWindows],
  });
  const notHolder: string[] = [];
  const wokeAndSent: string[] = [];
  received.forEach((m, i) => {
    const t = m.sent ?? m.wall;
    const who = senders[i];
    if (!heldAround(samples, who, t)) notHolder.push(`${who} ${m.exten} ${m.id}#${m.step} ${m.status} sent at ${t}`);
    const pause = pauses.find((p) => p.pid === m.pid && p.cont !== undefined && t >= p.cont);
    if (pause && !samples.some((s) => s.wall >= pause.cont! && s.wall <= t + 100 && s.holder === pause.name)) wokeAndSent.push(`${who} ${m.id}#${m.step} ${t - pause.cont!} ms after SIGCONT`);
  });
  if (overlapStart !== undefined) overlaps.push(performance.now() - overlapStart); // open to the end: counts too
  if (hungStart !== undefined) hungOverlaps.push(performance.now() - hungStart);
  const longOverlaps = overlaps.filter((ms) => ms > OVERLAP_LIMIT_MS);
  const crashed = stops.filter((s) => (s.code !== 0 && s.code !== null) || s.forced).length;

  const violations: string[] = [];
  if (tallies.lost > 0) violations.push(`${tallies.lost} state changes lost`);
  if (tallies.survivorsLost > 0) violations.push(`${tallies.survivorsLost} surviving calls whose state never reached a flow`);
  if (tallies.duplicated > 0) violations.push(`${tallies.duplicated} state changes duplicated`);
  if (tallies.phantom > 0) violations.push(`${tallies.phantom} msgs for states the PBX never had`);
  if (tallies.outOfOrder > 0) violations.push(`${tallies.outOfOrder} changes out of order`);
  if (tallies.staleInitial > 0) violations.push(`${tallies.staleInitial} stale current states`);
  if (tallies.deafJoins > 0) violations.push(`${tallies.deafJoins} extensions watched but never polled`);
  if (tallies.joinStatesLost > 0) violations.push(`${tallies.joinStatesLost} calls in progress at a join never delivered`);
  if (tallies.unwatchedMsgs > 0) violations.push(`${tallies.unwatchedMsgs} msgs for extensions their node did not watch`);
  if (notHolder.length > 0) violations.push(`${notHolder.length} msgs from a replica that did not hold the lease`);
  if (wokeAndSent.length > 0) violations.push(`${wokeAndSent.length} msgs from a paused holder after it woke`);
  if (longOverlaps.length > 0) violations.push(`two polls open at once for ${longOverlaps.map((ms) => ms.toFixed(1)).join(", ")} ms`);
  if (crashed > 0) violations.push(`${crashed} replicas did not exit cleanly`);
  if (/unhandled (promise )?rejection|uncaught exception/i.test(logs)) violations.push("unhandled rejection or uncaught exception in a Node-RED log");
  if (tallies.eventIdsMissing > 0) violations.push(`${tallies.eventIdsMissing} msgs without an eventId`);
  if (tallies.eventIdsUnstable > 0) violations.push(`${tallies.eventIdsUnstable} changes sent with different eventIds`);
  if (tallies.eventIdsShared > 0) violations.push(`${tallies.eventIdsShared} eventIds given to different changes`);
  if (sink.malformed > 0) violations.push(`${sink.malformed} malformed datagrams`);

  const line = (label: string, value: string | number): void => {
    process.stdout.write(`  ${label.padEnd(48)} ${value}\n`);
  };
  const sorted = [...takeovers].sort((a, b) => a - b);
  process.stdout.write(`\nSoak tallies (seed ${seed}, ${minutes} min, ${count} replicas)\n`);
  line("state changes made by the PBX", events.length);
  line("  required (outside blind windows)", tallies.required);
  line("  lost", tallies.lost);
  line("    sent into a flow a deploy was stopping (documented)", tallies.lostInDeploy);
  line("  blind: restarted PBX before resync / forgotten", `${tallies.blindHead} / ${tallies.blindTail}`);
  line("msgs received", received.length);
  line("  by replica", [...new Set(senders)].sort().map((n) => `${n} ${senders.filter((s) => s === n).length}`).join(", "));
  line("  duplicated changes", tallies.duplicated);
  line("  re-sent after a takeover (after the shared position)", `${tallies.resentAfterKill}${tallies.resentAfterKill ? ` (oldest sent ${(tallies.oldestResendMs / 1000).toFixed(1)} s before)` : ""}`);
  line("  for an extension the node did not watch", tallies.unwatchedMsgs);
  line("  from a replica not holding the lease", notHolder.length);
  line("  from a paused holder after SIGCONT", wokeAndSent.length);
  line("  in flight at a pause (sent before it, re-sent by the new holder)", setAside.length ? `${setAside.length}: ${setAside.slice(0, 3).join("; ")}` : 0);
  line("eventIds (msg.payload.eventId)", tallies.eventIdsChecked ? `${tallies.eventIdsMissing} missing, ${tallies.eventIdsUnstable} changes with two, ${tallies.eventIdsShared} shared` : "not checked");
  line("chaos episodes", [...episodes].map(([k, n]) => `${k} ${n}`).join(", ") || "none");
  line("takeovers (holder gone -> another holds), ms", sorted.length ? `${sorted.length}: ${sorted[0]} .. ${sorted.at(-1)}` : "-");
  line("Redis outages (ms)", redisDowns.map((d) => d.to - d.from).join(", ") || "-");
  line("PBX restarts", `${restarts.length} (${restarts.filter((r) => r.keepCalls).length} keeping calls)`);
  line("faults injected / still queued at the end", `${[...faults].map(([k, n]) => `${k} ${n}`).join(", ")} / ${queuedAtEnd}`);
  line("redeploys (each to every replica)", [...deploys].map(([k, n]) => `${k} ${n}`).join(", "));
  line("subscribe requests by replica", [...byReplica].sort().map(([k, n]) => `${k} ${n}`).join(", "));
  line("most polls open at once (hung requests apart)", maxOpen);
  line("polls answered at a chaos episode (not counted as taken)", answersInEpisodes);
  line("two polls open at once (count, longest ms)", `${overlaps.length}, ${overlaps.length ? Math.max(...overlaps).toFixed(2) : "-"}`);
  line("a poll beside a request the PBX hung on (count, longest ms)", `${hungOverlaps.length}, ${hungOverlaps.length ? Math.max(...hungOverlaps).toFixed(0) : "-"}`);
  const examples: Array<[string, string[]]> = [
    ["lost, e.g.", tallies.lostExamples], ["duplicated, e.g.", tallies.duplicateExamples], ["not holder, e.g.", notHolder.slice(0, 5)],
    ["woke and sent, e.g.", wokeAndSent.slice(0, 5)], ["not watched, e.g.", tallies.unwatchedExamples], ["eventIds, e.g.", tallies.eventIdExamples],
  ];
  for (const [label, list] of examples) if (list.length) line(label, list.join("; "));
  if (violations.length > 0) {
    process.stdout.write(`\nSOAK FAILED: ${violations.join("; ")}\n`);
    return 1;
  }
  process.stdout.write("\nSOAK PASSED\n");
  return 0;
}
