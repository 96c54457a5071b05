/** Shared set-up for the node tests: the Node-RED test helper, our nodes, and flow builders. */
import helper from "node-red-node-test-helper";
import type sinon from "sinon";
import type { Node, NodeAPI, NodeMessage, NodeStatus } from "node-red";
import { FakePbx, FakePbxOptions } from "../fake-pbx";
import configNode = require("../../nodes/noojee-config");
import subscribeNode = require("../../nodes/noojee-subscribe");
import answerNode = require("../../nodes/noojee-answer");
import dialNode = require("../../nodes/noojee-dial");
import hangupNode = require("../../nodes/noojee-hangup");
import recordNode = require("../../nodes/noojee-record");
import presenceNode = require("../../nodes/noojee-presence");
import { nodeRedPath, requireFromNodeRed } from "../harness/node-red-under-test";

helper.init(nodeRedPath());

export { helper };
/**
 * The test helper's RED._ returns the bare key and drops the values; ours keeps them visible
 * (`key {"reason":"..."}`), so tests can check what reaches statuses and logs, the API key's absence included.
 */
function withVisibleValues(module: (RED: NodeAPI) => void): (RED: NodeAPI) => void {
  return (RED) => {
    const red = Object.create(RED) as NodeAPI;
    red._ = ((key: string, values?: Record<string, unknown>) => (values ? `${key} ${JSON.stringify(values)}` : key)) as NodeAPI["_"];
    module(red);
  };
}

export const nodes = [configNode, subscribeNode, answerNode, dialNode, hangupNode, recordNode, presenceNode].map(withVisibleValues);
export const API_KEY = "test-key-123e4567-e89b";

export type FlowNode = Record<string, unknown> & { id: string; type: string };

export function configFlowNode(host: string, extra: Record<string, unknown> = {}): FlowNode {
  return { id: "cfg", type: "noojee-config", name: "pbx", host, verifyTls: true, ...extra };
}

export function credentials(apiKey = API_KEY): Record<string, { apiKey: string }> {
  return { cfg: { apiKey } };
}

/** A subscribe node wired to a helper node `out-<id>`. */
export function subscribeFlowNodes(id: string, extensions: string, extra: Record<string, unknown> = {}): FlowNode[] {
  return [
    { id, type: "noojee-subscribe", server: "cfg", extensions, timeout: 30, wires: [[`out-${id}`]], ...extra },
    { id: `out-${id}`, type: "helper" },
  ];
}

/** The test helper's spies on Node.prototype: they see calls made in a node's constructor too. */
function prototypeSpy(method: "status" | "send" | "error" | "warn" | "log"): sinon.SinonSpy {
  return (helper as unknown as { _NodePrototype: Record<string, sinon.SinonSpy> })._NodePrototype[method];
}

/** Every call a node made to one of its methods (first argument), and a way to await one. */
class NodeCalls<T> {
  private readonly node: Node & NodeJS.EventEmitter;

  constructor(node: Node, private readonly method: "status" | "send" | "error" | "warn" | "log") {
    this.node = node as Node & NodeJS.EventEmitter;
  }

  get all(): T[] {
    return prototypeSpy(this.method)
      .getCalls()
      .filter((call) => call.thisValue === this.node)
      .map((call) => call.args[0] as T);
  }

  get last(): T | undefined {
    return this.all.at(-1);
  }

  /** The first call at index >= `from` (already made or future) whose argument matches. */
  waitFor(pred: (value: T) => boolean, timeoutMs = 5000, from = 0): Promise<T> {
    const event = `call:${this.method}`;
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.all.slice(from).find(pred);
        if (found === undefined) return false;
        clearTimeout(timer);
        this.node.removeListener(event, check);
        resolve(found);
        return true;
      };
      const timer = setTimeout(() => {
        this.node.removeListener(event, check);
        reject(new Error(`no matching ${this.method} call; saw ${JSON.stringify(this.all)}`));
      }, timeoutMs);
      if (!check()) this.node.on(event, check);
    });
  }

  /** Resolves with the first `n` calls once they have been made. */
  async count(n: number, timeoutMs = 5000): Promise<T[]> {
    await this.waitFor(() => this.all.length >= n, timeoutMs).catch((err: Error) => {
      throw new Error(`expected ${n} ${this.method} calls, got ${this.all.length}: ${err.message}`);
    });
    return this.all.slice(0, n);
  }
}

/** Statuses a node has shown. */
export class Statuses extends NodeCalls<NodeStatus> {
  constructor(node: Node) {
    super(node, "status");
  }
}

/** Msgs a node has sent (our nodes send one msg per call). */
export class Sent extends NodeCalls<NodeMessage> {
  constructor(node: Node) {
    super(node, "send");
  }

  payloads(): Array<Record<string, unknown>> {
    return this.all.map((m) => m.payload as Record<string, unknown>);
  }
}

/** What a node passed to node.error / node.warn / node.log. */
export class Logged extends NodeCalls<unknown> {}

