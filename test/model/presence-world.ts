/**
 * The world the model-based presence test acts on (presence.model.test.ts): a ModelPbx, the current Node-RED "process"
 * (a generation: its SubscriptionHub, its position written through ContextPosition to a ModelStore, its context held
 * by Node-RED's own memory store, whose nested keys and deletions are the real ones), and its presence nodes, each the
 * node's own wiring (nodes/presence-watch.ts) with what its flow received. A kill ends a generation without a close:
 * its requests, store writes and context writes never land, its memory context is lost; the next one starts from
 * what the store made durable. The reference and the checks are in presence-reference.ts.
 */
import { createRequire } from "node:module";
import type { NodeMessage } from "node-red";
import type { SinonFakeTimers } from "sinon";
import type { ContextPosition } from "../../nodes/lib/poll/context-position";
import { type HubPosition, SubscriptionHub } from "../../nodes/lib/poll/subscription-hub";
import type { ContextAccess } from "../../nodes/lib/presence/presence-variable";
import { PresenceWatch } from "../../nodes/presence-watch";
import { ModelPbx, type ModelPbxOptions } from "./model-pbx";
import { ModelStore, type StoreParams } from "./model-store";

/** Node-RED's memory context store (what `node.context().global` uses by default), as its runtime loads it. */
interface MemoryStore {
  get(scope: string, key: string, callback: (err: Error | undefined, value: unknown) => void): void;
  set(scope: string, key: string, value: unknown, callback: (err?: Error) => void): void;
}
const memoryStore = createRequire(__filename)("@node-red/runtime/lib/nodes/context/memory") as (config: object) => MemoryStore;

export interface PresenceLayout {
  id: string;
  extensions: string[];
  /** The global context variable it keeps (undefined: none). */
  variable: string | undefined;
  queryAll: boolean;
}

export interface PresenceInstance {
  layout: PresenceLayout;
  gen: number;
  watch: PresenceWatch;
  /** Per extension: the payload of the last msg the node sent on a change. */
  lastSent: Map<string, Record<string, unknown>>;
}

export interface WorldParams {
  pbx: ModelPbxOptions;
  store: StoreParams;
  maxExtenBytes: number;
  /** How long the context store takes to answer (0: at once, as the memory store does; else like Redis). */
  contextMs: number;
}

export interface PresenceStats {
  commands: number;
  kills: number;
  seenRestarts: number;
  unseenRestarts: number;
  checks: number;
}

/** A caller's name by number: each call's caller info is looked up through the node's cache (presence-messages.ts). */
export const PHONEBOOK: Record<string, string> = { "0355501234": "Bob Smith", "0299998888": "Acme Pty Ltd" };
const callerInfo = (callerId: unknown) => (typeof callerId === "string" && PHONEBOOK[callerId] ? { callerName: PHONEBOOK[callerId] } : {});

let worlds = 0;

export class PresenceWorld {
  readonly pbx: ModelPbx;
  readonly store: ModelStore;
  gen = 1;
  hub: SubscriptionHub;
  private writer: ContextPosition;
  /** The global context of the current process. */
  context: MemoryStore = memoryStore({});
  loaded = true;
  nodes = new Map<string, PresenceInstance>();
  /** The context variables this process's nodes have used (its memory context holds nothing else). */
  everUsedVariables = new Set<string>();
  readonly violations: string[] = [];
  readonly log: string[] = [];
  readonly stats: PresenceStats = { commands: 0, kills: 0, seenRestarts: 0, unseenRestarts: 0, checks: 0 };
  /** This world's number: the presence variables' claims are per process, and each world is a process of its own. */
  private readonly run = (worlds += 1);
  /** Context reads and writes not answered yet. */
  private contextPending = 0;

