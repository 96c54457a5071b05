/**
 * Model-based tests of SubscriptionHub and its PollLoops (fast-check `fc.commands`): random sequences of subscribe
 * nodes joining and leaving, msg adds / removes / replaces (down to none and back), deploys (with or without a changed
 * split, a call changing in the middle), calls ringing / connecting / ending on watched and unwatched extensions, PBX
 * restarts, faults (resets, 5xx, hangs, an intermediary that cuts held polls), clock advances and steps, store faults,
 * and Node-RED kills, against an in-memory PBX (model-pbx.ts) answering in one of two styles ("every" change or the
 * "latest" state of each changed leg), on fake timers. The position goes through the project's ContextPosition to a
 * model store (model-store.ts: a file, a durable context store, or one that acknowledges at once and flushes later,
 * like localfilesystem; reads and writes that lag, fail or stall). A kill lands wherever the sequence puts it: right
 * after a call changed (before or during the position's write), during the restarted process's read, its first
 * answers or its first write (a second kill), with calls changing while Node-RED is down.
 *
 * After every command the world settles and is checked against a plain reference (model-world.ts, model-checks.ts,
 * model-resume.ts): every watched extension polled, in one request at a time; each node gets the calls in progress and
 * then each change once, in order, nothing older than already sent, nothing for extensions it does not watch; the last
 * state it has is the PBX's; its status says what is true. Across a kill, what must reach the flow is decided from the
 * PBX's history, what the flows got and what the store made durable, never from what the hub chose to write: nothing
 * lost on the extensions watched across it, re-sends bounded by the durable position. A violation names the fix of
 * issue 23 that guards it (items 1, 3, 4: model-resume.ts, GUARDS).
 *
 * Budget: NOOJEE_MODEL_RUNS sequences (default 3,000: kills and the store make a sequence longer, so this takes about
 * the time 5,000 took before) on every `npm test`; `npm run test:model` runs 100,000 (or NOOJEE_MODEL_RUNS). A failure
 * prints the shrunk sequence, the violations and how to replay it:
 *   npm run build && NOOJEE_MODEL_SEED=<seed> NOOJEE_MODEL_PATH=<path> NOOJEE_MODEL_REPLAY='<replay>' \
 *     npx mocha --no-config --timeout 0 dist/test/model/hub.model.test.js
 * (seed, path and replay as printed: they run the shrunk case alone; the seed alone repeats the whole search).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as sinon from "sinon";
import { checkAll, settle } from "./model-checks";
import { continuation } from "./model-resume";
import { type AnswerStyle, type EmptyShape, nextStatuses, type RestartMode } from "./model-pbx";
import type { ReadFault, StoreParams } from "./model-store";
import { type NodeLayout, World } from "./model-world";

const POOL = ["400", "401", "402", "403", "404", "405", "406", "407"];
const IDS = ["n0", "n1", "n2", "n3"];

interface Params {
  style: AnswerStyle;
  restartMode: RestartMode;
  emptyShape: EmptyShape;
  noiseMs: number | undefined;
  maxExtenBytes: number;
  store: StoreParams;
}

type Model = Record<string, never>;
type Cmd = fc.AsyncCommand<Model, World>;

/** Each command acts, then lets the world settle and checks it. */
abstract class Step implements Cmd {
  check(): boolean {
    return true;
  }
  async run(_m: Model, world: World): Promise<void> {
    world.commands += 1;
    await this.act(world);
    await settle(world);
    checkAll(world);
    if (world.violations.length > 0) {
      const shown = world.violations.slice(0, 8).join("\n  ");
      const more = world.violations.length > 8 ? `\n  ... ${world.violations.length - 8} more` : "";
      throw new Error(`after ${this.toString()}:\n  ${shown}${more}\n${trace(world)}`);
    }
  }
  abstract act(world: World): Promise<void>;
  abstract toString(): string;
}

/** The last requests and warnings, to read a counterexample by. */
function trace(world: World): string {
  const requests = world.pbx.requests.slice(-14).map((r) =>
    `#${r.id} gen ${r.gen} [${r.extensions.join(" ")}] last=${r.last} timeOut=${r.timeOut} at ${r.openedAt}` +
    (r.closedAt === undefined ? (r.hung ? " (hanging)" : " (open)") : ` -> ${r.outcome}${r.answerSeq === undefined ? "" : ` seq=${r.answerSeq}`} at ${r.closedAt}`));
  return `  last requests (PBX seq now ${world.pbx.seq}, epoch ${world.pbx.epoch}):\n    ${requests.join("\n    ") || "(none)"}` +
    (world.log.length > 0 ? `\n  warnings:\n    ${world.log.slice(-5).join("\n    ")}` : "");
}

