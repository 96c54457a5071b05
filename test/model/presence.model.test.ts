/**
 * Model-based test of the presence node (fast-check `fc.commands`), its own wiring (nodes/presence-watch.ts) on a real
 * SubscriptionHub against the model PBX (model-pbx.ts), on fake timers, in both PBX answer styles ("every" change or
 * the "latest" state of each changed leg). Random sequences of: calls ringing, dialing, connecting, ending (up to three
 * at once on an extension), transfers (`Unlinked` then `Connected`), statuses presence does not know; PBX restarts seen
 * (the counter goes back) and unseen (its new counter already past the client's cursor at the next poll: during the
 * backoff after the failed polls a restart causes, or while Node-RED is down and then resumes); failed and hanging
 * polls; deploys (nodes added, changed, deleted, a call changing in between); msg changes of the watched extensions;
 * Node-RED killed and resumed from its saved position (model-store.ts); two presence nodes sharing one global context
 * variable (Node-RED's memory store), which they merge per extension.
 *
 * After every command the world settles (every watched extension polled again, nothing failing) and each node's
 * states, its last msgs, its answers to queries and the context variables are checked against a plain reference
 * computed from the PBX's own calls (presence-reference.ts).
 *
 * Budget: NOOJEE_PRESENCE_MODEL_RUNS sequences (default 1,200, about 10-20 s here) on every `npm test`;
 * `npm run test:model` runs 20,000. A failure prints the shrunk sequence and how to replay it:
 *   npm run build && NOOJEE_PRESENCE_MODEL_SEED=<seed> NOOJEE_PRESENCE_MODEL_PATH=<path> \
 *     NOOJEE_PRESENCE_MODEL_REPLAY='<replay>' npx mocha --no-config --timeout 0 dist/test/model/presence.model.test.js
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as sinon from "sinon";
import { changeExtensions } from "../../nodes/lib/input/extensions";
import type { AnswerStyle, RestartMode } from "./model-pbx";
import type { StoreParams } from "./model-store";
import { checkPresence } from "./presence-reference";
import { type PresenceLayout, PresenceWorld } from "./presence-world";

const POOL = ["410", "411", "412", "413", "414"];
const IDS = ["p0", "p1", "p2"];
/** The editor's default name, shared by default, and one more. */
const VARIABLES = ["noojee.presence", "team"];
/** Statuses no release of the PBX we know sends: presence must still give a state. */
const UNKNOWN = ["Held", "Parked"];

type Model = Record<string, never>;
type Cmd = fc.AsyncCommand<Model, PresenceWorld>;

abstract class Step implements Cmd {
  check(): boolean {
    return true;
  }
  async run(_m: Model, world: PresenceWorld): Promise<void> {
    world.stats.commands += 1;
    await this.act(world);
    if (!(await world.settle())) world.violation("the watched extensions are still not all polled 10 min (and the queued faults) later");
    else checkPresence(world, POOL);
    if (world.violations.length > 0) {
      const shown = world.violations.slice(0, 8).join("\n  ");
      const more = world.violations.length > 8 ? `\n  ... ${world.violations.length - 8} more` : "";
      throw new Error(`after ${this.toString()}:\n  ${shown}${more}\n${trace(world)}`);
    }
  }
  abstract act(world: PresenceWorld): Promise<void>;
  abstract toString(): string;
}

function trace(world: PresenceWorld): string {
  const requests = world.pbx.requests.slice(-10).map((r) =>
    `#${r.id} gen ${r.gen} [${r.extensions.join(" ")}] last=${r.last} at ${r.openedAt}` +
    (r.closedAt === undefined ? (r.hung ? " (hanging)" : " (open)") : ` -> ${r.outcome}${r.answerSeq === undefined ? "" : ` seq=${r.answerSeq}`} at ${r.closedAt}`));
  const calls = world.pbx.activeLegs().map((l) => `${l.extension}:${l.id} ${l.history.map((d) => d.status).join(">")}`);
  return `  PBX seq ${world.pbx.seq}, epoch ${world.pbx.epoch}; calls: ${calls.join("; ") || "none"}\n  last requests:\n    ${requests.join("\n    ")}` +
    (world.log.length > 0 ? `\n  warnings:\n    ${world.log.slice(-4).join("\n    ")}` : "");
}