  constructor(readonly clock: SinonFakeTimers, readonly params: WorldParams) {
    this.pbx = new ModelPbx(params.pbx);
    // The hub model's reference reads these facts; this model's reference needs none of them.
    this.store = new ModelStore(params.store, () => ({
      serial: 0, loaded: true, carries: false, inherited: false, covers: {}, cursorEpochs: {}, lastEpoch: undefined, watching: {}, awaitedWatching: {},
      fromStart: [],
    }), () => this.pbx.epoch);
    this.writer = this.store.writerFor(this.gen, (message) => this.log.push(`warn(gen ${this.gen}): ${message}`));
    this.hub = this.newHub(undefined);
  }

  private newHub(position: HubPosition | Promise<HubPosition | undefined> | undefined): SubscriptionHub {
    const gen = this.gen;
    const hub = new SubscriptionHub(this.pbx.apiFor(gen), {
      position,
      maxExtenBytes: this.params.maxExtenBytes,
      random: () => 0.5,
      onWarning: (message) => this.log.push(`warn(gen ${gen}): ${message}`),
      store: this.writer,
    });
    this.loaded = !(position instanceof Promise);
    if (!this.loaded) void hub.ready().then(() => gen === this.gen && (this.loaded = true));
    return hub;
  }

  violation(text: string): void {
    this.violations.push(`[t=${performance.now()}] ${text}`);
  }

  /** Every extension some node watches now. */
  watched(): Set<string> {
    return new Set([...this.nodes.values()].flatMap((n) => [...n.watch.extensions]));
  }

  /** Waits for the context store's answers too. */
  get busy(): boolean {
    return this.contextPending > 0 || this.store.busy;
  }

  // ---- nodes ----

  /** A node starts (deploy or process start), as noojee-presence.ts wires it. */
  start(layout: PresenceLayout): void {
    const gen = this.gen;
    const instance: PresenceInstance = { layout, gen, lastSent: new Map(), watch: undefined as unknown as PresenceWatch };
    instance.watch = new PresenceWatch({
      id: layout.id,
      hub: this.hub,
      callerInfo,
      variable: layout.variable === undefined ? undefined : {
        context: this.contextFor(gen),
        key: layout.variable,
        // Which variable, per process: a new process (or sequence) starts with no node claiming anything.
        where: `${this.run}:${gen}\u0000global\u0000\u0000${layout.variable}`,
        onError: (err) => this.violation(`${layout.id}: context write failed: ${err.message}`),
      },
      queryAll: layout.queryAll,
      send: (msg: NodeMessage) => {
        if (gen !== this.gen) return; // a killed process's timers still fire: nobody hears them
        const payload = msg.payload as Record<string, unknown>;
        instance.lastSent.set(String(payload.extension), payload);
      },
      onStatus: () => undefined,
      changed: () => undefined,
    });
    this.nodes.set(layout.id, instance);
    if (layout.variable !== undefined) this.everUsedVariables.add(layout.variable);
    instance.watch.start(layout.extensions);
  }

  /** A node closes: `removed` when the deploy deleted it. */
  async stop(id: string, removed: boolean): Promise<void> {
    const instance = this.nodes.get(id);
    if (!instance) return;
    this.nodes.delete(id);
    await this.wait(instance.watch.close(removed), `close(${id})`);
  }

  /**
   * A deploy: the nodes stop (those not in `layouts` deleted), a call may change meanwhile (`mid`), the new ones start,
   * then flows:started. Without `layouts`, the same nodes again (their msg changes not kept: persistChanges is off).
   */
  async deploy(layouts: PresenceLayout[] | undefined, mid?: () => void): Promise<void> {
    const next = layouts ?? [...this.nodes.values()].map((n) => n.layout);
    const ids = new Set(next.map((l) => l.id));
    for (const id of [...this.nodes.keys()]) await this.stop(id, !ids.has(id));
    mid?.();
    for (const layout of next) this.start(layout);
    this.hub.releaseLingering();
  }