const list = (extensions: readonly string[]): string => `[${extensions.join(" ")}]`;

class Join extends Step {
  constructor(readonly layout: NodeLayout) {
    super();
  }
  async act(world: World): Promise<void> {
    if (world.nodes.has(this.layout.id) || world.late.has(this.layout.id)) return;
    for (const id of world.late.ids()) await world.startLate(id); // not while a late node is awaited: model-late.ts
    world.register(this.layout);
  }
  toString(): string {
    return `join ${this.layout.id} ${list(this.layout.extensions)} timeout ${this.layout.timeoutSec}s`;
  }
}

class Leave extends Step {
  constructor(readonly id: string) {
    super();
  }
  async act(world: World): Promise<void> {
    if (world.late.has(this.id)) await world.startLate(this.id, true); // closed before its list was in
    else if (!world.nodes.has(this.id)) return;
    else {
      // Not while a late node is awaited: the extension would linger until the hub's wait ends (not modelled).
      for (const id of world.late.ids()) await world.startLate(id);
      await world.deregister(this.id);
    }
    world.releaseLingering();
  }
  toString(): string {
    return `leave ${this.id} (deregister, releaseLingering)`;
  }
}

class Msg extends Step {
  constructor(readonly id: string, readonly action: "add" | "remove" | "replace", readonly extensions: string[]) {
    super();
  }
  async act(world: World): Promise<void> {
    const node = world.nodes.get(this.id);
    if (!node) return;
    // As noojee-subscribe does with msg.action / msg.extensions.
    let next: string[];
    if (this.action === "replace") next = [...this.extensions];
    else if (this.action === "add") next = [...node.watched, ...this.extensions.filter((e) => !node.watched.includes(e))];
    else next = node.watched.filter((e) => !this.extensions.includes(e));
    // Not while a late node is awaited: an extension gained then that the saved position holds carries on from its
    // cursor without the calls in progress (model-late.ts).
    if (next.some((e) => !node.watched.includes(e))) for (const id of world.late.ids()) await world.startLate(id);
    world.updateExtensions(this.id, next);
  }
  toString(): string {
    return `msg ${this.id} ${this.action} ${list(this.extensions)}`;
  }
}

class Deploy extends Step {
  /** `layout` undefined: the same nodes again; `mid`: a call changes between the stops and the starts. */
  constructor(readonly layout: NodeLayout[] | undefined, readonly mid: { extension: string; pick: number } | undefined) {
    super();
  }
  async act(world: World): Promise<void> {
    for (const id of world.late.ids()) await world.startLate(id); // its list came in before the deploy
    if (world.nodes.size === 0 && !this.layout) return;
    const layouts = this.layout ?? [...world.nodes.values()].map((n) => ({ id: n.id, extensions: [...n.watched], timeoutSec: n.timeoutSec }));
    const carried = continuation(world.nodes.values(), world.pbx.epoch);
    for (const id of [...world.nodes.keys()]) await world.deregister(id);
    if (this.mid) changeCall(world, this.mid.extension, this.mid.pick);
    for (const layout of layouts) world.register(layout, carried);
    world.releaseLingering();
  }
  toString(): string {
    const layout = this.layout ? this.layout.map((l) => `${l.id} ${list(l.extensions)} ${l.timeoutSec}s`).join("; ") : "the same nodes";
    return `deploy ${layout}${this.mid ? ` (a call changes on ${this.mid.extension} meanwhile)` : ""}`;
  }
}

/** Moves a call on `extension` on (pick chooses the leg and its next state), or rings a new one. */
function changeCall(world: World, extension: string, pick: number): string {
  const legs = world.pbx.activeLegs(extension);
  if (legs.length === 0 || (pick % 5 === 0 && legs.length < 2)) {
    const leg = world.pbx.startCall(extension, pick % 2 === 0);
    return `${leg.id} ${leg.history[0].status}`;
  }
  const leg = legs[pick % legs.length];
  const options = nextStatuses(leg.history.at(-1)!.status);
  const status = options[Math.floor(pick / legs.length) % options.length];
  world.pbx.advance(leg, status);
  return `${leg.id} ${status}`;
}