/** The statuses a leg may move to next, statuses presence does not know included. */
function nextStatuses(status: string): string[] {
  switch (status) {
    case "Ringing":
    case "Dialing Out":
      return ["Connected", "Busy", "No Answer", "Hungup", UNKNOWN[0]];
    case "Connected":
      return ["Unlinked", "Hungup", UNKNOWN[1]];
    case "Unlinked":
      return ["Connected", "Hungup"];
    case "Busy":
    case "No Answer":
      return ["Hungup"];
    case "Hungup":
      return [];
    default: // an unknown status
      return ["Connected", "Hungup", ...UNKNOWN.filter((s) => s !== status)];
  }
}

/** Moves a call on `extension` on (pick chooses the leg and its next status), or starts one (up to three at once). */
function changeCall(world: PresenceWorld, extension: string, pick: number): string {
  const legs = world.pbx.activeLegs(extension);
  if (legs.length === 0 || (pick % 4 === 0 && legs.length < 3)) {
    const leg = world.pbx.startCall(extension, pick % 2 === 0);
    return `${leg.id} ${leg.history[0].status}`;
  }
  const leg = legs[pick % legs.length];
  const options = nextStatuses(leg.history[leg.history.length - 1].status);
  const status = options[Math.floor(pick / legs.length) % options.length];
  world.pbx.advance(leg, status);
  return `${leg.id} ${status}`;
}

class Call extends Step {
  done = "";
  constructor(readonly extension: string, readonly pick: number) {
    super();
  }
  async act(world: PresenceWorld): Promise<void> {
    this.done = changeCall(world, this.extension, this.pick);
  }
  toString(): string {
    return `call on ${this.extension} (pick ${this.pick})${this.done ? `: ${this.done}` : ""}`;
  }
}

/** A connected call is transferred: Unlinked, then Connected to someone else (`gapMs` later). */
class Transfer extends Step {
  constructor(readonly extension: string, readonly gapMs: number) {
    super();
  }
  async act(world: PresenceWorld): Promise<void> {
    let leg = world.pbx.activeLegs(this.extension).find((l) => l.history[l.history.length - 1].status === "Connected");
    if (!leg) {
      leg = world.pbx.startCall(this.extension, true);
      world.pbx.advance(leg, "Connected");
    }
    world.pbx.advance(leg, "Unlinked");
    await world.clock.tickAsync(this.gapMs);
    world.pbx.advance(leg, "Connected");
  }
  toString(): string {
    return `transfer a call on ${this.extension} (Unlinked, ${this.gapMs} ms, Connected)`;
  }
}

class Overlap extends Step {
  constructor(readonly extension: string, readonly second: "Ringing" | "Dialing Out") {
    super();
  }
  async act(world: PresenceWorld): Promise<void> {
    const first = world.pbx.startCall(this.extension, true);
    world.pbx.advance(first, "Connected");
    world.pbx.startCall(this.extension, this.second === "Ringing");
  }
  toString(): string {
    return `two calls on ${this.extension}: one connected, one ${this.second}`;
  }
}

/** The PBX restarts and its counter goes back: the next answer tells the client. */
class SeenRestart extends Step {
  constructor(readonly back: number) {
    super();
  }
  async act(world: PresenceWorld): Promise<void> {
    world.stats.seenRestarts += 1;
    world.pbx.restart(this.back);
    // Seen only when the new counter is below the polls' cursors; else (a cursor of 1 or 2) the restart drops them.
    const cursors = world.pbx.openRequests(world.gen).map((r) => r.last).filter((last) => last > 0);
    if (cursors.some((last) => last <= world.pbx.seq)) world.pbx.dropConnections();
    // A PBX that holds a poll whose cursor is past its counter ("hold") answers it only at its timeout (30 s).
    await world.clock.tickAsync(31_000);
  }
  toString(): string {
    return `PBX restart, seen (counter back to ~${1 + this.back}), 31 s pass`;
  }
}