  /**
   * Node-RED dies (no close reaches anything, its memory context is lost) and starts again from what the store made
   * durable; `down` acts while it is down.
   */
  async killAndResume(down?: () => Promise<void>): Promise<void> {
    this.stats.kills += 1;
    const layouts = [...this.nodes.values()].map((n) => n.layout);
    this.pbx.kill(this.gen);
    this.store.kill(this.gen);
    this.nodes = new Map();
    await down?.();
    this.gen += 1;
    this.context = memoryStore({});
    this.everUsedVariables = new Set();
    this.store.start(this.gen);
    this.writer = this.store.writerFor(this.gen, (message) => this.log.push(`warn(gen ${this.gen}): ${message}`));
    this.hub = this.newHub(this.store.positionFor(this.writer));
    for (const layout of layouts) this.start(layout);
    this.hub.releaseLingering();
    for (let waited = 0; !this.loaded && waited < 200_000; waited += 500) await this.clock.tickAsync(500);
  }

  /** The process's global context, as Node-RED hands it to a node: a killed process's reads and writes never land. */
  private contextFor(gen: number): ContextAccess {
    const later = (then: () => void): void => {
      if (this.params.contextMs === 0) return then();
      this.contextPending += 1;
      setTimeout(() => {
        this.contextPending -= 1;
        if (gen === this.gen) then();
      }, this.params.contextMs);
    };
    return {
      get: (key, callback) => {
        if (gen !== this.gen) return;
        const store = this.context;
        later(() => store.get("global", key, callback));
      },
      set: (key, value, callback) => {
        if (gen !== this.gen) return;
        const store = this.context;
        later(() => store.set("global", key, value, callback));
      },
    };
  }

  /** The variable as a flow reads it: `global.get(key)`. */
  variable(key: string): unknown {
    let value: unknown;
    this.context.get("global", key, (_err, v) => (value = v));
    return value;
  }

  /**
   * Lets everything due happen, retries and backoffs included: small steps of fake time until every watched extension
   * is in an open request that does not hang, nothing fails or waits, and nothing has moved for 300 ms. False when
   * that never comes within `maxMs`: 10 min, as faults queued while nothing polled (up to a dozen failed or hanging
   * requests) all land after a restart, each followed by a backoff of up to 60 s (seed -1556804952 took 305 s).
   */
  async settle(maxMs = 600_000): Promise<boolean> {
    await this.clock.tickAsync(0);
    let quiet = 0;
    // Each fault still queued may cost a failed attempt and the backoff after it (up to a minute), or a hung request's
    // deadline: faults queued while nothing was watched all meet the first node deployed (seed -35849685: 15 of them).
    const budget = maxMs + this.pbx.pendingFaults * 75_000;
    for (let elapsed = 0; elapsed < budget;) {
      const before = this.pbx.activity + this.store.activity;
      const step = quiet >= 3 ? 1000 : 100;
      await this.clock.tickAsync(step);
      elapsed += step;
      quiet = this.pbx.activity + this.store.activity === before && !this.pbx.answersDue && !this.busy ? quiet + 1 : 0;
      if (quiet >= 3 && this.polled()) return true;
    }
    return false;
  }

  /** Every watched extension is in an open request of this process that does not hang, and no fault is pending. */
  polled(): boolean {
    const watched = [...this.watched()];
    if (watched.length === 0) return true; // the faults wait for the next request
    if (!this.loaded || this.pbx.pendingFaults > 0) return false;
    const open = this.pbx.openRequests(this.gen).filter((r) => !r.hung);
    return watched.every((extension) => open.some((r) => r.extensions.includes(extension)));
  }

  /** Waits for a promise while the fake clock runs. */
  async wait(promise: Promise<unknown>, what: string): Promise<void> {
    let done = false;
    void promise.then(() => (done = true), () => (done = true));
    for (let i = 0; i < 200 && !done; i++) await this.clock.tickAsync(i < 20 ? 0 : 10);
    if (!done) this.violation(`${what} never resolved`);
  }
}
