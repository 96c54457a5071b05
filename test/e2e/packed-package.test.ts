/**
 * End to end: the package as npm packs it, installed into a fresh Node-RED user dir, run by a real Node-RED process
 * against the fake PBX. Checks what a user gets from `npm install node-red-contrib-noojee`: the node types load, the
 * icon is found, the tarball ships the right files, a flow follows and answers a call, and the API key stays secret.
 *
 * The flow's output reaches the test through core `http request` nodes that POST to a collector on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as path from "node:path";
import { API_BASE, FakePbx } from "../fake-pbx";
import { eventIdOf } from "../../nodes/lib/poll/call-state-table";
import {
  type FlowNode, listTarball, type NodeRedProcess, packPackage, readFromTarball, REPO_ROOT, startNodeRed,
  stopAllNodeRed,
} from "../harness/node-red-process";
import { nodeBinary, nodeRedEntry } from "../harness/node-red-under-test";

const MODULE = "node-red-contrib-noojee";
/** Every node type the package declares. */
const TYPES = Object.keys(
  (JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { "node-red": { nodes: Record<string, string> } })["node-red"].nodes,
);

interface Collected {
  path: string;
  body: { topic?: unknown; payload?: Record<string, unknown> } & Record<string, unknown>;
}

/** An HTTP sink on 127.0.0.1 that records each JSON body POSTed to it, and lets a test await one. */
class Collector {
  readonly received: Collected[] = [];
  private readonly server: http.Server;
  private waiters: Array<{ test: (c: Collected) => boolean; resolve: (c: Collected) => void }> = [];

  constructor() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let body: Collected["body"];
        try {
          body = JSON.parse(text) as Collected["body"];
        } catch {
          body = { unparsed: text, contentType: req.headers["content-type"] };
        }
        const item: Collected = { path: req.url ?? "", body };
        this.received.push(item);
        const ready = this.waiters.filter((w) => w.test(item));
        this.waiters = this.waiters.filter((w) => !ready.includes(w));
        for (const w of ready) w.resolve(item);
        res.writeHead(200, { "Content-Type": "text/plain" });
        res.end("ok");
      });
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(0, "127.0.0.1", () => resolve());
    });
  }

  url(p: string): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}${p}`;
  }

  /** The first item (already received or future) that matches, within `timeoutMs`. */
  waitFor(test: (c: Collected) => boolean, what: string, timeoutMs: number, onTimeout: () => string = () => ""): Promise<Collected> {
    const found = this.received.find(test);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const waiter = {
        test,
        resolve: (c: Collected) => {
          clearTimeout(timer);
          resolve(c);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`collector: no ${what} within ${timeoutMs} ms; received ${JSON.stringify(this.received)}\n${onTimeout()}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** change (msg → {topic, payload}) → http request POST to the collector. */
function sinkNodes(id: string, z: string, url: string, x: number, y: number): FlowNode[] {
  return [
    {
      id: `${id}-wrap`,
      type: "change",
      z,
      name: `wrap for ${id}`,
      rules: [{ t: "set", p: "payload", pt: "msg", to: '{"topic": topic, "payload": payload}', tot: "jsonata" }],
      action: "",
      property: "",
      from: "",
      to: "",
      reg: false,
      x,
      y,
      wires: [[`${id}-post`]],
    },
    {
      id: `${id}-post`,
      type: "http request",
      z,
      name: `POST ${id}`,
      method: "POST",
      ret: "txt",
      paytoqs: "ignore",
      url,
      tls: "",
      persist: false,
      proxy: "",
      insecureHTTPParser: false,
      authType: "",
      senderr: false,
      headers: [],
      x: x + 200,
      y,
      wires: [[]],
    },
  ];
}