class Call extends Step {
  constructor(readonly extension: string, readonly pick: number) {
    super();
  }
  done = "";
  async act(world: World): Promise<void> {
    this.done = changeCall(world, this.extension, this.pick);
  }
  toString(): string {
    return `call on ${this.extension} (pick ${this.pick})${this.done ? `: ${this.done}` : ""}`;
  }
}

class Restart extends Step {
  constructor(readonly back: number) {
    super();
  }
  async act(world: World): Promise<void> {
    world.pbx.restart(this.back);
  }
  toString(): string {
    return `PBX restart (counter back to ~${1 + this.back})`;
  }
}

class Fault extends Step {
  constructor(readonly kind: "reset" | "5xx" | "hang", readonly count: number) {
    super();
  }
  async act(world: World): Promise<void> {
    if (this.kind === "hang") world.pbx.hangNextRequests(this.count);
    else world.pbx.failNextAnswers(this.kind, this.count);
  }
  toString(): string {
    return `fault: the next ${this.count} ${this.kind === "hang" ? "requests hang" : `answers fail (${this.kind})`}`;
  }
}

class Proxy extends Step {
  constructor(readonly idleSec: number | undefined) {
    super();
  }
  async act(world: World): Promise<void> {
    world.pbx.proxyIdleSec = this.idleSec;
  }
  toString(): string {
    return this.idleSec === undefined ? "no proxy idle limit" : `a proxy cuts polls held ${this.idleSec} s (504)`;
  }
}

class Tick extends Step {
  constructor(readonly ms: number) {
    super();
  }
  async act(world: World): Promise<void> {
    await world.clock.tickAsync(this.ms);
  }
  toString(): string {
    return `time passes ${this.ms / 1000} s`;
  }
}

class ClockStep extends Step {
  constructor(readonly ms: number) {
    super();
  }
  async act(world: World): Promise<void> {
    world.clock.setSystemTime(Date.now() + this.ms); // the wall clock only: timers keep their schedule
  }
  toString(): string {
    return `the system clock steps ${this.ms > 0 ? "forward" : "back"} ${Math.abs(this.ms) / 60_000} min`;
  }
}

interface Downtime {
  /** Calls that change while Node-RED is down. */
  calls: Array<{ extension: string; pick: number }>;
  ms: number;
}

/**
 * Node-RED killed and started again: optionally right after a call changed (`lead`: the kill lands between the change,
 * its answer, the flow and the position's write), with calls changing while it is down, and `again`: killed once more
 * that long after the restart (during its read, its first answers or its first write), and started again. `late`: that
 * node (if configured) announces itself at the restart and registers only with a later LateStart (its kept list is
 * read meanwhile: model-late.ts); `again.late`: still after the second restart.
 */
class Kill extends Step {
  constructor(readonly lead: { extension: string; pick: number; ms: number } | undefined, readonly down: Downtime,
    readonly again: { afterMs: number; down: Downtime; late?: boolean } | undefined, readonly late?: string) {
    super();
  }
  async act(world: World): Promise<void> {
    if (this.lead) {
      changeCall(world, this.lead.extension, this.lead.pick);
      await world.clock.tickAsync(this.lead.ms);
    }
    await world.killAndResume(() => downtime(world, this.down), this.late);
    if (this.again) {
      await world.clock.tickAsync(this.again.afterMs);
      const down = this.again.down;
      await world.killAndResume(() => downtime(world, down), this.again.late === true ? this.late : undefined);
    }
    await world.awaitLoaded();
  }
  toString(): string {
    const lead = this.lead ? `a call changes on ${this.lead.extension} (pick ${this.lead.pick}), ${this.lead.ms} ms later ` : "";
    const late = this.late === undefined ? "" : ` (${this.late} registers late)`;
    const again = this.again ? `, kill again ${this.again.afterMs} ms after the restart (down: ${downText(this.again.down)}) and start again` +
      (this.again.late === true ? late : "") : "";
    return `${lead}kill Node-RED (down: ${downText(this.down)}), start again from the store${late}${again}`;
  }
}

/** The node announced at the last restart registers now: its kept list is in (model-late.ts). */
class LateStart extends Step {
  async act(world: World): Promise<void> {
    const id = world.late.ids()[0];
    if (id !== undefined) await world.startLate(id);
  }
  toString(): string {
    return "the late node registers (its kept list is in)";
  }
}

