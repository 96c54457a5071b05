/**
 * Replicas with a Redis URL that names a port where another kind of server answers (a web server: Node-RED's own
 * 1880, say), inside Node-RED with the catalogues' texts: the status and the log say so, instead of ioredis's
 * "Unknown RESP type 72 "H". Please report this.", and nothing polls.
 */
import assert from "node:assert/strict";
import type { NodeStatus } from "node-red";
import { NOT_REDIS_DETAIL } from "../../nodes/lib/replicas/redis-errors";
import type { FakePbx } from "../fake-pbx";
import { translatedNodes } from "./catalogue";
import { configFlowNode, helper, Logged, startFakePbx, Statuses, subscribeFlowNodes, unloadAndStop, API_KEY } from "./support";

describe("Replicas: a Redis URL naming a port where a web server answers", function () {
  this.timeout(20_000);
  let pbx: FakePbx | undefined;

  afterEach(async () => {
    await unloadAndStop(pbx);
    pbx = undefined;
  });

  it("the status says not a Redis server, the log says to check the port, nothing polls", async () => {
    pbx = await startFakePbx();
    // The fake PBX is an HTTP server: it answers Redis's commands with "HTTP/1.1 400 Bad Request".
    const url = `redis://127.0.0.1:${new URL(pbx.url).port}`;
    const flow = [configFlowNode(pbx.url, { replicas: true }), ...subscribeFlowNodes("a", "410")];
    await helper.load(translatedNodes, flow, { cfg: { apiKey: API_KEY, redisUrl: url } });
    const shown = await new Statuses(helper.getNode("a")).waitFor((s: NodeStatus) => s.fill === "red", 8000);
    assert.equal(shown.text, "coordination lost: not a Redis server");
    const warnings = new Logged(helper.getNode("cfg"), "warn").all.map(String);
    const said = warnings.filter((w) => w.startsWith(`Cannot connect to Redis at ${url}: `));
    assert.equal(said.length, 1, JSON.stringify(warnings));
    assert.ok(said[0]?.includes(NOT_REDIS_DETAIL), said[0]);
    assert.ok(!warnings.some((w) => /RESP|report this/i.test(w)), JSON.stringify(warnings));
    assert.equal(pbx.subscribeRequests().length, 0, "no poll without the lease");
  });
});
