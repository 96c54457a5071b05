/**
 * examples/live-board.json: its wiring, and its "board" function node run on its own with subscribe messages.
 * (The whole board in a browser, against the simulator, is covered by the demo test.)
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";

interface FlowNode {
  id: string;
  type: string;
  wires?: string[][];
  [key: string]: unknown;
}

const EXAMPLE = path.join(__dirname, "..", "..", "..", "examples", "live-board.json");
const flows = JSON.parse(fs.readFileSync(EXAMPLE, "utf8")) as FlowNode[];
const byType = (type: string): FlowNode[] => flows.filter((n) => n.type === type);
const one = (type: string): FlowNode => {
  const nodes = byType(type);
  assert.equal(nodes.length, 1, `one ${type}`);
  return nodes[0];
};

interface Row {
  extension: string;
  state: string;
  with?: string;
  since?: number;
  uniqueCallId?: string;
  canAnswer?: boolean;
  queue?: boolean;
}
interface Recent {
  extension: string;
  callerId: string;
  kind: string;
  talkMs: number;
  at: number;
}
interface Board {
  now: number;
  extensions: Row[];
  recent: Recent[];
}

/** The function node's code with a context of its own, as Node-RED runs it. */
function boardFunction(): (msg: Record<string, unknown>) => Board {
  const store = new Map<string, unknown>();
  const context = { get: (k: string) => store.get(k), set: (k: string, v: unknown) => store.set(k, v) };
  const body = String(one("function").func);
  const fn = new Function("msg", "context", body) as (msg: Record<string, unknown>, ctx: typeof context) => { payload: Board };
  return (msg) => fn(structuredClone(msg), context).payload;
}

function leg(extension: string, uniqueCallId: string, status: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    topic: extension,
    payload: { extension, uniqueCallId, status, callerId: "0355501234", inbound: true, canAnswer: false, isQueueCall: false, callStartTime: "", ...extra },
  };
}