/** The counter of a restarted PBX, already past any cursor a client holds: nothing in the numbers shows the restart. */
function restartUnseen(world: PresenceWorld, ahead: number): void {
  world.stats.unseenRestarts += 1;
  const past = world.pbx.highestAnswered + ahead;
  world.pbx.restart(0);
  world.pbx.seq = past;
}

/**
 * The PBX restarts unseen while the client backs off: the restart drops the polls (they fail), calls (`calls`) come
 * in before the retry, and the new counter is already past the client's cursor.
 */
class UnseenRestart extends Step {
  /** `heldMs`: how long the polls have been held when it drops them (5 s or more looks like a proxy's idle cut). */
  constructor(readonly ahead: number, readonly calls: Array<{ extension: string; pick: number }>, readonly heldMs: number) {
    super();
  }
  async act(world: PresenceWorld): Promise<void> {
    await world.clock.tickAsync(this.heldMs);
    world.pbx.dropConnections();
    restartUnseen(world, this.ahead);
    for (const call of this.calls) changeCall(world, call.extension, call.pick);
  }
  toString(): string {
    const calls = this.calls.map((c) => `call on ${c.extension} (pick ${c.pick})`).join(", ");
    return `PBX restart, unseen: ${this.heldMs / 1000} s later the polls fail, the counter ${this.ahead} past the cursor${calls ? `, then ${calls}` : ""}`;
  }
}

class Fault extends Step {
  constructor(readonly kind: "reset" | "5xx" | "hang", readonly count: number) {
    super();
  }
  async act(world: PresenceWorld): Promise<void> {
    if (this.kind === "hang") world.pbx.hangNextRequests(this.count);
    else world.pbx.failNextAnswers(this.kind, this.count);
    // The next answers fail only once asked for: a held poll is answered when a call changes or at its timeout.
    world.pbx.dropConnections();
  }
  toString(): string {
    return `fault: the polls drop, the next ${this.count} ${this.kind === "hang" ? "requests hang" : `answers fail (${this.kind})`}`;
  }
}

class Tick extends Step {
  constructor(readonly ms: number) {
    super();
  }
  async act(world: PresenceWorld): Promise<void> {
    await world.clock.tickAsync(this.ms);
  }
  toString(): string {
    return `time passes ${this.ms / 1000} s`;
  }
}

class Msg extends Step {
  constructor(readonly id: string, readonly action: "add" | "remove" | "replace", readonly extensions: string[]) {
    super();
  }
  async act(world: PresenceWorld): Promise<void> {
    const node = world.nodes.get(this.id);
    if (!node) return;
    // As noojee-presence.ts does with msg.action / msg.extensions.
    const change = changeExtensions(node.watch.extensions, this.action, this.extensions);
    if (change.ok) node.watch.setExtensions(change.extensions);
  }
  toString(): string {
    return `msg to ${this.id}: ${this.action} [${this.extensions.join(" ")}]`;
  }
}

class Deploy extends Step {
  constructor(readonly layouts: PresenceLayout[] | undefined, readonly mid: { extension: string; pick: number } | undefined) {
    super();
  }
  async act(world: PresenceWorld): Promise<void> {
    const mid = this.mid;
    await world.deploy(this.layouts, mid && (() => changeCall(world, mid.extension, mid.pick)));
  }
  toString(): string {
    const nodes = this.layouts?.map((l) => `${l.id} [${l.extensions.join(" ")}]${l.variable ? ` in global ${l.variable}` : ""}${l.queryAll ? " (query: one msg)" : ""}`);
    return `deploy ${nodes ? nodes.join("; ") || "no nodes" : "the same nodes"}${this.mid ? ` (a call changes on ${this.mid.extension} meanwhile)` : ""}`;
  }
}