async function downtime(world: World, down: Downtime): Promise<void> {
  for (const call of down.calls) {
    changeCall(world, call.extension, call.pick);
    await world.clock.tickAsync(down.ms);
  }
}

const downText = (down: Downtime): string =>
  down.calls.length === 0 ? "nothing happens" : `${down.calls.map((c) => `call on ${c.extension} (pick ${c.pick})`).join(", ")}, ${down.ms} ms apart`;

class StoreFault extends Step {
  constructor(readonly fault: ReadFault | { writesFail: number } | { writesStallMs: number }) {
    super();
  }
  async act(world: World): Promise<void> {
    const fault = this.fault;
    if (typeof fault === "string") world.store.failNextRead(fault);
    else if ("writesFail" in fault) world.store.failNextWrites(fault.writesFail);
    else world.store.stallWrites(fault.writesStallMs);
  }
  toString(): string {
    const fault = this.fault;
    if (typeof fault === "string") return `store: the next process's read ${fault === "failsOnce" ? "fails once" : fault === "late" ? "answers late (12 s)" : "stalls for good"}`;
    return "writesFail" in fault ? `store: the next ${fault.writesFail} writes fail` : `store: writes stall ${fault.writesStallMs / 1000} s`;
  }
}

const extensions = fc.subarray(POOL, { minLength: 0, maxLength: 5 });
const extensionsSome = fc.subarray(POOL, { minLength: 1, maxLength: 3 });
const timeoutSec = fc.constantFrom(5, 30);
const layout = fc.record({ id: fc.constantFrom(...IDS), extensions, timeoutSec });
const layouts = fc.uniqueArray(layout, { minLength: 1, maxLength: 3, selector: (l) => l.id });

const call = fc.tuple(fc.constantFrom(...POOL), fc.nat(20)).map(([e, pick]) => new Call(e, pick));

const down = fc.record({
  calls: fc.array(fc.record({ extension: fc.constantFrom(...POOL), pick: fc.nat(20) }), { maxLength: 3 }),
  ms: fc.constantFrom(0, 700, 2000),
});
const kill = (late: fc.Arbitrary<string | undefined>): fc.Arbitrary<Kill> => fc.tuple(
  fc.option(fc.record({ extension: fc.constantFrom(...POOL), pick: fc.nat(20), ms: fc.constantFrom(0, 60, 150, 350, 700) }), { nil: undefined }),
  down,
  fc.option(fc.record({ afterMs: fc.constantFrom(0, 5, 30, 150, 450, 2500), down, late: fc.boolean() }), { nil: undefined }),
  late,
).map(([lead, down, again, id]) => new Kill(lead, down, again, id));

const commands = [
  layout.map((l) => new Join(l)),
  layout.map((l) => new Join(l)),
  fc.constantFrom(...IDS).map((id) => new Leave(id)),
  fc.tuple(fc.constantFrom(...IDS), fc.constantFrom("add" as const, "remove" as const, "replace" as const), extensionsSome)
    .map(([id, action, e]) => new Msg(id, action, e)),
  fc.tuple(fc.constantFrom(...IDS), fc.constantFrom("add" as const, "remove" as const, "replace" as const), extensions)
    .map(([id, action, e]) => new Msg(id, action, e)),
  fc.tuple(fc.option(layouts, { nil: undefined }), fc.option(fc.record({ extension: fc.constantFrom(...POOL), pick: fc.nat(20) }), { nil: undefined }))
    .map(([l, mid]) => new Deploy(l, mid)),
  ...Array.from({ length: 5 }, () => call), // calls are most of what happens
  fc.nat(2).map((back) => new Restart(back)),
  fc.tuple(fc.constantFrom("reset" as const, "5xx" as const, "hang" as const), fc.integer({ min: 1, max: 3 })).map(([k, n]) => new Fault(k, n)),
  fc.option(fc.constantFrom(2, 8), { nil: undefined }).map((s) => new Proxy(s)),
  fc.constantFrom(1000, 5000, 12_000, 31_000, 61_000).map((ms) => new Tick(ms)),
  fc.constantFrom(-3_600_000, 3_600_000).map((ms) => new ClockStep(ms)),
  kill(fc.constant(undefined)),
  kill(fc.constantFrom(...IDS)), // one node registers late after the restart
  fc.constant(null).map(() => new LateStart()),
  fc.oneof(
    fc.constantFrom("failsOnce" as const, "late" as const, "stalls" as const),
    fc.integer({ min: 1, max: 3 }).map((n) => ({ writesFail: n })),
    fc.constantFrom(2000, 40_000).map((ms) => ({ writesStallMs: ms })),
  ).map((f) => new StoreFault(f)),
];