/** Resolves once the fake PBX holds a long poll (not a current-state read) and nothing else. */
export async function heldLongPoll(pbx: FakePbx, timeoutMs = 5000): Promise<void> {
  await until(() => {
    const last = pbx.subscribeRequests().at(-1);
    return pbx.openPolls() === 1 && last !== undefined && last.query.lastSequenceNumber !== "0";
  }, "a held long poll", timeoutMs);
}

export const isGreen = (s: NodeStatus): boolean => s.fill === "green";
export const isRed = (s: NodeStatus): boolean => s.fill === "red";

/** Resolves when `check` is true, polling cheaply; for conditions with no event to await (e.g. a count in the fake PBX). */
export async function until(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A started fake PBX that accepts API_KEY. */
export async function startFakePbx(options: FakePbxOptions = {}): Promise<FakePbx> {
  const pbx = new FakePbx({ apiKey: API_KEY, ...options });
  await pbx.start();
  return pbx;
}

/**
 * Deploys `flow` the way the editor does (`type`: full, flows or nodes) and resolves once Node-RED has started it.
 * The helper's own setFlows gives up after 300 ms, and listens for the start only once the deploy has returned: on a
 * busy machine (CI runs side by side) it failed a test whose flow started a little later.
 */
export async function deploy(flow: FlowNode[], type: "full" | "flows" | "nodes", creds: Record<string, unknown> = {}): Promise<void> {
  const inner = helper as unknown as {
    _events: { once(event: string, listener: () => void): void };
    _redNodes: { setFlows(flow: FlowNode[], credentials: Record<string, unknown>, type: string): Promise<unknown> };
  };
  const started = new Promise<void>((resolve) => inner._events.once("flows:started", () => resolve()));
  await inner._redNodes.setFlows(flow, creds, type);
  await started;
}

/** After each test: stop the flows (closing every node), then the fake PBX. */
export async function unloadAndStop(pbx: FakePbx | undefined): Promise<void> {
  await helper.unload();
  await pbx?.stop();
}

// The core Catch node, to see errors the way a user's flow does. It must be the very module of the Node-RED under
// test: the helper loads that one itself for a flow with a catch node, and skips ours only when it is the same.
export const catchNode = requireFromNodeRed<(RED: NodeAPI) => void>("@node-red/nodes/core/common/25-catch.js");

/** What a Catch node passed on: every msg, and a way to await the next one. */
export interface Caught {
  msgs: Array<Record<string, unknown>>;
  next(): Promise<Record<string, unknown>>;
}

/** Collects the msgs that reach a helper node wired to a Catch node. */
export function catcher(node: Node): Caught {
  const msgs: Array<Record<string, unknown>> = [];
  let waiting: ((m: Record<string, unknown>) => void) | undefined;
  node.on("input", (msg: Record<string, unknown>) => {
    msgs.push(msg);
    waiting?.(msg);
    waiting = undefined;
  });
  return {
    msgs,
    next: () => new Promise((resolve) => (waiting = resolve)),
  };
}

/** A flow with one node under test (`id` "n") wired to helper "out", a Catch node scoped to it wired to "caught". */
export function singleNodeFlow(pbxUrl: string, node: Record<string, unknown> & { type: string }): FlowNode[] {
  return [
    { id: "f1", type: "tab", label: node.type },
    configFlowNode(pbxUrl),
    { id: "n", z: "f1", server: "cfg", wires: [["out"]], ...node },
    { id: "out", z: "f1", type: "helper" },
    { id: "catcher", z: "f1", type: "catch", scope: ["n"], uncaught: false, wires: [["caught"]] },
    { id: "caught", z: "f1", type: "helper" },
  ];
}

/** Loads such a flow and returns the node under test with its sent msgs, statuses and caught errors. */
export async function loadSingleNode(
  pbxUrl: string,
  node: Record<string, unknown> & { type: string },
  apiKey = API_KEY,
): Promise<{ node: Node; sent: Sent; statuses: Statuses; caught: Caught }> {
  await helper.load([...nodes, catchNode], singleNodeFlow(pbxUrl, node), credentials(apiKey));
  const n = helper.getNode("n");
  return { node: n, sent: new Sent(n), statuses: new Statuses(n), caught: catcher(helper.getNode("caught")) };
}

/** Everything the tests can see from Node-RED: log calls (every level), statuses, msgs, node errors. */
export function visibleText(): string {
  const log = helper.log() as unknown as sinon.SinonSpy;
  const proto = (helper as unknown as { _NodePrototype: Record<string, sinon.SinonSpy> })._NodePrototype;
  const seen = [
    ...log.getCalls().map((c) => c.args),
    ...["status", "send", "error", "warn", "log", "debug", "trace"].flatMap((m) => proto[m].getCalls().map((c) => c.args)),
  ];
  return JSON.stringify(seen, (_k, v: unknown) => (v instanceof Error ? { message: v.message, stack: v.stack } : v));
}

/** The message of the error a Catch node received. */
export function caughtMessage(msg: Record<string, unknown>): string {
  return (msg.error as { message: string }).message;
}
