/**
 * Resume after a restart, end to end: a real Node-RED (the packed package) follows 5 extensions of the fake PBX while
 * calls flow, is killed with SIGKILL (no close handler runs), calls go on, and it is started again on the same user
 * dir. Msgs leave Node-RED over UDP (test/perf/common.ts) and are checked against the PBX's own record of changes.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { FakePbx, PbxEvent } from "../fake-pbx";
import { NodeRedProcess, startNodeRed, stopAllNodeRed } from "../harness/node-red-process";
import { configNode, seededRandom, sleep, subscribeNode, UDP_SEND_SETTINGS, udpFunctionSinkNode, UdpSink } from "../perf/common";

const API_KEY = "resume-kill-key-31f0c2";
const EXTENSIONS = ["400", "401", "402", "403", "404"];
const SCRIPTS = [["Ringing", "Connected", "Hungup"], ["Ringing", "Hungup"], ["Dialing Out", "Connected", "Hungup"], ["Ringing", "No Answer"]];

interface Received {
  key: string;
  status: string;
  initial: boolean;
  missed: unknown;
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

  private tick(): void {
    if (this.legs.size < 15 && this.random() < 0.5) {
      const script = SCRIPTS[this.n % SCRIPTS.length];
      const id = `${this.prefix}.${++this.n}`;
      const exten = EXTENSIONS[this.n % EXTENSIONS.length];
      this.pbx.startCall(exten, { uniqueCallId: id, status: script[0], step: 0, inbound: script[0] === "Ringing", callStartTime: "" });
      this.legs.set(id, { exten, step: 0, script });
    }
    for (const [id, leg] of [...this.legs]) {
      if (this.random() > 0.1) continue;
      leg.step += 1;
      const status = leg.script[leg.step];
      this.pbx.update(leg.exten, id, { status, step: leg.step, ...(status === "Connected" ? { callStartTime: "2026/12/02 02:00:00" } : {}) });
      if (leg.step === leg.script.length - 1) this.legs.delete(id);
    }
  }
}

describe("Resume after a restart: a real Node-RED killed with SIGKILL while calls flow", function () {
  this.timeout(300_000);
  let pbx: FakePbx;
  let sink: UdpSink;
  let nr: NodeRedProcess;
  const events: PbxEvent[] = [];
  const received: Received[] = [];
  const key = (id: unknown, step: unknown): string => `${String(id)}#${String(step)}`;

  before(async () => {
    pbx = new FakePbx({ apiKey: API_KEY, minPollMs: 5 });
    await pbx.start();
    pbx.onEvent = (event) => events.push(event);
    sink = new UdpSink((m) => {
      received.push({ key: key(m.uniqueCallId, m.step), status: String(m.status), initial: m.initial === true, missed: m.missed, at: Date.now() });
    });
    await sink.start();
    nr = await startNodeRed({ settingsCode: UDP_SEND_SETTINGS });
    await nr.deploy(
      [
        { id: "tab", type: "tab", label: "resume", disabled: false, info: "" },
        configNode("cfg", pbx.url),
        subscribeNode("sub", "tab", "cfg", EXTENSIONS, 30, ["udp"]),
        udpFunctionSinkNode("udp", "tab", sink.port),
      ],
      { cfg: { apiKey: API_KEY } },
    );
    await pbx.waitForRequest((r) => r.path.endsWith("/subscribe") && r.query.lastSequenceNumber !== "0", 30_000);
  });

  after(async () => {
    await stopAllNodeRed();
    await sink?.stop();
    await pbx?.stop();
  });

  /** Waits until every change the PBX made from events[from] on has reached the flow (or 30 s). */
  async function drain(from: number): Promise<void> {
    const end = Date.now() + 30_000;
    const delivered = (): Set<string> => new Set(received.map((r) => r.key));
    const waited = (): PbxEvent[] => events.slice(from);
    while (Date.now() < end && !waited().every((e) => delivered().has(key(e.entry.CallData.uniqueCallId, e.entry.CallData.step)))) {
      await sleep(100);
    }
    await sleep(300);
  }

  /** Kills Node-RED after `upMs` of traffic, makes `whileDown` happen, starts it again; returns the kill time. */
  async function killAndRestart(prefix: string, upMs: number, whileDown: () => void, drainFrom?: "restart"): Promise<number> {
    const traffic = new Traffic(pbx, prefix);
    traffic.start();
    await sleep(upMs);
    const killedAt = Date.now();
    await nr.kill();
    whileDown();
    await sleep(1500);
    nr = await nr.restart();
    // After a PBX restart, what it did before Node-RED's resynchronising read cannot come back: wait for the rest.
    if (drainFrom === "restart") {
      for (let waited = 0; waited < 15_000 && !/went back/.test(nr.log()); waited += 50) await sleep(50);
      await sleep(200);
    }
    const from = drainFrom === "restart" ? events.length : 0;
    await sleep(2000);
    traffic.stop();
    traffic.hangUpAll();
    await drain(from);
    return killedAt;
  }

  /**
   * Changes (initial: false) that reached the flow again after the kill where the first came more than 1 s before it
   * (or after it: twice since the restart).
   */
  function repeatedAfter(killedAt: number): string[] {
    const first = new Map<string, number>();
    const repeated: string[] = [];
    for (const r of received) {
      if (r.initial) continue;
      const at = first.get(r.key);
      if (at === undefined) first.set(r.key, r.at);
      else if (r.at > killedAt && (at < killedAt - 1000 || at > killedAt)) repeated.push(`${r.key} ${r.status}`);
    }
    return repeated;
  }

  it("delivers every change made while it was down exactly once, as a change; a call that rang and ended meanwhile as missed", async () => {
    const file = path.join(nr.userDir, "noojee-resume", "cfg.json");
    let downFrom = 0;
    const killedAt = await killAndRestart("first", 2500, () => {
      assert.ok(fs.existsSync(file), "the position was saved before the kill");
      downFrom = events.length;
      pbx.startCall("400", { uniqueCallId: "down.missed", status: "Ringing", step: 0, inbound: true, callStartTime: "" });
      pbx.update("400", "down.missed", { status: "Hungup", step: 1 });
    });
    const lost = events.filter((e) => !received.some((r) => r.key === key(e.entry.CallData.uniqueCallId, e.entry.CallData.step)));
    assert.deepEqual(lost.map((e) => `${e.entry.CallData.uniqueCallId} ${e.entry.CallData.status}`), [], "no change lost");
    const madeWhileDown = events.slice(downFrom).map((e) => key(e.entry.CallData.uniqueCallId, e.entry.CallData.step));
    assert.ok(madeWhileDown.length > 10, `${madeWhileDown.length} changes while down`);
    for (const k of madeWhileDown) {
      const got = received.filter((r) => r.key === k);
      assert.equal(got.length, 1, `${k} reached the flow ${got.length} times`);
      assert.equal(got[0].initial, false, `${k} is a change`);
    }
    const missed = received.filter((r) => r.key.startsWith("down.missed#"));
    assert.deepEqual(missed.map((r) => `${r.status} ${String(r.missed)}`), ["Ringing undefined", "Hungup true"]);
    assert.deepEqual(repeatedAfter(killedAt), [], "nothing delivered more than a second before the kill came again");
    assert.match(nr.log(), /resuming from the position saved/);
  });

  it("detects a PBX that restarted while Node-RED was down and resynchronises without sending anything twice", async () => {
    const before = received.length;
    const killedAt = await killAndRestart("second", 2000, () => pbx.restart({ keepCalls: true }), "restart");
    assert.match(nr.log(), /went back from \d+ to \d+/);
    assert.deepEqual(repeatedAfter(killedAt), [], "nothing delivered more than a second before the kill came again");
    const restartedAt = events.findIndex((e) => e.epoch === pbx.epoch);
    const afterRestart = events.slice(restartedAt).map((e) => key(e.entry.CallData.uniqueCallId, e.entry.CallData.step));
    for (const k of afterRestart.slice(-20)) {
      assert.ok(received.slice(before).some((r) => r.key === k), `${k}, made after Node-RED came back, reached the flow`);
    }
  });
});