const params: fc.Arbitrary<Params> = fc.record({
  style: fc.constantFrom("every" as const, "latest" as const),
  restartMode: fc.constantFrom("lower" as const, "hold" as const),
  emptyShape: fc.constantFrom("object" as const, "null" as const, "missing" as const),
  noiseMs: fc.constantFrom(undefined, 100, 250),
  maxExtenBytes: fc.constantFrom(9, 15, Infinity), // 2 or 3 extensions per chunk, or one chunk
  store: fc.record({
    kind: fc.constantFrom("file" as const, "durable" as const, "lagging" as const),
    readMs: fc.constantFrom(5, 20, 400, 3000),
    writeMs: fc.constantFrom(0, 30, 800),
    flushMs: fc.constantFrom(1000, 30_000), // Node-RED's localfilesystem: 30 s unless set
  }),
});

/** Summed over the runs, to show what the search exercised. */
const totals = { runs: 0, commands: 0, requests: 0, events: 0, redelivered: 0, kills: 0, violations: 0 };

async function runSequence(p: Params, cmds: Iterable<Cmd>): Promise<void> {
  // A sandbox of its own per sequence: the default one would keep every clock ever made (thousands per search).
  const sandbox = sinon.createSandbox();
  const clock = sandbox.useFakeTimers({
    now: 1_800_000_000_000,
    toFake: ["setTimeout", "clearTimeout", "setImmediate", "clearImmediate", "setInterval", "clearInterval", "Date", "hrtime", "performance"],
  });
  const world = new World(clock, { style: p.style, restartMode: p.restartMode, startSeq: 1000, emptyShape: p.emptyShape }, p.maxExtenBytes, p.store);
  world.pbx.setNoise(p.noiseMs);
  try {
    await fc.asyncModelRun(() => ({ model: {}, real: world }), cmds);
  } finally {
    totals.runs += 1;
    totals.commands += world.commands;
    totals.requests += world.stats.requests;
    totals.events += world.stats.events;
    totals.redelivered += world.stats.redelivered;
    totals.kills += world.stats.kills;
    await world.wait(world.hub.close(), "close()");
    world.pbx.stop();
    sandbox.restore();
  }
}

const env = (name: string): string | undefined => (process.env[name] ? process.env[name] : undefined);

