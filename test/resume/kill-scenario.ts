/**
 * The kill test's parts, for each place a position can be kept (the resume file, a context store): a real Node-RED
 * (the packed package) follows 5 extensions of the fake PBX while calls flow, with its events and call summaries sent
 * out over UDP (test/perf/common.ts); it is killed with SIGKILL (no close handler runs), calls go on, and it is
 * started again. What reached the flow is checked against the PBX's own record of changes.
 */
import * as path from "node:path";
import { FakePbx, PbxEvent } from "../fake-pbx";
import { wipeUserDir } from "../harness/container-restart";
import { NodeRedProcess, startNodeRed } from "../harness/node-red-process";
import { configNode, positionAtKill, seededRandom, sleep, UDP_SEND_SETTINGS, udpFunctionSinkNode, UdpSink } from "../perf/common";
import type { Kill } from "../perf/soak-accounting";
import type { FlowNode } from "../harness/node-red-process";

export const API_KEY = "resume-kill-key-31f0c2";
const EXTENSIONS = ["400", "401", "402", "403", "404"];
const SCRIPTS = [["Ringing", "Connected", "Hungup"], ["Ringing", "Hungup"], ["Dialing Out", "Connected", "Hungup"], ["Ringing", "No Answer"]];

export interface Received {
  key: string;
  status: string;
  initial: boolean;
  missed: unknown;
  at: number;
  /** The Node-RED process that sent it, and its Date.now() then. */
  pid: number | undefined;
  sent: number | undefined;
  eventId: string | undefined;
  /** A Hungup made up for a call the PBX stopped listing (msg.payload.vanished). */
  vanished: boolean;
}

export interface Summary {
  uniqueCallId: string;
  partial: boolean;
  missed: boolean;
  endStatus: string;
  at: number;
}

/** Calls started and moved on every 20 ms, each leg carrying its step number. */
class Traffic {
  private readonly legs = new Map<string, { exten: string; step: number; script: string[] }>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private n = 0;
  private readonly random = seededRandom(7);

  constructor(private readonly pbx: FakePbx, private readonly prefix: string) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), 20);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Ends every call still in progress. */
  hangUpAll(): void {
    for (const [id, leg] of this.legs) if (this.pbx.leg(id)) this.pbx.update(leg.exten, id, { status: "Hungup", step: leg.step + 1 });
    this.legs.clear();
  }

  /** Starts calls until `n` are in progress: a kill then always falls inside calls (a starved timer may have let few begin). */
  inProgress(n: number): void {
    while (this.legs.size < n) this.startOne();
  }

  private startOne(): void {
    const script = SCRIPTS[this.n % SCRIPTS.length];
    const id = `${this.prefix}.${++this.n}`;
    const exten = EXTENSIONS[this.n % EXTENSIONS.length];
    this.pbx.startCall(exten, { uniqueCallId: id, status: script[0], step: 0, inbound: script[0] === "Ringing", callStartTime: "" });
    this.legs.set(id, { exten, step: 0, script });
  }

  private tick(): void {
    if (this.legs.size < 15 && this.random() < 0.5) this.startOne();
    for (const [id, leg] of [...this.legs]) {
      if (this.random() > 0.1) continue;
      leg.step += 1;
      const status = leg.script[leg.step];
      this.pbx.update(leg.exten, id, { status, step: leg.step, ...(status === "Connected" ? { callStartTime: "2026/12/02 02:00:00" } : {}) });
      if (leg.step === leg.script.length - 1) this.legs.delete(id);
    }
  }
}

export interface KillOptions {
  /** Extra settings.js code (e.g. `module.exports.contextStorage = ...`). */
  settingsCode?: string;
  /** The config node's "Keep it in" (resumeStore): "" for the resume file. */
  resumeStore?: string;
  /** Reads the position the store holds on disk (a context store's files); undefined: the resume file. */
  readStored?: () => unknown;
}

/** One Node-RED with a subscribe node (events and summaries) on 5 extensions, and what came out of it. */
export class KillScenario {
  readonly events: PbxEvent[] = [];
  readonly received: Received[] = [];
  readonly summaries: Summary[] = [];
  pbx!: FakePbx;
  nr!: NodeRedProcess;
  /**
   * The last kill: when (Date.now()), when the restarted Node-RED's admin API answered, and the position the killed
   * process had left on disk (read once it was dead).
   */
  lastKill: { killedAt: number; readyAt: number; left?: Kill } = { killedAt: 0, readyAt: 0 };
  /** Date.now() when the running Node-RED was (re)started. */
  private nrStartedAt = 0;
  private sink!: UdpSink;

  constructor(private readonly options: KillOptions = {}) {}

  static key(id: unknown, step: unknown): string {
    return `${String(id)}#${String(step)}`;
  }