/** Node-RED killed; calls change while it is down (and the PBX may restart unseen meanwhile); it starts again. */
class Kill extends Step {
  constructor(readonly calls: Array<{ extension: string; pick: number }>, readonly restart: number | undefined, readonly afterMs: number) {
    super();
  }
  async act(world: PresenceWorld): Promise<void> {
    await world.killAndResume(async () => {
      if (this.restart !== undefined) restartUnseen(world, this.restart);
      for (const call of this.calls) {
        changeCall(world, call.extension, call.pick);
        await world.clock.tickAsync(this.afterMs);
      }
    });
  }
  toString(): string {
    const restart = this.restart === undefined ? "" : `the PBX restarts unseen (counter ${this.restart} past the cursor), `;
    const calls = this.calls.map((c) => `call on ${c.extension} (pick ${c.pick})`).join(", ");
    return `kill Node-RED; while down: ${restart}${calls || "no calls"}; start again`;
  }
}

const extension = fc.constantFrom(...POOL);
const pick = fc.nat(30);
const calls = fc.array(fc.record({ extension, pick }), { maxLength: 3 });
const layout = fc.record({
  id: fc.constantFrom(...IDS),
  extensions: fc.subarray(POOL, { minLength: 0, maxLength: 4 }),
  variable: fc.constantFrom(VARIABLES[0], VARIABLES[0], VARIABLES[1], undefined),
  queryAll: fc.boolean(),
});
const layouts = fc.uniqueArray(layout, { minLength: 0, maxLength: 3, selector: (l) => l.id });
const action = fc.constantFrom("add" as const, "remove" as const, "replace" as const);

const commands = [
  ...Array.from({ length: 6 }, () => fc.tuple(extension, pick).map(([e, p]) => new Call(e, p))), // most of what happens
  fc.tuple(extension, fc.constantFrom(0, 50, 2000)).map(([e, gap]) => new Transfer(e, gap)),
  fc.tuple(extension, fc.constantFrom("Ringing" as const, "Dialing Out" as const)).map(([e, s]) => new Overlap(e, s)),
  fc.nat(2).map((back) => new SeenRestart(back)),
  fc.tuple(fc.integer({ min: 1, max: 4 }), calls, fc.constantFrom(0, 8000)).map(([ahead, c, held]) => new UnseenRestart(ahead, c, held)),
  fc.tuple(fc.constantFrom("reset" as const, "5xx" as const, "hang" as const), fc.integer({ min: 1, max: 3 })).map(([k, n]) => new Fault(k, n)),
  fc.constantFrom(1000, 31_000, 61_000).map((ms) => new Tick(ms)),
  fc.tuple(fc.constantFrom(...IDS), action, fc.subarray(POOL, { minLength: 1, maxLength: 3 })).map(([id, a, e]) => new Msg(id, a, e)),
  fc.tuple(fc.option(layouts, { nil: undefined }), fc.option(fc.record({ extension, pick }), { nil: undefined })).map(([l, mid]) => new Deploy(l, mid)),
  fc.tuple(calls, fc.option(fc.integer({ min: 1, max: 4 }), { nil: undefined }), fc.constantFrom(0, 700)).map(([c, r, ms]) => new Kill(c, r, ms)),
];

interface Params {
  style: AnswerStyle;
  restartMode: RestartMode;
  maxExtenBytes: number;
  contextMs: number;
  store: StoreParams;
  start: PresenceLayout[];
}

const params: fc.Arbitrary<Params> = fc.record({
  style: fc.constantFrom("every" as const, "latest" as const),
  restartMode: fc.constantFrom("lower" as const, "hold" as const),
  maxExtenBytes: fc.constantFrom(9, Infinity), // 2 extensions per chunk, or one chunk
  contextMs: fc.constantFrom(0, 0, 5), // the memory store answers at once; a store like Redis later
  store: fc.record({
    kind: fc.constantFrom("file" as const, "durable" as const, "lagging" as const),
    readMs: fc.constantFrom(5, 400),
    writeMs: fc.constantFrom(0, 30),
    flushMs: fc.constantFrom(1000, 30_000),
  }),
  start: fc.uniqueArray(layout, { minLength: 1, maxLength: 3, selector: (l) => l.id }),
});