describe("example: live board", function () {
  it("is wired: subscribe, presence and inject feed the board, its Answer buttons feed the answer node, errors reach a debug node", function () {
    const ids = new Set(flows.map((n) => n.id));
    assert.equal(ids.size, flows.length, "unique ids");
    for (const n of flows) for (const out of n.wires ?? []) for (const target of out) assert.ok(ids.has(target), `${n.id} -> ${target}`);

    const fn = one("function");
    const template = one("ui-template");
    const answer = one("noojee-answer");
    const subscribe = one("noojee-subscribe");
    const inject = one("inject");
    const config = one("noojee-config");
    assert.deepEqual(subscribe.wires, [[fn.id]]);
    const presence = one("noojee-presence");
    assert.deepEqual(presence.wires, [[fn.id]]);
    assert.equal(presence.server, config.id);
    assert.equal(presence.extensions, subscribe.extensions, "presence follows the same extensions");
    assert.deepEqual(inject.wires, [[fn.id]]);
    assert.deepEqual(fn.wires, [[template.id]]);
    assert.deepEqual(template.wires, [[answer.id]]);
    assert.equal(template.passthru, false, "the board model must not reach the answer node");
    assert.equal(answer.extension, "", "the extension comes from each message");
    assert.equal(subscribe.server, config.id);
    assert.equal(answer.server, config.id);
    assert.equal(config.host, "pbx.example.com");
    assert.equal("credentials" in config, false);
    assert.deepEqual((one("catch").scope as string[]), [answer.id]);

    // The inject shows the subscribe node's extensions while idle.
    const listed = String(subscribe.extensions).split(",").map((e) => e.trim());
    assert.deepEqual(String(inject.payload).split(","), listed);
    assert.equal(inject.topic, "extensions");
    assert.equal(inject.once, true);

    // Dashboard 2: template -> group -> page (/calls) -> base (/dashboard), with a theme.
    const group = one("ui-group");
    const page = one("ui-page");
    const base = one("ui-base");
    assert.equal(template.group, group.id);
    assert.equal(group.page, page.id);
    assert.equal(page.ui, base.id);
    assert.equal(page.theme, one("ui-theme").id);
    assert.equal(page.path, "/calls");
    assert.equal(base.path, "/dashboard");
  });

  it("takes each extension's state from the presence node, the call shown from subscribe's legs", function () {
    const board = boardFunction();
    board({ topic: "extensions", payload: "400,410" });
    board(leg("410", "1.1", "Ringing", { canAnswer: true }));
    board(leg("410", "1.2", "Dialing Out", { inbound: false }));
    const presence = (extension: string, state: string, count: number) =>
      board({ topic: extension, payload: { extension, state, previous: null, since: "", count, calls: [] } });
    let b = presence("410", "ringing", 2);
    assert.deepEqual(b.extensions.map((r) => [r.extension, r.state]), [["400", "idle"], ["410", "ringing"]]);
    board(leg("410", "1.1", "Connected"));
    b = presence("410", "on a call", 2);
    assert.equal(b.extensions[1].state, "talking");
    assert.equal(b.extensions[1].uniqueCallId, "1.1", "the connected leg is the one shown");
    b = presence("410", "idle", 0); // presence says the calls are over before their Hungup msgs arrive
    assert.equal(b.extensions[1].state, "idle");
    b = presence("400", "idle", 0);
    assert.deepEqual(b.extensions.map((r) => r.extension), ["400", "410"]);
  });

  it("renders with plain <table> elements (Dashboard 2 parses templates as HTML, which drops <tr> outside a <table>)", function () {
    const format = String(one("ui-template").format);
    assert.ok(!format.includes("<v-table"));
    assert.match(format, /<tr v-for="row in rows"/);
    assert.match(format, /this\.send\(\{ topic: row\.extension, payload: \{ uniqueCallId: row\.uniqueCallId, extension: row\.extension \} \}\)/);
  });

  it("shows the listed extensions idle, then ringing (answerable), talking, and back to idle with a recent call", function () {
    const board = boardFunction();
    let b = board({ topic: "extensions", payload: "400,401,410" });
    assert.deepEqual(
      b.extensions.map((r) => [r.extension, r.state]),
      [
        ["400", "idle"],
        ["401", "idle"],
        ["410", "idle"],
      ],
    );
    b = board(leg("401", "1.1", "Ringing", { canAnswer: true }));
    const ringing = b.extensions.find((r) => r.extension === "401");
    assert.deepEqual({ ...ringing, since: undefined }, {
      extension: "401",
      state: "ringing",
      status: "Ringing",
      with: "0355501234",
      since: undefined,
      uniqueCallId: "1.1",
      canAnswer: true,
      queue: false,
      inbound: true,
      others: 0,
    });
    b = board(leg("401", "1.1", "Connected", { callStartTime: "2026/03/02 09:00:00" }));
    assert.equal(b.extensions[1].state, "talking");
    assert.equal(b.extensions[1].canAnswer, false);
    assert.ok(Math.abs((b.extensions[1].since ?? 0) - Date.now()) < 1000, "a live Connected counts from now");
    b = board(leg("401", "1.1", "Hungup"));
    assert.equal(b.extensions[1].state, "idle");
    assert.equal(b.recent.length, 1);
    assert.deepEqual({ ...b.recent[0], at: 0, talkMs: 0 }, {
      id: "1.1",
      extension: "401",
      callerId: "0355501234",
      inbound: true,
      queue: false,
      kind: "answered",
      at: 0,
      talkMs: 0,
    });
  });

  it("marks missed and busy inbound calls, and outgoing calls, in the recent list; adds extensions it hears about", function () {
    const board = boardFunction();
    board(leg("402", "2.1", "Ringing", { canAnswer: true }));
    board(leg("402", "2.1", "No Answer"));
    board(leg("402", "2.1", "Hungup", { hangupCause: "NO_ANSWER" }));
    board(leg("403", "3.1", "Busy"));
    board(leg("403", "3.1", "Hungup", { hangupCause: "BUSY" }));
    board(leg("404", "4.1", "Dialing Out", { inbound: false, callerId: "0299998888" }));
    board(leg("404", "4.1", "Connected", { inbound: false, callerId: "0299998888" }));
    board(leg("404", "4.1", "Hungup", { inbound: false, callerId: "0299998888" }));
    board(leg("405", "5.1", "Dialing Out", { inbound: false }));
    const b = board(leg("405", "5.1", "Hungup", { inbound: false, hangupCause: "NO_ANSWER" }));
    assert.deepEqual(b.recent.map((r) => [r.extension, r.kind]).sort(), [
      ["402", "missed"],
      ["403", "busy"],
      ["404", "outgoing"],
      ["405", "not answered"],
    ]);
    assert.deepEqual(
      b.extensions.map((r) => r.extension),
      ["402", "403", "404", "405"],
    );
    assert.ok(b.extensions.every((r) => r.state === "idle"));
  });

  it("shows the conversation over a ringing or dialling leg; a queue call cannot be answered; a transfer shows the new party", function () {
    const board = boardFunction();
    board(leg("406", "6.1", "Ringing", { canAnswer: true }));
    board(leg("406", "6.1", "Connected"));
    let b = board(leg("406", "6.2", "Dialing Out", { inbound: false, callerId: "407" }));
    assert.equal(b.extensions[0].state, "talking");
    assert.equal(b.extensions[0].uniqueCallId, "6.1");
    b = board(leg("407", "7.1", "Ringing", { isQueueCall: true, canAnswer: false }));
    assert.deepEqual([b.extensions[1].state, b.extensions[1].canAnswer, b.extensions[1].queue], ["ringing", false, true]);
    board(leg("408", "8.1", "Ringing", { canAnswer: true, callerId: "406" }));
    board(leg("408", "8.1", "Connected", { callerId: "406" }));
    board(leg("408", "8.1", "Unlinked", { callerId: "406" }));
    b = board(leg("408", "8.1", "Connected", { callerId: "0355501234" }));
    const row = b.extensions.find((r) => r.extension === "408");
    assert.deepEqual([row?.state, row?.with], ["talking", "0355501234"]);
  });

  it("counts a call already in progress at start from its callStartTime, and keeps 25 recent calls, newest first", function () {
    const board = boardFunction();
    const start = new Date(Date.now() - 90_000);
    const p = (n: number): string => String(n).padStart(2, "0");
    const text = `${start.getFullYear()}/${p(start.getMonth() + 1)}/${p(start.getDate())} ${p(start.getHours())}:${p(start.getMinutes())}:${p(start.getSeconds())}`;
    const b = board(leg("409", "9.1", "Connected", { initial: true, callStartTime: text }));
    assert.ok(Math.abs((b.extensions[0].since ?? 0) - (start.getTime() - start.getMilliseconds())) < 1000);

    let last: Board | undefined;
    for (let i = 0; i < 30; i++) {
      board(leg("410", `10.${i}`, "Ringing"));
      last = board(leg("410", `10.${i}`, "Hungup"));
    }
    assert.equal(last?.recent.length, 25);
    const at = last?.recent.map((r) => r.at) ?? [];
    assert.deepEqual(at, [...at].sort((x, y) => y - x));
  });
});