  async start(): Promise<void> {
    this.pbx = new FakePbx({ apiKey: API_KEY, minPollMs: 5 });
    await this.pbx.start();
    this.pbx.onEvent = (event) => this.events.push(event);
    this.sink = new UdpSink((m) => {
      const at = Date.now();
      if ("endStatus" in m) {
        this.summaries.push({ uniqueCallId: String(m.uniqueCallId), partial: m.partial === true, missed: m.missed === true, endStatus: String(m.endStatus), at });
        return;
      }
      const pid = typeof m.pid === "number" ? m.pid : undefined;
      const sent = typeof m.sent === "number" ? m.sent : undefined;
      const eventId = m.eventId === undefined ? undefined : String(m.eventId);
      // A Hungup the node made up for a call the PBX stopped listing (vanished) copies the call's last state: no step of
      // the PBX's own, so it has a key of its own.
      const vanished = m.vanished === true;
      const key = vanished ? KillScenario.key(m.uniqueCallId, "vanished") : KillScenario.key(m.uniqueCallId, m.step);
      this.received.push({ key, status: String(m.status), initial: m.initial === true, missed: m.missed, at, pid, sent, eventId, vanished });
    });
    await this.sink.start();
    this.nrStartedAt = Date.now();
    this.nr = await startNodeRed({ settingsCode: `${UDP_SEND_SETTINGS}\n${this.options.settingsCode ?? ""}` });
    const subscribe: FlowNode = {
      id: "sub", type: "noojee-subscribe", z: "tab", name: "", server: "cfg", extensions: EXTENSIONS.join(","), timeout: 30,
      outputMode: "both", x: 100, y: 100, wires: [["udp"], ["udp"]],
    };
    await this.nr.deploy(
      [
        { id: "tab", type: "tab", label: "resume", disabled: false, info: "" },
        { ...configNode("cfg", this.pbx.url), resumeStore: this.options.resumeStore ?? "" },
        subscribe,
        udpFunctionSinkNode("udp", "tab", this.sink.port, "sub"),
      ],
      { cfg: { apiKey: API_KEY } },
    );
    await this.pbx.waitForRequest((r) => r.path.endsWith("/subscribe") && r.query.lastSequenceNumber !== "0", 30_000);
  }

  async stop(): Promise<void> {
    await this.sink?.stop();
    await this.pbx?.stop();
  }

  get resumeFile(): string {
    return path.join(this.nr.userDir, "noojee-resume", "cfg.json");
  }

  /** Deletes what a container restart loses (see test/harness/container-restart.ts). */
  wipeUserDir(): string[] {
    return wipeUserDir(this.nr.userDir);
  }

  /** Waits until every change the PBX made from events[from] on has reached the flow (or 30 s). */
  async drain(from: number): Promise<void> {
    const end = Date.now() + 30_000;
    const delivered = (): Set<string> => new Set(this.received.map((r) => r.key));
    const waited = (): PbxEvent[] => this.events.slice(from);
    while (Date.now() < end && !waited().every((e) => delivered().has(KillScenario.key(e.entry.CallData.uniqueCallId, e.entry.CallData.step)))) {
      await sleep(100);
    }
    await sleep(300);
  }

  /**
   * Waits until the store's files on disk hold a position of the running process (read from disk, never from its log),
   * then until `after` changes it sent after that position was taken have reached the flow (a kill then leaves them to
   * be sent again). Returns the position's savedAt. For a store that writes out late: localfilesystem first writes 30 s
   * (its default flushInterval) after the first set.
   */
  async waitForWriteOut(after: number, timeoutMs = 60_000): Promise<number> {
    const read = this.options.readStored;
    if (!read) throw new Error("waitForWriteOut: the position is not in a context store");
    const end = Date.now() + timeoutMs;
    const savedAt = (): number | undefined => {
      const saved = (read() ?? {}) as { savedAt?: unknown };
      return typeof saved.savedAt === "number" && saved.savedAt >= this.nrStartedAt ? saved.savedAt : undefined;
    };
    let saved = savedAt();
    for (; saved === undefined && Date.now() < end; saved = savedAt()) await sleep(100);
    if (saved === undefined) throw new Error(`the store wrote no position of this process out within ${timeoutMs} ms`);
    const pid = this.nr.pid;
    const sentAfter = (): number => this.received.filter((r) => !r.initial && r.pid === pid && (r.sent ?? r.at) > saved).length;
    while (sentAfter() < after && Date.now() < end) await sleep(50);
    if (sentAfter() < after) throw new Error(`only ${sentAfter()} changes sent after the position on disk within ${timeoutMs} ms`);
    return saved;
  }

  /** Waits until every leg that ended has its summary (Busy / No Answer are summarised after a 5 s grace), or 20 s. */
  async waitForSummaries(): Promise<void> {
    const end = Date.now() + 20_000;
    while (Date.now() < end && this.endedWithoutSummary().length > 0) await sleep(100);
  }

  /** Legs the PBX ended of which no summary came. */
  endedWithoutSummary(): string[] {
    const summarised = new Set(this.summaries.map((s) => s.uniqueCallId));
    const ended = new Set(this.events.filter((e) => ["Hungup", "No Answer", "Busy"].includes(e.entry.CallData.status)).map((e) => e.entry.CallData.uniqueCallId));
    return [...ended].filter((id) => !summarised.has(id));
  }

