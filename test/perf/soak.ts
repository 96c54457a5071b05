/**
 * Fault soak: `npm run soak -- --minutes N [--seed S] [--answer-style every|latest] [--idle-limit SECONDS]
 * [--idle-mode 504|reset] [--no-ext-changes] [--store durable|localfilesystem] [--event-ids auto|require|off] [--trace FILE]`; with `--replicas R`, soak-replicas.ts.
 *
 * A real Node-RED (the packed package installed in a fresh user dir) follows 20 extensions on the fake PBX while
 * calls keep flowing and, at random, the PBX restarts (its counter back to 1; with or without the calls surviving),
 * answers subscribe with connection resets, hangs, HTTP 500, HTML 502/404 pages, empty bodies, malformed JSON,
 * negative Codes and key rejections (HTTP 200 envelope and HTTP 401), and the flow is redeployed every few seconds
 * (full, modified-flows and modified-nodes deploys, with the extensions split differently between 1 to 4 subscribe
 * nodes), and Node-RED itself is killed with SIGKILL every 20 to 40 s and started again on the same user dir a few
 * seconds later (its config node resumes from the position it saved). Msgs leave Node-RED through a function node that sends them over UDP to a socket of this process (not
 * `udp out`: after each restart it ignores msgs for 75 ms, which would count as losses here); each subscribe node has its
 * own, so a msg names its node, the Node-RED process that sent it and when. A deploy counts as done once its flows
 * run (a marker path of the flow answers the deploy's number): Node-RED answers POST /flows before it starts them.
 *
 * Options: `--answer-style` is the fake PBX's (sim/pbx-server.ts): "every" change since lastSequenceNumber (default) or
 * each changed leg's "latest" state only. Unless `--no-ext-changes`, every 0.7 to 2.5 s the driver changes one
 * subscribe node's extensions through the flow's http-in path (msg.action add / remove / replace with msg.extensions in
 * the forms a flow sends: text, array, number), including removing all of a node's extensions and adding some back;
 * deploys then come every 4 to 9 s instead of 2 to 5 (soak-extensions.ts keeps the model of who watches what).
 * `--idle-limit S` puts a reverse proxy (test/harness/idle-limit-proxy.ts) between Node-RED and the PBX that cuts a
 * request after S seconds without an answer (`--idle-mode`: an nginx 504 page or a connection reset; default by the
 * seed's parity), sets the nodes' Long poll above it (floor(S) + 1) and makes quiet spells (no calls, faults, deploys
 * or changes) 2.5 to 4.5 s longer than the limit, 8 to 15 s apart, so that held polls meet the cut.
 *
 * The accounting (what must reach the flow, what is excused, what is a violation) is defined in soak-accounting.ts.
 *
 * `--store NAME` keeps the position in a context store outside the user directory, whose files every kill also
 * deletes, as a container restart does (soak-store.ts; localfilesystem at Node-RED's default flush interval, 30 s,
 * its first kill held until the store's file on disk holds a position: FirstWriteOut).
 *
 * `--event-ids`: msg.payload.eventId must be the same for every sending of a change and differ between changes;
 * `auto` (default) checks it once any msg carries one, `require` fails msgs without one, `off` skips the check.
 *
 * Key rejections make the loop wait at least 60 s by default; this run sets settings.js `noojeeConfigAuthRetryMs` to
 * 2000 (a documented setting for test set-ups) so that rejections stay short.
 *
 * Prints the tallies; exits 1 on any violation.
 */
import * as fs from "node:fs";
import { FakePbx, FaultKind, PbxEvent } from "../fake-pbx";
import { type FlowNode, startNodeRed, stopAllNodeRed } from "../harness/node-red-process";
import { startIdleLimitProxy, type IdleLimitProxy } from "../harness/idle-limit-proxy";
import { account, type EventIdMode, type Kill, type Received, type SoakRecords } from "./soak-accounting";
import { discardedReads, droppedPolls, segments, takenAnswers, type AbortEvidence } from "./soak-coverage";
import { drain } from "./soak-drain";
import { traceAround } from "./soak-trace";
import { EXT_PATH, extensionInputNodes, type ExtChange, WatchModel } from "./soak-extensions";
import { FirstWriteOut, SoakStore } from "./soak-store";
import { replicaSoak } from "./soak-replicas";
import { wipeUserDir } from "../harness/container-restart";
import {
  configNode, deployAndWait, deployMarkerNodes, flowsRunning, MB, MEMORY_PROBE_OPTIONS, memoryProbeNodes, parseArgs, positionAtKill, probeMemory,
  procStats, seededRandom, sleep, subscribeNode, UDP_SEND_SETTINGS, udpFunctionSinkNode, UdpSink,
} from "./common";