describe("model: SubscriptionHub and its PollLoops under random sequences", function () {
  this.timeout(0);

  it("keeps every watched extension polled and every node's msgs complete, ordered and true", async function () {
    const numRuns = Number(env("NOOJEE_MODEL_RUNS") ?? 3000);
    const seed = env("NOOJEE_MODEL_SEED") === undefined ? undefined : Number(env("NOOJEE_MODEL_SEED"));
    const path = env("NOOJEE_MODEL_PATH");
    const replayPath = env("NOOJEE_MODEL_REPLAY"); // fast-check's commands replay path, with the path
    const property = fc.asyncProperty(params, fc.commands(commands, { maxCommands: 40, size: "max", replayPath }), runSequence);
    const started = Date.now();
    const details = await fc.check(property, { numRuns, seed, path, endOnFailure: path !== undefined });
    if (!details.failed) {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`      ${details.numRuns} sequences in ${seconds} s (seed ${details.seed}): ${totals.commands} commands, ` +
        `${totals.requests} requests, ${totals.events} msgs (${totals.redelivered} re-delivered after a kill or deploy), ${totals.kills} kills`);
      return;
    }
    const [p, cmds] = details.counterexample ?? [];
    const shown = String(cmds);
    const replay = /\/\*replayPath="([^"]*)"\*\//.exec(shown)?.[1];
    const message = [
      `model-based test failed after ${details.numRuns} sequence(s), shrunk ${details.numShrinks} time(s)`,
      `PBX: ${JSON.stringify(p)}`,
      `sequence:\n    ${shown.replace(/ ?\/\*replayPath=.*$/, "").split(",").join("\n    ")}`,
      `error: ${details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)}`,
      `replay: npm run build && NOOJEE_MODEL_SEED=${details.seed} NOOJEE_MODEL_PATH=${details.counterexamplePath} ` +
        `NOOJEE_MODEL_REPLAY='${replay ?? ""}' ` +
        "npx mocha --no-config --timeout 0 dist/test/model/hub.model.test.js",
    ].join("\n");
    assert.fail(message);
  });

  // Found by the search (seed 2104705647): n3 dropped 403 by msg within a lagging store's flush interval, then stayed
  // awaited through a restart whose hub kept its watch of 403 from the durable position (GUARDS.item1) and wrote it
  // out; after the next restarts it carried on from that cursor, its flow having Ringing from before the drop. The
  // reference did not count that watch (its writer's nodes only) and wanted Ringing sent again.
  it("counts the watch a hub kept for an awaited node, across the next restarts, as the position's", async function () {
    const quiet = { calls: [], ms: 0 };
    const p: Params = { style: "every", restartMode: "lower", emptyShape: "object", noiseMs: undefined, maxExtenBytes: 9,
      store: { kind: "lagging", readMs: 5, writeMs: 0, flushMs: 1000 } };
    await runSequence(p, [
      new Join({ id: "n3", extensions: ["403"], timeoutSec: 5 }),
      new Join({ id: "n0", extensions: ["406"], timeoutSec: 5 }),
      new Kill({ extension: "403", pick: 0, ms: 0 }, quiet, undefined, "n0"),
      new Join({ id: "n0", extensions: [], timeoutSec: 5 }), // n0 is awaited: nothing happens but time passing
      new Msg("n3", "replace", ["404"]), // n0 registers first
      new Kill(undefined, quiet, undefined, "n3"),
      new Join({ id: "n0", extensions: [], timeoutSec: 5 }), // n0 is in: nothing happens, n3 is still awaited
      new Kill(undefined, quiet, { afterMs: 0, down: quiet, late: false }, "n3"),
    ]);
  });

  // Found in CI (seed 1930192847): the loop of 407 lost a held poll at its deadline (a hang) and its quick check
  // answered, so it shows failing until a held poll answers (held-polls.ts); its next held poll was aborted by an
  // extension added. The reference took that abort for the last word on 407's held polls and wanted listening.
  it("a held poll of ours aborted says nothing on whether held polls get through: failing stays allowed", async function () {
    const p: Params = { style: "every", restartMode: "lower", emptyShape: "object", noiseMs: undefined, maxExtenBytes: 9,
      store: { kind: "file", readMs: 5, writeMs: 0, flushMs: 1000 } };
    await runSequence(p, [
      new Join({ id: "n0", extensions: ["400", "402", "403", "405", "407"], timeoutSec: 30 }),
      new Fault("hang", 3),
      new ClockStep(-3_600_000),
      new Msg("n1", "add", ["401"]),
      new Fault("reset", 2),
      new Join({ id: "n0", extensions: [], timeoutSec: 5 }),
      new Call("401", 0),
      new Msg("n0", "add", []),
      new Tick(61_000),
      new Join({ id: "n0", extensions: [], timeoutSec: 5 }),
      new Join({ id: "n1", extensions: ["406"], timeoutSec: 5 }),
    ]);
  });

  // Found in CI (seed -413942774): n0's flow got Ringing on 405, the position naming n0 on 405 with that leg sent became
  // durable, then n0 dropped 405 by msg and Node-RED was killed (twice) before the next write was durable. The
  // restarted n0 watches 405 again (its deployed list) and the hub carries on from that position: Ringing, which its
  // flow has, is not sent again. That position's cursor came after a PBX restart the hub could not see (its counter had
  // caught up), so it cannot carry on for the reference, which then did not count what n0's flow had got by it.
  it("counts what a flow got by a durable position as had, also when that position's cursor is of an unknown epoch", async function () {
    const quiet = { calls: [], ms: 0 };
    const p: Params = { style: "every", restartMode: "lower", emptyShape: "object", noiseMs: undefined, maxExtenBytes: 9,
      store: { kind: "file", readMs: 5, writeMs: 800, flushMs: 1000 } };
    await runSequence(p, [
      new Restart(0),
      new Deploy([{ id: "n0", extensions: ["405"], timeoutSec: 5 }], undefined),
      new Restart(0), // the counter catches up with the hub's cursor at the next call: the hub cannot see this restart
      new Call("405", 0), // Ringing, to n0's flow; the position with it becomes durable
      new Msg("n0", "replace", ["401"]), // its position is not durable when the kill comes
      new LateStart(), // no late node yet: the world only settles once more (the kill lands within that write)
      new Kill(undefined, quiet, { afterMs: 0, down: quiet, late: false }, "n0"),
    ]);
  });
});