  /**
   * Kills Node-RED after `upMs` of traffic (and `beforeKill`, if given), makes `whileDown` happen, starts it again, and
   * waits until the changes from events[drainFrom] on (0; "restart": those after the PBX's restart) reached the flow;
   * returns the kill time.
   */
  async killAndRestart(prefix: string, upMs: number, whileDown: () => void, drainFrom?: "restart" | number, beforeKill?: () => Promise<void>): Promise<number> {
    const traffic = new Traffic(this.pbx, prefix);
    traffic.start();
    await sleep(upMs);
    await beforeKill?.();
    traffic.inProgress(3);
    const killedAt = Date.now();
    const pid = this.nr.pid;
    await this.nr.kill();
    const left = positionAtKill(this.nr.userDir, pid, "cfg", this.options.readStored);
    whileDown();
    await sleep(1500);
    this.nrStartedAt = Date.now();
    this.nr = await this.nr.restart();
    this.lastKill = { killedAt, readyAt: Date.now(), left };
    // After a PBX restart, what it did before Node-RED's resynchronising read cannot come back: wait for the rest.
    if (drainFrom === "restart") {
      for (let waited = 0; waited < 15_000 && !/went back/.test(this.nr.log()); waited += 50) await sleep(50);
      await sleep(200);
    }
    const from = drainFrom === "restart" ? this.events.length : (drainFrom ?? 0);
    await sleep(2000);
    traffic.stop();
    traffic.hangUpAll();
    await this.drain(from);
    return killedAt;
  }

  /**
   * Changes (initial: false) that reached the flow again after the last kill beyond the documented bound: the first was
   * sent before the position the killed process left on disk was taken (so that position covered it), or by another
   * process than the killed one (twice from one process), or the kill left no position at all.
   */
  resentBeyondBound(): string[] {
    const { killedAt, left } = this.lastKill;
    const first = new Map<string, Received>();
    const beyond: string[] = [];
    for (const r of this.received) {
      if (r.initial) continue;
      const earlier = first.get(r.key);
      if (earlier === undefined) first.set(r.key, r);
      else if (r.at > killedAt) {
        const byKilled = earlier.pid !== undefined && earlier.pid === left?.pid;
        const saved = left?.savedWall;
        if (!byKilled || saved === undefined || (earlier.sent ?? earlier.at) < saved) {
          const why = !byKilled ? "sent twice by one process" : saved === undefined ? "no position on disk" : `sent ${saved - (earlier.sent ?? earlier.at)} ms before the position on disk was taken`;
          beyond.push(`${r.key} ${r.status} (${why})`);
        }
      }
    }
    return beyond;
  }

  /** How long before the last kill the oldest change sent again after it was first sent (ms; 0: none). */
  oldestResend(): number {
    const { killedAt } = this.lastKill;
    const first = new Map<string, Received>();
    let oldest = 0;
    for (const r of this.received) {
      if (r.initial) continue;
      const earlier = first.get(r.key);
      if (earlier === undefined) first.set(r.key, r);
      else if (r.at > killedAt) oldest = Math.max(oldest, killedAt - (earlier.sent ?? earlier.at));
    }
    return oldest;
  }

  /**
   * What breaks the eventId promise: a msg without one, a change sent again with another eventId than the first time,
   * one eventId for two different changes.
   */
  eventIdFaults(): string[] {
    const faults: string[] = [];
    const byKey = new Map<string, string>();
    const byId = new Map<string, string>();
    for (const r of this.received) {
      if (r.eventId === undefined) {
        faults.push(`${r.key} ${r.status} without an eventId`);
        continue;
      }
      // A leg ends once: its Hungup, from the PBX or made up (vanished), is one change with one id.
      const key = r.status === "Hungup" ? KillScenario.key(r.key.split("#")[0], "end") : r.key;
      const first = byKey.get(key);
      if (first === undefined) byKey.set(key, r.eventId);
      else if (first !== r.eventId) faults.push(`${key} ${r.status} sent with eventIds ${first} and ${r.eventId}`);
      const owner = byId.get(r.eventId);
      if (owner === undefined) byId.set(r.eventId, key);
      else if (owner !== key) faults.push(`eventId ${r.eventId} given to ${owner} and ${key}`);
    }
    return faults;
  }

  /** Changes (initial: false) that reached the flow more than once. */
  repeated(): number {
    const seen = new Set<string>();
    let repeats = 0;
    for (const r of this.received) {
      if (r.initial) continue;
      if (seen.has(r.key)) repeats += 1;
      seen.add(r.key);
    }
    return repeats;
  }

  /** The PBX's changes (from events[from] on) that never reached the flow. */
  lost(from = 0): string[] {
    const delivered = new Set(this.received.map((r) => r.key));
    return this.events
      .slice(from)
      .filter((e) => !delivered.has(KillScenario.key(e.entry.CallData.uniqueCallId, e.entry.CallData.step)))
      .map((e) => `${e.entry.CallData.uniqueCallId} ${e.entry.CallData.status}`);
  }
}