describe("packed package in a real Node-RED process", function () {
  this.timeout(180_000);

  const apiKey = `e2e-secret-${randomUUID()}`;
  let pbx: FakePbx;
  let collector: Collector;
  let nr: NodeRedProcess;
  let tarball: string;
  let deployed = false;

  /** Node-RED's output for failure messages. */
  const nrLog = (): string => `--- Node-RED output ---\n${nr?.log() ?? "(not started)"}`;

  before(async function () {
    pbx = new FakePbx({ apiKey });
    await pbx.start();
    collector = new Collector();
    await collector.start();
    tarball = await packPackage();
    nr = await startNodeRed({ nodeRedEntry: nodeRedEntry(), nodeBinary: nodeBinary() });
  });

  after(async () => {
    // Each step runs even when an earlier one failed, so no process or server is left behind.
    const results = await Promise.allSettled([stopAllNodeRed(), collector?.stop()]);
    await pbx?.stop();
    for (const r of results) if (r.status === "rejected") throw r.reason;
  });

  it("registers every declared node type from the installed module, enabled and without error", async () => {
    const sets = await nr.getNodes();
    const ours = sets.filter((s) => s.module === MODULE);
    const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
    assert.deepEqual(ours.flatMap((s) => s.types).sort(), [...TYPES].sort(), JSON.stringify(sets));
    for (const set of ours) {
      assert.equal(set.enabled, true, `${set.id} enabled`);
      assert.equal(set.err, undefined, `${set.id} loaded without error: ${JSON.stringify(set.err)}`);
      assert.equal(set.version, pkg.version, `${set.id} is the packed version`);
    }
    assert.doesNotMatch(nr.log(), /\[node-red-contrib-noojee\/[^\]]*\].*(Error|error)/, "no load error in the log");
  });

  it("finds noojee.svg beside the compiled nodes and serves the packaged file", async () => {
    const icons = await nr.getIcons();
    const ours = icons[MODULE];
    assert.ok(Array.isArray(ours), `GET /icons lists ${MODULE}: ${JSON.stringify(icons)}`);
    assert.ok(ours.includes("noojee.svg"), `icons of ${MODULE}: ${JSON.stringify(ours)}`);

    // A missing icon falls back to Node-RED's default arrow with HTTP 200: compare the bytes.
    const res = await nr.request("GET", `/icons/${MODULE}/noojee.svg`);
    assert.equal(res.status, 200);
    assert.equal(res.text, fs.readFileSync(path.join(REPO_ROOT, "icons", "noojee.svg"), "utf8"));
  });

  it("packs the runtime files only", async () => {
    const entries = await listTarball(tarball);
    const has = (entry: string): boolean => entries.includes(`package/${entry}`);
    const pkg = JSON.parse(await readFromTarball(tarball, "package/package.json")) as {
      "node-red": { nodes: Record<string, string> };
    };
    for (const [type, js] of Object.entries(pkg["node-red"].nodes)) {
      assert.ok(has(js), `${type}: ${js} is packed`);
      assert.ok(has(js.replace(/\.js$/, ".html")), `${type}: its editor file is packed`);
      assert.ok(has(`dist/nodes/locales/en-US/${type}.json`), `${type}: its message catalogue is packed`);
      assert.ok(has(`dist/nodes/locales/en-US/${type}.html`), `${type}: its help is packed`);
    }
    assert.ok(has("dist/nodes/icons/noojee.svg"), "the icon is packed beside the nodes");
    assert.ok(entries.some((e) => /^package\/dist\/nodes\/lib\/[^/]+\.js$/.test(e)), "the node library is packed");
    const examples = fs.readdirSync(path.join(REPO_ROOT, "examples")).filter((f) => f.endsWith(".json"));
    assert.ok(examples.length > 0, "the repo has example flows");
    for (const example of examples) assert.ok(has(`examples/${example}`), `examples/${example} is packed`);
    for (const file of ["README.md", "LICENSE", "package.json"]) assert.ok(has(file), `${file} is packed`);

    const unwanted = entries.filter(
      (e) =>
        e.startsWith("package/test/") ||
        e.startsWith("package/dist/test/") ||
        e.startsWith("package/nodes/") ||
        e.includes("/node_modules/") ||
        /\.(ts|mts|cts)$/.test(e) ||
        /\.tgz$/.test(e),
    );
    assert.deepEqual(unwanted, [], "no tests, TypeScript sources, node_modules or tarballs in the package");
  });

  it("follows a call on 410 and answers it through a deployed flow", async () => {
    const tab = "e2e-tab";
    const flows: FlowNode[] = [
      { id: tab, type: "tab", label: "e2e", disabled: false, info: "" },
      { id: "cfg", type: "noojee-config", name: "fake pbx", host: pbx.url, verifyTls: true },
      {
        id: "sub",
        type: "noojee-subscribe",
        z: tab,
        name: "",
        server: "cfg",
        extensions: "410",
        timeout: 30,
        x: 120,
        y: 80,
        wires: [["events-wrap", "ringing"]],
      },
      ...sinkNodes("events", tab, collector.url("/events"), 360, 80),
      {
        id: "ringing",
        type: "switch",
        z: tab,
        name: "ringing",
        property: "payload.status",
        propertyType: "msg",
        rules: [{ t: "eq", v: "Ringing", vt: "str" }],
        checkall: "true",
        repair: false,
        outputs: 1,
        x: 320,
        y: 160,
        wires: [["ans"]],
      },
      {
        id: "ans",
        type: "noojee-answer",
        z: tab,
        name: "",
        server: "cfg",
        extension: "",
        answerString: "Call-info:answer-after=0",
        x: 500,
        y: 160,
        wires: [["answers-wrap"]],
      },
      ...sinkNodes("answers", tab, collector.url("/answers"), 680, 160),
      // Errors of any node reach the collector too, so a failure shows up in the assertion message.
      { id: "catch", type: "catch", z: tab, name: "", scope: null, uncaught: false, x: 120, y: 240, wires: [["errors-wrap"]] },
      ...sinkNodes("errors", tab, collector.url("/errors"), 360, 240),
    ];
    await nr.deploy(flows, { cfg: { apiKey } });
    deployed = true;
    const context = (): string => `errors: ${JSON.stringify(collector.received.filter((c) => c.path === "/errors"))}\n${nrLog()}`;

    // The first read asks for the current state; start the call once the long poll is held so it arrives as a change.
    await pbx.waitForRequest(
      (r) => r.path === `${API_BASE}subscribe` && r.query.lastSequenceNumber !== undefined && r.query.lastSequenceNumber !== "0",
      30_000,
    );
    assert.equal(pbx.openPolls(), 1, "one long poll held for the flow");
    const held = pbx.subscribeRequests().at(-1);
    assert.equal(held?.query.exten, "410");

    const id = pbx.startCall("410", { callerId: "0412345678" });
    const ringingEvent = pbx.events.find((e) => e.entry.CallData.uniqueCallId === id && e.entry.CallData.status === "Ringing");
    assert.ok(ringingEvent);

    const isEvent = (status: string) => (c: Collected) =>
      c.path === "/events" && c.body.payload?.uniqueCallId === id && c.body.payload?.status === status;
    const ringing = await collector.waitFor(isEvent("Ringing"), "Ringing msg", 15_000, context);
    assert.equal(ringing.body.topic, "410");
    assert.deepEqual(ringing.body.payload, {
      ...ringingEvent.entry.CallData,
      extension: "410",
      callId: ringingEvent.entry.CallID,
      seq: ringingEvent.seq,
      eventId: eventIdOf("410", ringingEvent.entry.CallData),
    });

    const answer = await collector.waitFor(
      (c) => c.path === "/answers" && c.body.payload?.Code !== undefined,
      "answer msg",
      15_000,
      context,
    );
    assert.equal(answer.body.topic, "410", "the answer node passes the msg on");
    assert.equal(answer.body.payload?.Code, 0, `answer envelope: ${JSON.stringify(answer.body.payload)}`);
    assert.deepEqual(pbx.answered, [{ uniqueId: id, exten: "410", answerString: "Call-info:answer-after=0" }]);

    const connected = await collector.waitFor(isEvent("Connected"), "Connected msg", 15_000, context);
    assert.equal(connected.body.topic, "410");
    assert.equal(connected.body.payload?.extension, "410");
    assert.equal(connected.body.payload?.canAnswer, false);
    assert.match(String(connected.body.payload?.callStartTime), /^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d$/);
    const events = collector.received.filter((c) => c.path === "/events").map((c) => c.body.payload?.status);
    assert.deepEqual(events, ["Ringing", "Connected"], "each change once, in order");
    assert.deepEqual(collector.received.filter((c) => c.path === "/errors"), [], "no node reported an error");
  });

  it("keeps the API key out of the log, GET /flows and flows.json (only flows_cred.json, encrypted)", async () => {
    assert.ok(deployed, "needs the flow deployed by the previous test");
    const log = nr.log();
    assert.match(log, /Started flows/, "the output was captured");
    assert.ok(!log.includes(apiKey), "the API key is not in Node-RED's output");

    const { text, flows } = await nr.getFlows();
    assert.ok(flows.some((n) => n.type === "noojee-config" && n.host === pbx.url), "GET /flows has the config node");
    assert.ok(!text.includes(apiKey), "the API key is not in GET /flows");

    const creds = await nr.request("GET", "/credentials/noojee-config/cfg", { headers: { Accept: "application/json" } });
    assert.equal(creds.status, 200);
    // The Redis URL is a text credential (shown in the dialog, empty here); of the secrets only whether one is set.
    assert.deepEqual(JSON.parse(creds.text), { has_apiKey: true, redisUrl: "", has_redisPassword: false }, "the editor learns only that a key is set");

    const flowsFile = fs.readFileSync(path.join(nr.userDir, "flows.json"), "utf8");
    assert.ok(flowsFile.includes(pbx.url), "flows.json is the deployed flow");
    assert.ok(!flowsFile.includes(apiKey), "the API key is not in flows.json");
    const credFile = fs.readFileSync(path.join(nr.userDir, "flows_cred.json"), "utf8");
    assert.ok(!credFile.includes(apiKey), "flows_cred.json does not hold the key in clear");
    const parsed = JSON.parse(credFile) as Record<string, unknown>;
    assert.deepEqual(Object.keys(parsed), ["$"], "flows_cred.json is encrypted");

    // The key did reach the PBX: every request carried it.
    assert.ok(pbx.requests.length > 0 && pbx.requests.every((r) => r.query.apiKey === apiKey));
  });

  it("stops on SIGINT and leaves no open poll on the PBX", async () => {
    assert.ok(deployed, "needs the flow deployed by the earlier test");
    await pbx.waitForPolls(1, 10_000);
    const result = await nr.stop();
    assert.equal(result.forced, false, `Node-RED exited on SIGINT without SIGKILL (${JSON.stringify(result)})\n${nrLog()}`);
    assert.equal(nr.running, false);
    await pbx.waitForPolls(0, 10_000);
    assert.match(nr.log(), /Stopped flows/, "Node-RED closed its flows");
  });
});
