/**
 * A start whose saved state comes from an asynchronous context store (issue 23), in the test helper's Node-RED over
 * HTTP to the fake PBX: the position read late or failing first (nothing written before it has been read, the nodes
 * saying so, the downtime still delivered), and a kept extension list read from an asynchronous-only default store
 * (read through callbacks, its extensions still carrying on from the saved position).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { FakePbx } from "../fake-pbx";
import { GatedStore } from "./gated-store";
import { configFlowNode, credentials, deploy, helper, Logged, nodes, Sent, startFakePbx, Statuses, subscribeFlowNodes, unloadAndStop, until } from "./support";

const POSITION = "noojee-position";
const KEPT = "noojee-extensions";

describe("noojee-config: the saved state read from an asynchronous context store", function () {
  let pbx: FakePbx | undefined;
  let userDir: string;
  let store: GatedStore;

  beforeEach(async () => {
    userDir = fs.mkdtempSync(path.join(os.tmpdir(), "noojee-resume-store-"));
    store = new GatedStore();
    pbx = await startFakePbx();
  });
  afterEach(async () => {
    await unloadAndStop(pbx);
    helper.settings({});
    fs.rmSync(userDir, { recursive: true, force: true });
  });

  /** A position as the config node saves it, for the fake PBX of this test. */
  const position = (seq: number, extensions: string[]) => ({
    format: "node-red-contrib-noojee/resume", version: 1, host: pbx!.url, authMode: "apiKey", savedAt: Date.now(),
    polls: [{ seq, extensions, fences: {} }], legs: [],
  });

  /** While Node-RED was down: a call rang on `extension` and ended unanswered. */
  function missedCall(extension: string): string {
    const id = `missed-${extension}`;
    pbx!.startCall(extension, { uniqueCallId: id, callStartTime: "" });
    pbx!.update(extension, id, { status: "Hungup", canAnswer: false });
    return id;
  }

  /**
   * settings.js with these context stores. The test helper re-initialises the context module without loading its
   * stores: they are loaded here before the flows start, as Node-RED's own start does.
   */
  const settings = (contextStorage: Record<string, unknown>): void => {
    helper.settings({ userDir, contextStorage } as Parameters<typeof helper.settings>[0]);
    const internals = helper as unknown as { _redNodes: { loadFlows(): Promise<void> }; _context: { load(): Promise<void> } };
    const loadFlows = internals._redNodes.loadFlows;
    internals._redNodes.loadFlows = async function (this: unknown, ...args: unknown[]): Promise<void> {
      internals._redNodes.loadFlows = loadFlows;
      await internals._context.load();
      return (loadFlows as (...a: unknown[]) => Promise<void>).apply(this, args);
    };
  };

  const described = (sent: Sent) => sent.payloads().map((p) => `${p.uniqueCallId} ${p.status} initial=${p.initial === true}`);

  it("a store slow to answer: no write and no poll before its read answers, the node says so; then the downtime arrives", async () => {
    store.values.set(POSITION, position(pbx!.seq, ["410"]));
    const missed = missedCall("410");
    store.hold(POSITION);
    settings({ default: { module: "memory" }, keep: { module: store.module } });
    await helper.load(nodes, [configFlowNode(pbx!.url, { resumeStore: "keep" }), ...subscribeFlowNodes("a", "410")], credentials());
    const statuses = new Statuses(helper.getNode("a"));
    await statuses.waitFor((s) => s.fill === "yellow" && s.text === "noojee-subscribe.status.reading");
    await store.logged(new RegExp(`^get ${POSITION}$`));
    assert.deepEqual(store.log.filter((line) => line.startsWith("set")), [], "nothing written while the read is pending");
    assert.equal(pbx!.subscribeRequests().length, 0, "no poll before the position is there");

    store.release(POSITION);
    const sent = new Sent(helper.getNode("a"));
    await until(() => sent.all.length >= 2, "the missed call");
    assert.deepEqual(described(sent), [`${missed} Ringing initial=false`, `${missed} Hungup initial=false`]);
    await store.logged(new RegExp(`^set ${POSITION}$`));
    assert.ok(store.log.indexOf(`answered ${POSITION}`) < store.log.indexOf(`set ${POSITION}`), store.log.join("; "));
  });

  it("a store read that fails: tried again, said once in the log, and the good position is not overwritten before", async () => {
    store.values.set(POSITION, position(pbx!.seq, ["410"]));
    const missed = missedCall("410");
    store.failures.set(POSITION, 1);
    settings({ default: { module: "memory" }, keep: { module: store.module } });
    await helper.load(nodes, [configFlowNode(pbx!.url, { resumeStore: "keep" }), ...subscribeFlowNodes("a", "410")], credentials());
    const sent = new Sent(helper.getNode("a"));
    await until(() => sent.all.length >= 2, "the missed call", 8000);
    assert.deepEqual(described(sent), [`${missed} Ringing initial=false`, `${missed} Hungup initial=false`]);
    const warnings = new Logged(helper.getNode("cfg"), "warn").all.map(String);
    assert.equal(warnings.length, 1, warnings.join("; "));
    assert.match(warnings[0], /noojee-config.resume.retrying .*store not ready/);
    const firstSet = store.log.findIndex((line) => line === `set ${POSITION}`);
    assert.ok(firstSet === -1 || firstSet > store.log.indexOf(`answered ${POSITION}`), store.log.join("; "));
  });

  it("persistChanges with an asynchronous-only default store: the kept list is read through callbacks and resumes", async () => {
    // The position in the resume file; the default store (where each node keeps its list) answers only asynchronously.
    const savedSeq = pbx!.seq;
    fs.mkdirSync(path.join(userDir, "noojee-resume"), { recursive: true });
    fs.writeFileSync(path.join(userDir, "noojee-resume", "cfg.json"), JSON.stringify(position(savedSeq, ["410", "420"])));
    store.values.set(KEPT, ["420"]); // both nodes were changed by msg to watch 420 only
    const missed = missedCall("420");
    pbx!.startCall("410", { uniqueCallId: "on-410" });
    store.hold(KEPT);
    settings({ default: { module: store.module } });
    const flow = [
      configFlowNode(pbx!.url),
      ...subscribeFlowNodes("kept-sub", "410", { persistChanges: true }),
      { id: "kept-presence", type: "noojee-presence", server: "cfg", extensions: "410", persistChanges: true, wires: [["out-presence"]] },
      { id: "out-presence", type: "helper" },
    ];
    await helper.load(nodes, flow, credentials()); // flows:started has come: the hub waits for the two lists
    const statuses = new Statuses(helper.getNode("kept-sub"));
    await statuses.waitFor((s) => s.text === "noojee-subscribe.status.readingList");
    helper.getNode("kept-sub").receive({ action: "add", extensions: "430" }); // handled once the list is in
    assert.equal(pbx!.subscribeRequests().length, 0);

    store.release(KEPT);
    const sent = new Sent(helper.getNode("kept-sub"));
    await until(() => sent.all.length >= 2, "the missed call on 420");
    assert.deepEqual(described(sent).slice(0, 2), [`${missed} Ringing initial=false`, `${missed} Hungup initial=false`]);
    // A resume begins with a current-state read (last 0), compared once the poll from the saved position caught up.
    const with420 = pbx!.subscribeRequests().filter((r) => String(r.query.exten).split(",").includes("420"));
    const firstPoll = with420.findIndex((r) => r.query.lastSequenceNumber !== "0");
    assert.ok(firstPoll > 0, "a current-state read first");
    assert.equal(with420[firstPoll].query.lastSequenceNumber, String(savedSeq), "420 carried on from the saved position");
    await until(() => JSON.stringify(store.values.get(KEPT)) === JSON.stringify(["420", "430"]), "the list kept after the msg");
    const presence = new Sent(helper.getNode("kept-presence"));
    await presence.waitFor((m) => m.topic === "420");
    const topics = [...sent.all, ...presence.all].map((m) => m.topic);
    assert.equal(topics.includes("410"), false, `a msg for an extension no node watches: ${topics.join(",")}`);
  });

  it("a kept list read that fails is tried again, as the position is: the kept list is watched, without a warning", async () => {
    store.values.set(KEPT, ["420"]);
    store.failures.set(KEPT, 1); // the default store is not ready for the first read after the restart
    settings({ default: { module: store.module } });
    await helper.load(nodes, [configFlowNode(pbx!.url), ...subscribeFlowNodes("kept-bad", "410", { persistChanges: true })], credentials());
    const warnings = new Logged(helper.getNode("kept-bad"), "warn");
    await until(() => pbx!.subscribeRequests().some((r) => r.query.exten === "420"), "a poll for the kept list");
    assert.equal(pbx!.subscribeRequests().some((r) => String(r.query.exten).split(",").includes("410")), false, "not the node's own list");
    assert.deepEqual(warnings.all.filter((w) => /keptUnreadable/.test(String(w))), []);
  });

  it("a node whose kept list comes late, on an extension another node resumes at once: it gets the call missed while down too", async () => {
    // Both watched 410 when the position was written; "late" keeps its list (never changed by msg) in the slow store.
    const savedSeq = pbx!.seq;
    fs.mkdirSync(path.join(userDir, "noojee-resume"), { recursive: true });
    fs.writeFileSync(path.join(userDir, "noojee-resume", "cfg.json"), JSON.stringify({ ...position(savedSeq, ["410"]), watching: { late: ["410"], early: ["410"] } }));
    const missed = missedCall("410");
    store.hold(KEPT);
    settings({ default: { module: store.module } });
    const flow = [configFlowNode(pbx!.url), ...subscribeFlowNodes("early", "410"), ...subscribeFlowNodes("late", "410", { persistChanges: true })];
    await helper.load(nodes, flow, credentials());
    const early = new Sent(helper.getNode("early"));
    const late = new Sent(helper.getNode("late"));
    await until(() => early.all.length >= 2, "the missed call, to the node that registered at once");
    assert.deepEqual(described(early), [`${missed} Ringing initial=false`, `${missed} Hungup initial=false`]);
    assert.equal(late.all.length, 0);

    store.release(KEPT);
    await until(() => late.all.length >= 2, "the missed call, to the node whose kept list came late");
    assert.deepEqual(described(late), [`${missed} Ringing initial=false`, `${missed} Hungup initial=false`]);
  });

  it("presence's variable after a restart: extensions no node watches leave once the kept lists are in, not before", async () => {
    // The variable in a memory store holds what the last process wrote; the kept list (420, added by msg) is still
    // being read from the default store when the flows start. 430 was written for an extension nothing watches now.
    const stored = (extension: string) => ({ extension, state: "on a call", previous: "idle", since: new Date(0).toISOString(), count: 1, calls: [] });
    settings({ default: { module: store.module }, mem: { module: "memory" } });
    await helper.load(nodes, [configFlowNode(pbx!.url)], credentials());
    const global = helper.getNode("cfg").context().global;
    await new Promise<void>((resolve, reject) => global.set("pv", { "420": stored("420"), "430": stored("430") }, "mem", (err?: Error) => (err ? reject(err) : resolve())));
    const variable = () => global.get("pv", "mem") as Record<string, { state: string }>;
    store.values.set(KEPT, ["420"]);
    store.hold(KEPT);
    pbx!.fault("http500", 5); // nothing is read: 420 keeps its stored state unless it was removed meanwhile
    await deploy([
      configFlowNode(pbx!.url),
      { id: "pv-presence", type: "noojee-presence", server: "cfg", extensions: "410", persistChanges: true, contextScope: "global", contextStore: "mem", contextKey: "pv", wires: [[]] },
    ], "full", credentials());
    await store.logged(new RegExp(`get ${KEPT}`));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(Object.keys(variable()).sort(), ["420", "430"], "nothing removed while the kept list is read");
    store.release(KEPT);
    await until(() => variable()["430"] === undefined, "430 removed: no node watches it");
    assert.equal(variable()["420"]?.state, "on a call", "420 (the kept list's) never removed, nor written as unknown");
  });
});