const totals = { runs: 0, commands: 0, kills: 0, seenRestarts: 0, unseenRestarts: 0, checks: 0 };

async function runSequence(p: Params, cmds: Iterable<Cmd>): Promise<void> {
  const sandbox = sinon.createSandbox();
  const clock = sandbox.useFakeTimers({
    now: 1_800_000_000_000,
    toFake: ["setTimeout", "clearTimeout", "setImmediate", "clearImmediate", "setInterval", "clearInterval", "Date", "hrtime", "performance"],
  });
  const world = new PresenceWorld(clock, {
    pbx: { style: p.style, restartMode: p.restartMode, startSeq: 1000, emptyShape: "object" },
    store: p.store, maxExtenBytes: p.maxExtenBytes, contextMs: p.contextMs,
  });
  try {
    await world.deploy(p.start);
    if (!(await world.settle())) world.violation("the watched extensions are not all polled 5 min after the start");
    else checkPresence(world, POOL);
    if (world.violations.length > 0) throw new Error(`after the start:\n  ${world.violations.join("\n  ")}\n${trace(world)}`);
    await fc.asyncModelRun(() => ({ model: {}, real: world }), cmds);
  } finally {
    totals.runs += 1;
    totals.commands += world.stats.commands;
    totals.kills += world.stats.kills;
    totals.seenRestarts += world.stats.seenRestarts;
    totals.unseenRestarts += world.stats.unseenRestarts;
    totals.checks += world.stats.checks;
    for (const id of [...world.nodes.keys()]) await world.stop(id, false);
    await world.wait(world.hub.close(), "close()");
    world.pbx.stop();
    sandbox.restore();
  }
}

const env = (name: string): string | undefined => (process.env[name] ? process.env[name] : undefined);

describe("model: presence under random calls, restarts, deploys and kills", function () {
  this.timeout(0);

  it("each extension's state, the query answers and the context variable follow the PBX's calls", async function () {
    const numRuns = Number(env("NOOJEE_PRESENCE_MODEL_RUNS") ?? 1200);
    const seed = env("NOOJEE_PRESENCE_MODEL_SEED") === undefined ? undefined : Number(env("NOOJEE_PRESENCE_MODEL_SEED"));
    const path = env("NOOJEE_PRESENCE_MODEL_PATH");
    const replayPath = env("NOOJEE_PRESENCE_MODEL_REPLAY");
    const property = fc.asyncProperty(params, fc.commands(commands, { maxCommands: 25, size: "max", replayPath }), runSequence);
    const started = Date.now();
    const details = await fc.check(property, { numRuns, seed, path, endOnFailure: path !== undefined });
    if (!details.failed) {
      const seconds = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`      ${details.numRuns} sequences in ${seconds} s (seed ${details.seed}): ${totals.commands} commands, ` +
        `${totals.checks} checks, ${totals.kills} kills, ${totals.seenRestarts} restarts seen, ${totals.unseenRestarts} unseen`);
      return;
    }
    const [p, cmds] = details.counterexample ?? [];
    const shown = String(cmds);
    const replay = /\/\*replayPath="([^"]*)"\*\//.exec(shown)?.[1];
    assert.fail([
      `model-based test failed after ${details.numRuns} sequence(s), shrunk ${details.numShrinks} time(s)`,
      `params: ${JSON.stringify(p)}`,
      `sequence:\n    ${shown.replace(/ ?\/\*replayPath=.*$/, "").split(",").join("\n    ")}`,
      `error: ${details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance)}`,
      `replay: npm run build && NOOJEE_PRESENCE_MODEL_SEED=${details.seed} NOOJEE_PRESENCE_MODEL_PATH=${details.counterexamplePath} ` +
        `NOOJEE_PRESENCE_MODEL_REPLAY='${replay ?? ""}' npx mocha --no-config --timeout 0 dist/test/model/presence.model.test.js`,
    ].join("\n"));
  });
});