const API_KEY = "soak-key-7d1e2f3a-4b5c";
const EXTENSIONS = Array.from({ length: 20 }, (_, i) => String(400 + i));
const TAB = "soak-tab";
const OVERLAP_LIMIT_MS = 20;
const HEAP_GROWTH_LIMIT = 32 * MB;

const args = parseArgs(process.argv.slice(2));
const minutes = Number(args.get("minutes") ?? 1);
const seed = Number(args.get("seed") ?? Date.now() % 1_000_000);
const random = seededRandom(seed);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
const between = (lo: number, hi: number): number => lo + random() * (hi - lo);
const answerStyleArg = String(args.get("answer-style") ?? "every");
if (answerStyleArg !== "every" && answerStyleArg !== "latest") throw new Error(`--answer-style: "${answerStyleArg}" is not every or latest`);
const answerStyle: "every" | "latest" = answerStyleArg;
const idleLimitSec = args.has("idle-limit") ? Number(args.get("idle-limit")) : undefined;
if (idleLimitSec !== undefined && !(idleLimitSec > 0 && idleLimitSec < 60)) throw new Error("--idle-limit: seconds, above 0 and below 60");
const idleModeArg = String(args.get("idle-mode") ?? (seed % 2 === 0 ? "504" : "reset"));
if (idleModeArg !== "504" && idleModeArg !== "reset") throw new Error(`--idle-mode: "${idleModeArg}" is not 504 or reset`);
const idleMode: "504" | "reset" | undefined = idleLimitSec === undefined ? undefined : idleModeArg;
const extChanges = !args.has("no-ext-changes");
const store = SoakStore.fromArg(args.get("store"));
const eventIdsArg = String(args.get("event-ids") ?? "auto");
if (!["auto", "require", "off"].includes(eventIdsArg)) throw new Error(`--event-ids: "${eventIdsArg}" is not auto, require or off`);
const eventIds = eventIdsArg as EventIdMode;
// Long poll: above the proxy's idle limit when there is one (its cut is what the run is for), else 2 s.
const TIMEOUT_SEC = idleLimitSec === undefined ? 2 : Math.floor(idleLimitSec) + 1;

interface Leg {
  exten: string;
  id: string;
  step: number;
  script: string[];
}

const FAULT_WEIGHTS: Array<[FaultKind, number]> = [
  ["hang", 1], ["reset", 3], ["http500", 2], ["html502", 2], ["empty200", 2], ["malformed", 2], ["negativeCode", 2],
  ["badKey200", 1], ["badKey401", 1], ["html404", 1],
];
const SCRIPTS: string[][] = [
  ["Ringing", "Connected", "Hungup"],
  ["Ringing", "No Answer"],
  ["Dialing Out", "Busy"],
  ["Ringing", "Connected", "Unlinked", "Connected", "Hungup"],
  ["Dialing Out", "Connected", "Hungup"],
  ["Ringing", "Hungup"],
];

function log(line: string): void {
  process.stdout.write(`[soak ${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}
let current: { log(): string } | undefined;

async function main(): Promise<number> {
  log(`${minutes} minute(s), seed ${seed}, answers list ${answerStyle === "every" ? "every change" : "each leg's latest state"}` +
    `${extChanges ? ", msg-driven extension changes" : ""}` +
    `${idleLimitSec === undefined ? "" : `, a proxy cutting idle polls after ${idleLimitSec} s (${idleMode}), Long poll ${TIMEOUT_SEC} s`}`);
  const pbx = new FakePbx({ apiKey: API_KEY, minPollMs: 5, maxEvents: 2_000_000, maxRequests: 2_000_000, answerStyle });
  await pbx.start();
  const proxy: IdleLimitProxy | undefined = idleLimitSec === undefined
    ? undefined
    : await startIdleLimitProxy({ target: pbx.url, idleLimitMs: idleLimitSec * 1000, mode: idleMode });
  const pbxHost = proxy?.url ?? pbx.url;
  const watch = new WatchModel(EXTENSIONS);

  // ---------------------------------------------------------------- records
  const events: PbxEvent[] = [];
  pbx.onEvent = (event) => events.push(event);
  const restarts: Array<{ epoch: number; keepCalls: boolean; at: number }> = [];
  const faults = new Map<string, number>();
  const deploys = new Map<string, number>();
  const deployLog: SoakRecords["deployLog"] = [];
  let overlapStart: number | undefined;
  const overlaps: number[] = [];
  let maxOpen = 0;
  pbx.onPollsChanged = (open) => {
    maxOpen = Math.max(maxOpen, open);
    const now = performance.now();
    if (open >= 2 && overlapStart === undefined) overlapStart = now;
    if (open < 2 && overlapStart !== undefined) {
      overlaps.push(now - overlapStart);
      overlapStart = undefined;
    }
  };
  const received: Received[] = [];
  const sink = new UdpSink((m, at) => {
    received.push({
      node: String(m.node), exten: String(m.topic), id: String(m.uniqueCallId), step: Number(m.step), status: String(m.status),
      initial: m.initial === true, at, wall: Date.now(),
      pid: typeof m.pid === "number" ? m.pid : undefined, sent: typeof m.sent === "number" ? m.sent : undefined,
      eventId: m.eventId === undefined ? undefined : String(m.eventId), vanished: m.vanished === true,
    });
  });
  await sink.start();

  let nr = await startNodeRed({
    ...MEMORY_PROBE_OPTIONS,
    settingsCode: `${MEMORY_PROBE_OPTIONS.settingsCode}\n${UDP_SEND_SETTINGS}\n${store?.settingsCode ?? ""}`,
    settings: { noojeeConfigAuthRetryMs: 2000, logging: { console: { level: "warn", metrics: false, audit: false } } },
  });
  current = nr;
  log(`Node-RED pid ${nr.pid} on ${nr.url}`);

  // ---------------------------------------------------------------- flow and deploys
  function flow(parts: string[][], names: string[]): FlowNode[] {
    return [
      { id: TAB, type: "tab", label: "soak", disabled: false, info: "" },
      { ...configNode("cfg", pbxHost), resumeStore: store?.name ?? "" },
      ...parts.map((exts, i) => ({ ...subscribeNode(`sub-${i}`, TAB, "cfg", exts, TIMEOUT_SEC, [`udp-${i}`]), name: names[i] })),
      ...parts.map((_, i) => udpFunctionSinkNode(`udp-${i}`, TAB, sink.port, `sub-${i}`)),
      ...extensionInputNodes(TAB, parts.length),
      ...memoryProbeNodes(TAB),
      ...deployMarkerNodes(TAB, deployCount),
    ];
  }
  let deployCount = 0;
  /** Deploys `parts` and keeps the watch model in step (see soak-extensions.ts). */
  async function deploy(parts: string[][], type: "full" | "flows" | "nodes", entry: SoakRecords["deployLog"][number]): Promise<void> {
    // What it stops (see "A deploy stops" in soak-accounting.ts): the deploy marker changes the one tab every time, so
    // a flows deploy restarts all of it; a nodes deploy leaves each sink alone unless its node goes.
    entry.stops = type === "nodes" ? [...watch.lists()].filter(([id]) => Number(id.slice(4)) >= parts.length).flatMap(([, list]) => list) : "all";
    const names = watch.namesFor(parts);
    watch.deployStarted(parts, names, entry.at);
    deployCount += 1;
    // Done once the new flows run: Node-RED answers the deploy before it starts them, and a msg change sent meanwhile
    // would go to a node that does not exist yet (dropped, or a 404 from the flow's http-in).
    await deployAndWait(nr, flow(parts, names), deployCount, entry.type === "initial" ? { cfg: { apiKey: API_KEY } } : {}, type);
    entry.done = Date.now();
    watch.deployDone(entry.done);
  }
  function randomPartition(): string[][] {
    const n = 1 + Math.floor(random() * 4);
    const parts: string[][] = Array.from({ length: n }, () => []);
    for (const exten of EXTENSIONS) parts[Math.floor(random() * n)].push(exten);
    return parts.filter((p) => p.length > 0);
  }
  await deploy([[...EXTENSIONS]], "full", { at: Date.now(), type: "initial" });
  await pbx.waitForRequest((r) => r.path.endsWith("/subscribe") && r.query.lastSequenceNumber !== "0", 30_000);
  let memory = [await probeMemory(nr)];
  let rss = [procStats(nr.pid ?? 0).rssBytes];
  const kills: Kill[] = [];
  const nrLogs: string[] = [];
  const downtimes: number[] = [];
  const downs: Array<{ from: number; to: number }> = [];
  const extSent = new Map<string, number>();
  let extEmptied = 0;
  let extRefilled = 0;
  let extFailed = 0;
  /** Sends one msg change through the flow's http-in path; the model takes it when it is sent. */
  async function changeExtensions(change: ExtChange): Promise<void> {
    watch.apply(change, Date.now());
    const body = JSON.stringify({ node: Number(change.node.slice(4)), action: change.action, extensions: change.extensions });
    const res = await nr.request("POST", EXT_PATH, { body, headers: { "Content-Type": "application/json" } });
    watch.applied(Date.now());
    if (res.status !== 200) extFailed += 1;
    extSent.set(change.action, (extSent.get(change.action) ?? 0) + 1);
    if (change.empties) extEmptied += 1;
    if (change.refills) extRefilled += 1;
  }

  // ---------------------------------------------------------------- calls
  const legs = new Map<string, Leg>();
  let legCounter = 0;
  function advance(leg: Leg): void {
    leg.step += 1;
    const status = leg.script[leg.step];
    if (!pbx.leg(leg.id)) {
      legs.delete(leg.id); // died with a restart that did not keep the calls
      return;
    }
    pbx.update(leg.exten, leg.id, { status, step: leg.step, t: Date.now(), canAnswer: status === "Ringing" });
    if (leg.step === leg.script.length - 1) legs.delete(leg.id);
  }
  let quietUntil = 0;
  function callTick(): void {
    if (Date.now() < quietUntil) return; // no traffic: the polls are held until the proxy cuts them
    if (legs.size < 60 && random() < 0.6) {
      const exten = pick(EXTENSIONS);
      const script = pick(SCRIPTS);
      const id = `soak.${++legCounter}`;
      pbx.startCall(exten, { uniqueCallId: id, status: script[0], step: 0, t: Date.now(), inbound: script[0] === "Ringing" });
      legs.set(id, { exten, id, step: 0, script });
    }
    for (const leg of [...legs.values()]) if (random() < 0.08) advance(leg);
  }

  // ---------------------------------------------------------------- chaos
  const chaosStart = Date.now();
  const endAt = chaosStart + minutes * 60_000;
  let nextRestart = Date.now() + between(8_000, 15_000);
  let nextDeploy = Date.now() + between(2_000, 5_000);
  let nextFault = Date.now() + between(200, 1_200);
  let nextKill = Date.now() + between(20_000, 40_000);
  const firstWriteOut = new FirstWriteOut(store);
  let nextExtChange = Date.now() + between(1_000, 3_000);
  let nextQuiet = Date.now() + between(5_000, 10_000);
  let answersAtFault = 0;
  let deploying: Promise<void> | undefined;
  const callTimer = setInterval(callTick, 20);
  const rssTimer = setInterval(() => {
    if (nr.running) rss.push(procStats(nr.pid ?? 0).rssBytes);
  }, 1000);
  let lastMemory = Date.now();
  try {
    while (Date.now() < endAt) {
      await sleep(50);
      if (!nr.running) throw new Error("Node-RED exited during the soak");
      const now = Date.now();
      firstWriteOut.poll(now);
      if (now < quietUntil) continue; // a quiet spell: nothing at all, so that a held poll lasts until the proxy's cut
      // One fault at a time, and only after a few good answers, so the loop meets faults and recovers in between (a
      // fault for every request would keep it in backoff for good and test nothing but the backoff).
      if (now >= nextFault && pbx.pendingFaults() === 0 && pbx.answers.length >= answersAtFault + 3) {
        answersAtFault = pbx.answers.length;
        nextFault = now + between(500, 2_500);
        const total = FAULT_WEIGHTS.reduce((n, [, w]) => n + w, 0);
        let r = random() * total;
        const kind = FAULT_WEIGHTS.find(([, w]) => (r -= w) < 0)?.[0] ?? "reset";
        const count = kind === "hang" ? 1 : 1 + Math.floor(random() * 2);
        pbx.fault(kind, count);
        faults.set(kind, (faults.get(kind) ?? 0) + count);
        if (random() < 0.3) pbx.bumpSeq(Math.floor(random() * 50)); // other extensions' traffic
      }
      if (now >= nextRestart) {
        nextRestart = now + between(10_000, 20_000);
        const keepCalls = random() < 0.7;
        pbx.restart({ keepCalls });
        restarts.push({ epoch: pbx.epoch, keepCalls, at: now });
        if (!keepCalls) legs.clear();
        log(`PBX restart -> epoch ${pbx.epoch}${keepCalls ? " (calls kept)" : " (calls dropped)"}`);
      }
      if (now >= nextDeploy && !deploying) {
        // With msg changes, deploys come less often: each resets the lists, and a change needs time to be tested.
        nextDeploy = now + (extChanges ? between(4_000, 9_000) : between(2_000, 5_000));
        const type = pick(["full", "flows", "nodes"] as const);
        const parts = randomPartition();
        deploys.set(type, (deploys.get(type) ?? 0) + 1);
        const entry: SoakRecords["deployLog"][number] = { at: Date.now(), type };
        deployLog.push(entry);
        deploying = deploy(parts, type, entry).finally(() => {
          deploying = undefined;
        });
      }
      if (now >= nextKill && !deploying && now >= (firstWriteOut.killAt(nextKill, kills.length, between, now) ?? Infinity)) {
        // SIGKILL: no close handler runs. The PBX goes on (calls, faults, restarts) while Node-RED is down.
        nextKill = now + between(20_000, 40_000);
        const pid = nr.pid;
        await nr.kill();
        // Read once it is dead: what it left on disk (a write or a flush under way at the kill may or may not be there).
        kills.push(positionAtKill(nr.userDir, pid, "cfg", store && (() => store.savedPosition())));
        if (store) wipeUserDir(nr.userDir); // a container restart: the position must come from the store
        nrLogs.push(nr.log());
        const down = Date.now();
        await sleep(between(1_000, 4_000));
        watch.restarted(Date.now());
        nr = await nr.restart();
        await flowsRunning(nr, deployCount); // a msg change sent before its http-in runs would be refused (a 404)
        current = nr;
        downtimes.push(Date.now() - down);
        kills[kills.length - 1].upWall = Date.now();
        // A PBX restart due while it was down would come the instant it is back, before it polls from its position, and
        // excuse the whole downtime as forgotten by the PBX (2 of 3 runs did): it comes 2 to 6 s after, once resumed.
        nextRestart = Math.max(nextRestart, Date.now() + between(2_000, 6_000));
        downs.push({ from: down, to: Date.now() });
        log(`Node-RED killed and restarted (pid ${nr.pid}, down ${Date.now() - down} ms)`);
        memory = []; // heap and RSS are compared within the last process
        rss = [];
        lastMemory = Date.now(); // the next sample once its flows run
      }
      if (extChanges && now >= nextExtChange && !deploying) {
        nextExtChange = now + between(700, 2_500);
        const change = watch.pick(random);
        if (change) await changeExtensions(change);
      }
      if (proxy && now >= nextQuiet) {
        // A quiet spell longer than the proxy's limit: held polls meet the cut.
        quietUntil = now + (idleLimitSec ?? 0) * 1000 + between(2_500, 4_500);
        nextQuiet = quietUntil + between(8_000, 15_000);
      }
      if (now - lastMemory > 10_000 && !deploying) { // not while a deploy re-creates the probe's http-in node
        lastMemory = now;
        memory.push(await probeMemory(nr));
      }
    }
  } finally {
    clearInterval(callTimer);
  }
  await deploying;

  // ---------------------------------------------------------------- drain
  const queuedAtEnd = pbx.pendingFaults();
  pbx.clearFaults();
  log("chaos over: ending the calls in progress and draining");
  for (const leg of [...legs.values()]) {
    if (!pbx.leg(leg.id)) continue;
    leg.step += 1;
    pbx.update(leg.exten, leg.id, { status: "Hungup", step: leg.step, t: Date.now(), canAnswer: false });
  }
  legs.clear();
  const finalEpoch = pbx.epoch;
  const lastSeq = events.filter((e) => e.epoch === finalEpoch).reduce((m, e) => Math.max(m, e.seq), 0);
  await drain(() => pbx.answers, finalEpoch, lastSeq, [...watch.lists().values()].flat(), log);
  await sleep(500); // the last msgs through Node-RED and the UDP socket
  clearInterval(rssTimer);
  memory.push(await probeMemory(nr));
  rss.push(procStats(nr.pid ?? 0).rssBytes);

  const stop = await nr.stop();
  const nrLog = [...nrLogs, nr.log()].join("\n");
  await sink.stop();
  const proxyCuts = proxy?.cuts ?? 0;
  await proxy?.close();
  await pbx.stop();
  store?.remove();

  // ---------------------------------------------------------------- accounting
  const subscribeRequests = pbx.subscribeRequests();
  // The reads the client took: one that showed it a PBX restart is read again at once (see discardedReads).
  // What makes the client abort a poll to ask again: a msg change of the extensions, a deploy (sent to done).
  const aborts: AbortEvidence = {
    spans: [...watch.transitions.map((t) => ({ from: t.at, to: t.at })), ...deployLog.map((d) => ({ from: d.at, to: d.done ?? d.at }))],
    events, received,
  };
  const answers = takenAnswers(pbx.answers, subscribeRequests, downs, aborts);
  const discarded = discardedReads(pbx.answers, subscribeRequests, downs);
  // Answers written to a poll the client had just aborted (see droppedPolls): not taken.
  const dropped = droppedPolls(pbx.answers, subscribeRequests, downs, aborts);
  // What happened, in order: written whole with --trace FILE; around the first lost change when the soak fails.
  const traceLines = (() => {
    const trace = [
      ...subscribeRequests.map((r) => ({ at: r.at, what: `REQ e${r.epoch} last=${r.query.lastSequenceNumber} to=${r.query.timeOut} ctr=${r.seqAtArrival} n=${r.query.exten?.split(",").length}` })),
      ...pbx.answers.map((a) => ({ at: a.at, what: `ANS e${a.epoch} ${a.snapshot ? (discarded.has(a) ? "SNAP(thrown away)" : "SNAP") : dropped.has(a) ? "poll(aborted)" : "poll"} last=${a.last} seq=${a.seq} entries=${a.entries} [${a.exten}]` })),
      ...events.map((e) => ({ at: e.at, what: `EVT e${e.epoch} seq=${e.seq} ${e.exten} ${e.entry.CallData.uniqueCallId}#${e.entry.CallData.step} ${e.entry.CallData.status}` })),
      ...received.map((m) => ({ at: m.wall, what: `MSG ${m.node} ${m.exten} ${m.id}#${m.step} ${m.status}${m.initial ? " initial" : ""} pid ${m.pid ?? "-"} sent ${m.sent ?? "-"}${m.eventId === undefined ? "" : ` id ${m.eventId}`}` })),
      ...restarts.map((r) => ({ at: r.at, what: `RESTART -> e${r.epoch} keep=${r.keepCalls}` })),
      ...kills.map((k) => ({ at: k.wall, what: `KILL pid ${k.pid ?? "-"} position on disk savedAt=${k.savedWall ?? "-"} seqs=${k.savedSeqs?.join(",") ?? "-"}` })),
      ...downs.map((d) => ({ at: d.to, what: `UP after ${d.to - d.from} ms` })),
      ...deployLog.map((d) => ({ at: d.at, what: `DEPLOY ${d.type} done+${(d.done ?? 0) - d.at}` })),
      ...watch.history.map((h) => ({ at: h.at, what: `WATCH ${h.node} ${h.extensions.join(",")}` })),
    ].sort((a, b) => a.at - b.at);
    return trace.map((x) => `${x.at} ${x.what}`);
  })();
  if (args.get("trace")) fs.writeFileSync(String(args.get("trace")), traceLines.join("\n"));
  const tallies = account({
    events, answers, subscribeRequests, restarts, deployLog, received, finalEpoch, kills, answerStyle,
    segments: segments(EXTENSIONS, watch.transitions, subscribeRequests, answers, events, restarts, downs), history: watch.history,
    eventIds,
    // A kill (from a second before it, as for re-sends) or a deploy may end whoever took a read before its next poll.
    interruptions: [...downs.map((d) => ({ from: d.from - 1000, to: d.to })), ...deployLog.map((d) => ({ from: d.at, to: d.done ?? d.at }))],
  });
  const { required, lost, lostExamples, blindHead, blindTail, undetectable, survivorsChecked, survivorsLost } = tallies;
  const { duplicated, duplicateExamples, resentAfterKill, phantom, initialMsgs } = tallies;

  const crashed = stop.code !== 0 && stop.code !== null ? `exit code ${stop.code}` : stop.forced ? "had to be killed" : "";
  const unhandled = /unhandled (promise )?rejection|uncaught exception/i.test(nrLog);
  const longOverlaps = overlaps.filter((ms) => ms > OVERLAP_LIMIT_MS);
  const heapGrowth = memory.length > 1 ? memory[memory.length - 1].heapUsed - memory[0].heapUsed : 0;

  const violations: string[] = [];
  if (lost > 0) violations.push(`${lost} state changes lost`);
  if (survivorsLost > 0) violations.push(`${survivorsLost} surviving calls whose state at the resync never reached the flow`);
  if (duplicated > 0) violations.push(`${duplicated} state changes duplicated`);
  if (phantom > 0) violations.push(`${phantom} msgs for states the PBX never had`);
  if (tallies.outOfOrder > 0) violations.push(`${tallies.outOfOrder} changes OUT OF ORDER (older than a state already delivered)`);
  if (tallies.staleInitial > 0) violations.push(`${tallies.staleInitial} STALE current states (initial: true, older than a state already delivered)`);
  if (tallies.deafJoins > 0) violations.push(`${tallies.deafJoins} extensions added or watched again but never polled`);
  if (tallies.joinStatesLost > 0) violations.push(`${tallies.joinStatesLost} calls in progress on a newly watched extension whose state never reached the flow`);
  if (tallies.unwatchedMsgs > 0) violations.push(`${tallies.unwatchedMsgs} msgs for extensions their node did not watch`);
  const refused = nrLog.split("\n").filter((l) => /Invalid extension list|msg\.action must be/.test(l)).length;
  if (extFailed + refused > 0) violations.push(`${extFailed + refused} extension changes the flow refused`);
  if (longOverlaps.length > 0) violations.push(`two polls open at once for ${longOverlaps.map((ms) => ms.toFixed(1)).join(", ")} ms`);
  if (crashed) violations.push(`Node-RED ${crashed}`);
  if (unhandled) violations.push("unhandled rejection or uncaught exception in the Node-RED log");
  if (heapGrowth > HEAP_GROWTH_LIMIT) violations.push(`heap grew by ${(heapGrowth / MB).toFixed(1)} MB`);
  if (sink.malformed > 0) violations.push(`${sink.malformed} malformed datagrams`);
  if (tallies.eventIdsMissing > 0) violations.push(`${tallies.eventIdsMissing} msgs without an eventId`);
  if (tallies.eventIdsUnstable > 0) violations.push(`${tallies.eventIdsUnstable} changes sent with different eventIds`);
  if (firstWriteOut.applies && firstWriteOut.seenAt === undefined) violations.push("the store never wrote a position out (no kill came)");
  if (tallies.eventIdsShared > 0) violations.push(`${tallies.eventIdsShared} eventIds given to different changes`);

  const line = (label: string, value: string | number): void => {
    process.stdout.write(`  ${label.padEnd(44)} ${value}\n`);
  };
  process.stdout.write(`\nSoak tallies (seed ${seed}, ${minutes} min)\n`);
  line("state changes made by the PBX", events.length);
  line("  required (outside blind windows)", required);
  line("  lost", `${lost}${tallies.lostWhileDownBlank ? ` (${tallies.lostWhileDownBlank} around a kill that left no position on disk)` : ""}`);
  line("    blind: crash before the store first wrote out (documented)", tallies.lostBeforeFirstWrite);
  line("    sent into a flow a deploy was stopping (documented)", tallies.lostInDeploy);
  line("  blind: restarted PBX before resync (excused)", blindHead);
  line("  blind: forgotten by a restart (excused)", blindTail);
  line("  restarts the client could not detect", undetectable);
  line("surviving calls checked by final state", `${survivorsChecked} (${survivorsLost} missing)`);
  line("msgs received", received.length);
  line("  duplicated changes", duplicated);
  line("  re-sent after a kill (sent after the position on disk)", `${resentAfterKill}${resentAfterKill ? ` (the oldest sent ${(tallies.oldestResendMs / 1000).toFixed(1)} s before its kill)` : ""}`);
  line("  current-state replays (initial: true)", initialMsgs);
  line("  phantom", phantom);
  line("  made-up ends of calls gone with a PBX restart (vanished)", tallies.vanishedEnds);
  line("  OUT OF ORDER: older than delivered, as a change", tallies.outOfOrder);
  line("  STALE: older than delivered, as initial: true", tallies.staleInitial);
  line("  older state re-sent after a kill (ditto)", tallies.staleAfterKill);
  line("  for an extension the node did not watch", tallies.unwatchedMsgs);
  line("eventIds (msg.payload.eventId)", tallies.eventIdsChecked
    ? `checked: ${tallies.eventIdsMissing} missing, ${tallies.eventIdsUnstable} changes with two, ${tallies.eventIdsShared} shared by two changes`
    : eventIds === "off" ? "not checked (--event-ids off)" : "none in the msgs (not checked)");
  line("answers list", answerStyle === "every" ? "every change (every)" : "each changed leg's latest state (latest)");
  if (answerStyle === "latest") line("  changes no taken answer listed (skipped)", tallies.notListed);
  line("extension changes by msg", extChanges ? `${[...extSent].map(([k, n]) => `${k} ${n}`).join(", ") || "none"} (${extEmptied} emptied a node, ${extRefilled} added to an empty one)` : "off");
  line("  changes in a join or leave window (excused)", tallies.joinLeaveExcused);
  line("  reopened by a blind kill, unwatched (excused)", tallies.reopenedExcused);
  line("  changes while no node watched (not required)", tallies.notWatched);
  line("  joins (add, deploy, restart) / never polled", `${tallies.joins} / ${tallies.deafJoins}`);
  line("  calls in progress at a join checked", `${tallies.joinStatesChecked} (${tallies.joinStatesLost} missing)`);
  const timeOuts = new Map<string, number>();
  for (const r of subscribeRequests) timeOuts.set(r.query.timeOut ?? "-", (timeOuts.get(r.query.timeOut ?? "-") ?? 0) + 1);
  line("idle-limit proxy", proxy ? `${idleLimitSec} s, ${idleMode}: ${proxyCuts} polls cut` : "none");
  line("position kept in", store ? `context store "${store.name}" (user dir wiped at each kill)` : "the resume file");
  line("  subscribe timeOut asked (s: requests)", [...timeOuts].sort().map(([k, n]) => `${k}: ${n}`).join(", "));
  if (firstWriteOut.applies) line("  store's first write-out, seen on disk", firstWriteOut.describe(chaosStart, kills[0]?.wall));
  line("Node-RED kills (SIGKILL) and restarts", `${kills.length} (down ${downtimes.length ? `${Math.min(...downtimes)}-${Math.max(...downtimes)}` : "-"} ms)`);
  line("PBX restarts", `${restarts.length} (${restarts.filter((r) => r.keepCalls).length} keeping calls)`);
  line("faults injected", [...faults].map(([k, n]) => `${k} ${n}`).join(", "));
  line("faults still queued at the end (dropped)", queuedAtEnd);
  line("redeploys", [...deploys].map(([k, n]) => `${k} ${n}`).join(", "));
  line("subscribe requests", pbx.subscribeRequests().length);
  line("most polls open at once", maxOpen);
  line("answers to a poll the client had aborted", dropped.size);
  line("two polls open at once (count, longest ms)", `${overlaps.length}, ${overlaps.length ? Math.max(...overlaps).toFixed(2) : "-"}`);
  line("heap after GC first / last, last process (MB)", `${(memory[0].heapUsed / MB).toFixed(1)} / ${(memory[memory.length - 1].heapUsed / MB).toFixed(1)}`);
  line("RSS first / max / last, last process (MB)", `${(rss[0] / MB).toFixed(0)} / ${(Math.max(...rss) / MB).toFixed(0)} / ${(rss[rss.length - 1] / MB).toFixed(0)}`);
  line("Node-RED exit", stop.forced ? "killed" : `code ${stop.code} signal ${stop.signal}`);
  if (lostExamples.length) line("lost, e.g.", lostExamples.join("; "));
  if (duplicateExamples.length) line("duplicated, e.g.", duplicateExamples.join("; "));
  if (tallies.staleExamples.length) line("older than delivered, e.g.", tallies.staleExamples.join("; "));
  if (tallies.deafExamples.length) line("never polled / join state missing, e.g.", tallies.deafExamples.join("; "));
  if (tallies.unwatchedExamples.length) line("not watched, e.g.", tallies.unwatchedExamples.join("; "));
  if (tallies.eventIdExamples.length) line("eventIds, e.g.", tallies.eventIdExamples.join("; "));
  if (violations.length > 0) {
    process.stdout.write(`\nSOAK FAILED: ${violations.join("; ")}\n`);
    if (tallies.firstLost) process.stdout.write(`${traceAround(traceLines, tallies.firstLost)}\n`);
    const errors = nrLog.split("\n").filter((l) => /error|unhandled|uncaught/i.test(l)).slice(0, 20);
    if (errors.length) process.stdout.write(`Node-RED log (errors):\n${errors.join("\n")}\n`);
    return 1;
  }
  process.stdout.write("\nSOAK PASSED\n");
  return 0;
}

(args.has("replicas") ? replicaSoak(args) : main())
  .then((code) => {
    process.exitCode = code;
  })
  .catch(async (err: unknown) => {
    process.stdout.write(`SOAK ERROR: ${err instanceof Error ? err.stack : String(err)}\n`);
    if (current) process.stdout.write(`--- Node-RED output ---\n${current.log().slice(-5000)}\n`);
    await stopAllNodeRed();
    process.exitCode = 2;
  });
